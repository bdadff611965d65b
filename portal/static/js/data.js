// Reading through the API from components: loading, data, errors, reload.
import { request } from './api.js';
import { onCredentialChange } from './credentials.js';
import { useCallback, useEffect, useRef, useState } from './lib.js';

/**
 * Runs `text` with `variables` (re-run when they change, when `reload()` is called, or when
 * the credential changes). While reloading, the previous data stays (no flash).
 * Answers {loading, data, errors, error, reload}; `errors` come with data (partial answers).
 */
export function useQuery(text, variables = {}, { skip = false } = {}) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState({ loading: !skip, data: null, errors: [], error: null });
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((value) => value + 1), []);
  useEffect(() => onCredentialChange(reload), [reload]);
  useEffect(() => {
    if (skip) return undefined;
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    request(text, JSON.parse(key), { signal: controller.signal }).then(
      ({ data, errors }) => setState({ loading: false, data, errors, error: null }),
      (error) => {
        if (error.name === 'AbortError') return;
        setState((previous) => ({ ...previous, loading: false, error }));
      },
    );
    return () => controller.abort();
  }, [text, key, version, skip]);
  return { ...state, reload };
}

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced(value, ms = 250) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Calls `callback` every `ms` while `active`. */
export function useInterval(callback, ms, active = true) {
  const saved = useRef(callback);
  saved.current = callback;
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => saved.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}
