// Sortable column headers and cursor paging.
import { html } from '../lib.js';

/** A column header that sorts by `field`; `sort` is {field, direction}. */
export function SortHeader({ label, field, sort, onSort }) {
  const active = sort.field === field;
  const direction = active ? sort.direction : null;
  const next = active && direction === 'ASC' ? 'DESC' : 'ASC';
  const ariaSort = !active ? 'none' : (direction === 'ASC' ? 'ascending' : 'descending');
  return html`<th scope="col" aria-sort=${ariaSort}>
    <button type="button" class="sort" onClick=${() => onSort({ field, direction: next })}>
      ${label}<span class="sort-mark" aria-hidden="true">${!active ? '↕' : (direction === 'ASC' ? '▲' : '▼')}</span>
    </button>
  </th>`;
}

/** Previous/next over a connection's pageInfo, with how many there are in all. */
export function Pager({ pageInfo, totalCount, shown, onPrevious, onNext, label = 'items' }) {
  if (!pageInfo) return null;
  return html`<nav class="pager" aria-label=${`Pages of ${label}`}>
    <button type="button" onClick=${onPrevious} disabled=${!pageInfo.hasPreviousPage}>← Previous</button>
    <span class="pager-count">${shown} shown of ${totalCount}</span>
    <button type="button" onClick=${onNext} disabled=${!pageInfo.hasNextPage}>Next →</button>
  </nav>`;
}
