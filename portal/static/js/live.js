// Live updates of deployments: the `deploymentUpdated` subscription over Server-Sent Events;
// when it cannot be had (or drops), polling instead, and a new try at the stream later.
import { subscribe } from './api.js';
import { html, useEffect, useRef, useState } from './lib.js';

const SUBSCRIPTION = `subscription Live($service: String, $environment: String) {
  deploymentUpdated(service: $service, environment: $environment) {
    id number version state createdAt startedAt finishedAt
    service { slug name } environment { slug name }
  }
}`;
const POLL_MS = 4000;
const RETRY_MS = 15000;

/**
 * Calls `onUpdate(deployment)` for each change of the deployments of `service` and/or
 * `environment` (all of them when neither), or `onUpdate(null)` every few seconds while
 * polling. Answers the mode: 'connecting', 'live' or 'polling'.
 */
export function useLiveDeployments({ service = null, environment = null } = {}, onUpdate) {
  const [mode, setMode] = useState('connecting');
  const callback = useRef(onUpdate);
  callback.current = onUpdate;
  useEffect(() => {
    let stop = () => {};
    let timer = null;
    let poller = null;
    let ended = false;
    const poll = () => {
      if (poller) return;
      setMode('polling');
      poller = setInterval(() => callback.current(null), POLL_MS);
    };
    const connect = () => {
      stop = subscribe(SUBSCRIPTION, { service, environment }, {
        onOpen: () => {
          clearInterval(poller);
          poller = null;
          setMode('live');
          callback.current(null); // catch up with what changed while not listening
        },
        onNext: (result) => {
          if (result.data?.deploymentUpdated) callback.current(result.data.deploymentUpdated);
        },
        onEnd: () => {
          if (ended) return;
          poll();
          timer = setTimeout(connect, RETRY_MS);
        },
      });
    };
    connect();
    return () => {
      ended = true;
      stop();
      clearTimeout(timer);
      clearInterval(poller);
    };
  }, [service, environment]);
  return mode;
}

/** Says whether the page updates live or by polling. */
export function LiveIndicator({ mode }) {
  const text = { connecting: 'connecting…', live: 'live', polling: 'refreshing every few seconds' }[mode];
  return html`<span class=${`live live-${mode}`} role="status">
    <span class="live-dot" aria-hidden="true"></span>Updates: ${text}</span>`;
}
