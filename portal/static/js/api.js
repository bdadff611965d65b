// Every read and write of the portal: POST /graphql with the viewer's credential. Nothing
// here decides what is allowed; the API does, and its answers are shown as they are.
import { credentialHeaders } from './credentials.js';

const ENDPOINT = '/graphql';
const ACCEPT = 'application/graphql-response+json, application/json;q=0.9';
const statusListeners = new Set();
let status = { down: false, message: '' };

/** A request that failed as a whole. `kind`: down, unauthenticated, refused, graphql. */
export class ApiError extends Error {
  constructor(message, { kind = 'graphql', status = 0, errors = [] } = {}) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.errors = errors;
  }
}

/** Calls `listener` with {down, message} now and whenever the API goes down or comes back. */
export function onApiStatus(listener) {
  statusListeners.add(listener);
  listener(status);
  return () => statusListeners.delete(listener);
}

function setStatus(down, message = '') {
  if (status.down === down && status.message === message) return;
  status = { down, message };
  statusListeners.forEach((listener) => listener(status));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(body, { signal, accept = ACCEPT } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: accept, ...credentialHeaders() },
        body: JSON.stringify(body),
        credentials: 'same-origin',
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      setStatus(true, 'The API cannot be reached: check your connection or the server.');
      throw new ApiError('The API cannot be reached.', { kind: 'down' });
    }
    if (response.status === 429 && attempt < 3) {
      const wait = Number(response.headers.get('Retry-After')) || 1;
      await sleep(Math.min(wait, 5) * 1000);
      continue;
    }
    if (response.status >= 502 && response.status <= 504) {
      setStatus(true, `The API is not answering (HTTP ${response.status}).`);
      throw new ApiError(`The API is not answering (HTTP ${response.status}).`, {
        kind: 'down', status: response.status,
      });
    }
    return response;
  }
}

/**
 * Runs one operation. Answers {data, errors}: `errors` are the GraphQL errors that came with
 * data (a provider that failed for one field, say). Throws ApiError when there is no data.
 */
export async function request(query, variables = {}, options = {}) {
  const response = await post({ query, variables }, options);
  let body;
  try {
    body = await response.json();
  } catch {
    setStatus(true, `The API answered HTTP ${response.status} with something that is not JSON.`);
    throw new ApiError('The API gave an unreadable answer.', { kind: 'down', status: response.status });
  }
  setStatus(false);
  const errors = body.errors ?? [];
  if (body.data == null) {
    const code = errors[0]?.extensions?.code;
    const kind = response.status === 401 || code === 'UNAUTHENTICATED'
      ? 'unauthenticated'
      : (code === 'FORBIDDEN' || code === 'RATE_LIMITED' ? 'refused' : 'graphql');
    const message = errors.map((error) => error.message).join(' ') || `HTTP ${response.status}`;
    throw new ApiError(message, { kind, status: response.status, errors });
  }
  return { data: body.data, errors };
}

/** The data of a query; any error without data throws. */
export async function query(text, variables = {}, options = {}) {
  return (await request(text, variables, options)).data;
}

/**
 * Runs a mutation whose single root field answers a payload with `errors: [UserError]`;
 * answers that payload. The caller shows `payload.errors` next to what caused them.
 */
export async function mutate(text, variables = {}) {
  const { data } = await request(text, variables);
  const [payload] = Object.values(data);
  return payload;
}

/**
 * A subscription over Server-Sent Events (GraphQL over SSE, distinct connections): POST
 * /graphql accepting text/event-stream. `onNext(result)` gets each result; `onEnd(error)`
 * when it ends (error null when the server completed it). Answers a function that stops it.
 */
export function subscribe(text, variables, { onNext, onOpen, onEnd }) {
  const controller = new AbortController();
  const run = async () => {
    const response = await post(
      { query: text, variables }, { signal: controller.signal, accept: 'text/event-stream' },
    );
    const type = response.headers.get('Content-Type') ?? '';
    if (!response.ok || !type.startsWith('text/event-stream')) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json()).errors.map((error) => error.message).join(' ');
      } catch { /* the status says enough */ }
      throw new ApiError(message, { kind: 'graphql', status: response.status });
    }
    onOpen?.();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (event.name === 'complete') return;
        if (event.name === 'next' && event.data) onNext(JSON.parse(event.data));
      }
    }
  };
  run().then(
    () => onEnd?.(null),
    (error) => { if (!controller.signal.aborted) onEnd?.(error); },
  );
  return () => controller.abort();
}

function parseEvent(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  return { name, data: data.join('\n') };
}

/** The GraphQL errors at `path` (a response path such as ['service', 'environments', 0, 'live']). */
export function errorsAt(errors, path) {
  const wanted = path.join('.');
  return (errors ?? []).filter((error) => (error.path ?? []).join('.') === wanted);
}
