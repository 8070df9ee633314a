// The execution page's task timeline (Gantt), progress bar and Task filter
// menu, rendered from the task-state fold as the server renders them for a
// fresh load (executions/views/render.py gantt_rows and task_options,
// templates/executions/execution_detail.html).

import { formatDuration } from '../lib/format';
import type { TaskTimeline, TimelineTask } from '../lib/tasks';

/** Tasks drawn at most (executions/views/timeline.py MAX_BARS). */
export const MAX_BARS = 400;
/** Tasks offered in the Task menu at most (executions/views/render.py MAX_TASK_OPTIONS). */
export const MAX_TASK_OPTIONS = 300;

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number, digits = 0): number {
  const scale = 10 ** digits;
  const y = x * scale;
  const floor = Math.floor(y);
  const diff = y - floor;
  const rounded = Math.abs(diff - 0.5) < 1e-9 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(y);
  return rounded / scale;
}

export interface Progress {
  done: number;
  total: number;
  percent: number;
  text: string;
}

export function progressOf(timeline: TaskTimeline, finished: boolean): Progress {
  const total = timeline.tasks.size;
  const done = timeline.done;
  const percent = finished ? 100 : total ? roundHalfEven((100 * done) / total) : 0;
  return { done, total, percent, text: `${done} of ${total} task${total === 1 ? '' : 's'} done` };
}

/** One `.gantt-row` per task (at most MAX_BARS), `end` being the timeline's right edge (epoch ms). */
export function ganttRows(doc: Document, timeline: TaskTimeline, end: number): HTMLElement[] {
  const first = timeline.start ?? end;
  const span = end - first;
  return timeline
    .ordered()
    .slice(0, MAX_BARS)
    .map((task) => ganttRow(doc, task, first, span, end));
}

function ganttRow(doc: Document, task: TimelineTask, first: number, span: number, end: number): HTMLElement {
  const row = doc.createElement('div');
  row.className = 'gantt-row';
  row.dataset.task = task.id;
  row.dataset.state = task.state;
  const name = doc.createElement('span');
  name.className = 'gantt-name';
  name.style.paddingLeft = `${task.depth}rem`;
  name.title = task.id;
  name.textContent = task.name;
  if (task.retries) {
    const retries = doc.createElement('span');
    retries.className = 'muted small';
    retries.textContent = `↻${task.retries}`;
    name.append(' ', retries);
  }
  const track = doc.createElement('span');
  track.className = 'gantt-track';
  const bar = doc.createElement('span');
  bar.className = 'gantt-bar';
  let left = 0;
  let width = 100;
  if (span > 0) {
    left = roundHalfEven((100 * (task.start - first)) / span, 3);
    width = roundHalfEven(Math.max((100 * ((task.end ?? end) - task.start)) / span, 0.4), 3);
  }
  bar.style.left = `${left}%`;
  bar.style.width = `${width}%`;
  track.append(bar);
  const time = doc.createElement('span');
  time.className = 'gantt-time muted small';
  time.textContent = task.end !== null ? formatDuration(task.end - task.start) : '';
  row.append(name, track, time);
  return row;
}

/** "fetch (3f2a9c…)": a task's label in the Task menu. */
export function taskOptionLabel(id: string, name: string): string {
  const short = id.length <= 14 ? id : id.slice(0, 13) + '…';
  return `${name} (${short})`;
}

function optionName(option: HTMLOptionElement): string {
  if (option.dataset.name !== undefined) return option.dataset.name;
  const text = option.textContent ?? '';
  const cut = text.lastIndexOf(' (');
  return cut >= 0 ? text.slice(0, cut) : text;
}

/**
 * Offers a task that started in the Task menu, where a fresh load would put
 * it: ordered by name, tasks of one name in the order they started, at most
 * MAX_TASK_OPTIONS. False when it was there already or falls beyond the cap.
 */
export function addTaskOption(select: HTMLSelectElement, id: string, name: string): boolean {
  const tasks = [...select.options].filter((o) => o.value !== '');
  if (tasks.some((o) => o.value === id)) return false;
  const before = tasks.find((o) => optionName(o) > name) ?? null;
  if (!before && tasks.length >= MAX_TASK_OPTIONS) return false;
  const chosen = select.value;
  const option = select.ownerDocument.createElement('option');
  option.value = id;
  option.dataset.name = name;
  option.textContent = taskOptionLabel(id, name);
  select.insertBefore(option, before);
  const over = tasks.length + 1 - MAX_TASK_OPTIONS;
  if (over > 0) {
    const offered = [...select.options].filter((o) => o.value !== '');
    for (const extra of offered.slice(MAX_TASK_OPTIONS)) if (extra.value !== chosen) extra.remove();
  }
  select.value = chosen;
  return true;
}
