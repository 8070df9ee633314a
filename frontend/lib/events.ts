// One event-log row, as the server renders it for a fresh load
// (executions/views/render.py event_rows):
//   <tr data-seq data-type data-source class="live-event[ live-event--error]">
//     <td>seq</td><td><time datetime=ISO>HH:MM:SS.mmm</time></td><td>type</td>
//     <td>name</td><td><code class="value">summary</code></td></tr>

import { clockTime, summarize } from './format';
import type { FluxEvent } from './types';

/** The event types the log marks as errors (the server sends its list as `errorTypes`). */
export const ERROR_TYPES: ReadonlySet<string> = new Set([
  'TASK_FAILED',
  'TASK_RETRY_FAILED',
  'TASK_FALLBACK_FAILED',
  'TASK_ROLLBACK_FAILED',
  'WORKFLOW_FAILED',
  'WORKFLOW_INTERRUPTED',
]);

export function isErrorEvent(event: Pick<FluxEvent, 'type'>, errorTypes: ReadonlySet<string> = ERROR_TYPES): boolean {
  return errorTypes.has(event.type);
}

/** A `<tr>` for one event, in `doc`. */
export function renderEventRow(doc: Document, event: FluxEvent, errorTypes: ReadonlySet<string> = ERROR_TYPES): HTMLTableRowElement {
  const row = doc.createElement('tr');
  row.dataset.seq = String(event.seq);
  row.dataset.type = event.type;
  row.dataset.source = event.source_id;
  row.className = isErrorEvent(event, errorTypes) ? 'live-event live-event--error' : 'live-event';
  const cell = (...children: (Node | string)[]) => {
    const td = doc.createElement('td');
    td.append(...children);
    row.append(td);
  };
  const time = doc.createElement('time');
  time.dateTime = event.time;
  time.textContent = clockTime(event.time);
  const value = doc.createElement('code');
  value.className = 'value';
  value.textContent = summarize(event.value);
  cell(String(event.seq));
  cell(time);
  cell(event.type);
  cell(event.name);
  cell(value);
  return row;
}

/**
 * Puts `row` (with `data-seq`) into `container` in seq order; false when a row
 * with that seq is already there.
 */
export function insertBySeq(container: Element, row: HTMLElement): boolean {
  const seq = Number(row.dataset.seq);
  if (container.querySelector(`:scope > [data-seq="${seq}"]`)) return false;
  const last = container.lastElementChild as HTMLElement | null;
  if (!last || Number(last.dataset.seq) < seq) {
    container.append(row);
    return true;
  }
  const after = [...container.children].find((r) => Number((r as HTMLElement).dataset.seq) > seq) ?? null;
  container.insertBefore(row, after);
  return true;
}
