// Dates, durations and names as people read them.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function when(iso) {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

export function ago(iso, now = Date.now()) {
  if (!iso) return '—';
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** A length of time in seconds, as `1 h 5 min`, `42 s`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** How long a deployment ran: started (or created) to finished, or to now when unfinished. */
export function deploymentDuration(deployment, now = Date.now()) {
  const start = deployment.startedAt ?? deployment.createdAt;
  if (!start) return '—';
  const end = deployment.finishedAt ? new Date(deployment.finishedAt).getTime() : now;
  return duration((end - new Date(start).getTime()) / 1000);
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? '—' : `${Math.round(ratio * 100)} %`;
}

export function lower(word) {
  return word ? word.toLowerCase().replace(/_/g, ' ') : '';
}
