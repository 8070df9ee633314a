// The execution page (`[data-page="execution"]`): event rows arrive live (in
// seq order, filtered like the page), the badge, the timeline, the progress
// bar and the Task filter menu follow, and the summary is fetched again when
// the status changes. Whatever a fresh load of the page would show, the live
// page converges to.

import { insertBySeq, renderEventRow } from '../lib/events';
import { parseTime } from '../lib/format';
import { updateStatusBadges } from '../lib/live-dom';
import { readProps } from '../lib/props';
import { showProgress, type ProgressMap } from '../lib/progress';
import { TaskTimeline, type TimelineBar } from '../lib/tasks';
import { TERMINAL_STATUSES, type Execution, type FluxEvent } from '../lib/types';
import { LiveStream } from '../live/stream';
import { exposeStream, fetchHtml, setLiveStatus, throttle, wireAutosubmit } from './common';
import { MAX_BARS, addTaskOption, ganttRows, progressOf } from './timeline';

/** `page_props` of executions/views/executions.py execution_detail. */
export interface ExecutionPageProps {
  executionId: string;
  after: number;
  errorsOnly: boolean;
  task: string;
  errorTypes: string[];
  tasks: TimelineBar[];
  timelineStart: number | null;
  finishedAt: number | null;
  status: string;
  /** The log shows the latest this many rows (LOG_ROWS); absent: no limit. */
  logRows?: number;
  /** The last progress() value of each task (by task id). */
  progress?: ProgressMap;
}

export function executionPage(root: HTMLElement): void {
  const p = readProps<ExecutionPageProps>(root, 'execution');
  const tbody = root.querySelector<HTMLElement>('[data-live-events]');
  const taskMenu = root.querySelector<HTMLSelectElement>('select[name="task"]');
  const errorTypes = new Set(p.errorTypes);
  const timeline = new TaskTimeline(p.tasks, p.timelineStart);
  let status = p.status;
  let finishedAt = p.finishedAt;
  wireAutosubmit(root);

  const shows = (event: FluxEvent) => (!p.errorsOnly || errorTypes.has(event.type)) && (!p.task || event.source_id === p.task);

  function addRow(event: FluxEvent): void {
    if (!tbody || !shows(event)) return;
    const row = renderEventRow(document, event, errorTypes);
    row.classList.add('live-event--new');
    if (!insertBySeq(tbody, row)) return;
    row.addEventListener('animationend', () => row.classList.remove('live-event--new'), { once: true });
    if (p.logRows) {
      while (tbody.children.length > p.logRows) tbody.firstElementChild?.remove();
    }
  }

  const renderTimeline = throttle(() => {
    const progress = progressOf(timeline, TERMINAL_STATUSES.has(status));
    const bar = root.querySelector<HTMLElement>('[data-testid="progress"]');
    bar?.setAttribute('aria-valuenow', String(progress.percent));
    bar?.querySelector<HTMLElement>('.fill')?.style.setProperty('width', `${progress.percent}%`);
    const text = root.querySelector('[data-progress-text]');
    if (text) text.textContent = progress.text;
    const gantt = root.querySelector('[data-gantt]');
    if (!gantt || !progress.total) return;
    let end = finishedAt ?? Date.now();
    for (const task of timeline.tasks.values()) end = Math.max(end, task.end ?? task.start);
    const rows: Node[] = ganttRows(document, timeline, end);
    const hidden = progress.total - Math.min(progress.total, MAX_BARS);
    if (hidden) {
      const note = document.createElement('p');
      note.className = 'muted small';
      note.textContent = `${hidden} more tasks not drawn.`;
      rows.push(note);
    }
    gantt.replaceChildren(...rows);
  }, 100);

  const refreshSummary = throttle(async () => {
    try {
      const fresh = (await fetchHtml(window.location.href)).getElementById('summary');
      const old = document.getElementById('summary');
      if (fresh && old && !old.contains(document.activeElement)) old.replaceWith(document.importNode(fresh, true));
    } catch {
      // The next change tries again.
    }
  }, 250);

  const stream = LiveStream.forExecution(String(p.executionId), {
    after: p.after,
    onEvent(event) {
      addRow(event);
      const task = timeline.apply(event);
      if (task && event.type === 'TASK_STARTED' && taskMenu) addTaskOption(taskMenu, task.id, task.name);
      if (task) renderTimeline();
      if (event.type.startsWith('WORKFLOW_')) refreshSummary();
    },
    onExecution(execution: Execution) {
      const changed = execution.status !== status;
      status = execution.status;
      if (execution.finished_at) finishedAt = parseTime(execution.finished_at);
      updateStatusBadges(document, execution);
      if (execution.progress) showProgress(root, execution.progress as ProgressMap);
      if (changed) {
        refreshSummary();
        renderTimeline();
      }
    },
    onStatus: setLiveStatus,
  }).start();
  exposeStream(stream);
}
