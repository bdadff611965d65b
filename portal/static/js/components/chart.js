// Small bar charts in SVG, with their values also said in words for screen readers.
import { html } from '../lib.js';

const W = 320;
const H = 120;
const BOTTOM = 18;

/** `points`: [{label, value}] (value null: no data); `format` turns a value into text. */
export function BarChart({ title, points, format = String }) {
  const values = points.map((point) => point.value).filter((value) => value !== null);
  const max = Math.max(...values, 0) || 1;
  const step = W / Math.max(points.length, 1);
  const bar = Math.max(step * 0.7, 2);
  const summary = `${title}: ${points.map((point) => `${point.label} ${point.value === null ? 'no data' : format(point.value)}`).join(', ')}`;
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${summary}>
      <line x1="0" y1=${H - BOTTOM} x2=${W} y2=${H - BOTTOM} class="chart-axis" />
      ${points.map((point, index) => {
        const x = index * step + (step - bar) / 2;
        if (point.value === null) {
          return html`<text x=${x + bar / 2} y=${H - BOTTOM - 4} text-anchor="middle" class="chart-none">·</text>`;
        }
        const height = Math.max(((H - BOTTOM - 8) * point.value) / max, point.value ? 2 : 0);
        return html`<rect x=${x} y=${H - BOTTOM - height} width=${bar} height=${height} class="chart-bar">
          <title>${point.label}: ${format(point.value)}</title></rect>`;
      })}
      ${points.map((point, index) => (index % Math.ceil(points.length / 6) === 0
        ? html`<text x=${index * step + step / 2} y=${H - 4} text-anchor="middle" class="chart-tick">${point.label}</text>`
        : null))}
    </svg>
  </figure>`;
}
