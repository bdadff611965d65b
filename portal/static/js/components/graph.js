// A service's dependencies drawn as a small graph: the services that depend on it on the
// left, those it depends on on the right, each a link to its page.
import { html } from '../lib.js';
import { href } from '../router.js';

const WIDTH = 720;
const NODE_W = 200;
const NODE_H = 30;
const GAP = 12;
const PAD = 10;

function short(text, max = 24) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function Node({ service, x, y, current = false }) {
  const label = html`
    <rect x=${x} y=${y} width=${NODE_W} height=${NODE_H} rx="6"
      class=${current ? 'graph-node graph-current' : 'graph-node'} />
    <text x=${x + NODE_W / 2} y=${y + NODE_H / 2 + 5} text-anchor="middle"
      class="graph-label">${short(service.name)}</text>`;
  if (current) return html`<g>${label}</g>`;
  return html`<a href=${href('services', service.slug)} class="graph-link">
    <title>${service.name} (${service.slug})</title>${label}
  </a>`;
}

function column(services, x, height) {
  const total = services.length * NODE_H + Math.max(services.length - 1, 0) * GAP;
  const top = (height - total) / 2;
  return services.map((service, index) => ({ service, x, y: top + index * (NODE_H + GAP) }));
}

export function DependencyGraph({ service, dependsOn, dependents }) {
  if (!dependsOn.length && !dependents.length) {
    return html`<p class="empty">No dependency recorded, either way.</p>`;
  }
  const rows = Math.max(dependsOn.length, dependents.length, 1);
  const height = rows * NODE_H + (rows - 1) * GAP + 2 * PAD;
  const centre = { x: (WIDTH - NODE_W) / 2, y: (height - NODE_H) / 2 };
  const left = column(dependents, PAD, height);
  const right = column(dependsOn, WIDTH - NODE_W - PAD, height);
  const edge = (from, to) => {
    const x1 = from.x + NODE_W;
    const y1 = from.y + NODE_H / 2;
    const x2 = to.x;
    const y2 = to.y + NODE_H / 2;
    const bend = (x2 - x1) / 2;
    return html`<path class="graph-edge" marker-end="url(#arrow)"
      d=${`M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2 - 4},${y2}`} />`;
  };
  const description = `${service.name}: ${dependents.length} dependent service(s) on the left, `
    + `${dependsOn.length} dependency(ies) on the right.`;
  return html`<figure class="graph">
    <svg viewBox=${`0 0 ${WIDTH} ${height}`} role="group" aria-label=${description}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="8" markerHeight="8"
          orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="graph-arrow" /></marker>
      </defs>
      ${left.map((node) => edge(node, centre))}
      ${right.map((node) => edge(centre, node))}
      ${left.map((node) => html`<${Node} ...${node} />`)}
      <${Node} service=${service} x=${centre.x} y=${centre.y} current />
      ${right.map((node) => html`<${Node} ...${node} />`)}
    </svg>
    <figcaption>Left: services that depend on ${service.name}. Right: what it depends on.</figcaption>
  </figure>`;
}
