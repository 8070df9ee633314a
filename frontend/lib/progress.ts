// Task progress (`progress()` in a task): the last value of each task, drawn as a bar
// when it has numeric `processed` and `total`, else as its JSON. The same rows the
// server renders in templates/executions/execution_detail.html.

/** One task's entry in an execution's `progress` (by task id). */
export interface TaskProgressValue {
  name?: string;
  value: unknown;
  time?: string;
}

export type ProgressMap = Record<string, TaskProgressValue>;

/** processed/total as a whole percentage (0-100), or null when not both numbers. */
export function percentOf(value: unknown): number | null {
  if (!value || typeof value !== 'object') return null;
  const { processed, total } = value as { processed?: unknown; total?: unknown };
  if (typeof processed !== 'number' || typeof total !== 'number' || total <= 0) return null;
  return Math.max(0, Math.min(100, Math.round((100 * processed) / total)));
}

export function progressText(value: unknown): string {
  if (percentOf(value) !== null) {
    const v = value as { processed: number; total: number };
    return `${v.processed} of ${v.total}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The rows for `progress`, oldest update first (as the server orders them). */
export function renderProgressRows(doc: Document, progress: ProgressMap): HTMLElement[] {
  const entries = Object.entries(progress).sort(([, a], [, b]) => (a.time ?? '').localeCompare(b.time ?? ''));
  return entries.map(([taskId, item]) => {
    const li = doc.createElement('li');
    li.dataset.task = taskId;
    const name = doc.createElement('span');
    name.className = 'name';
    name.textContent = item.name ?? taskId;
    li.append(name);
    const percent = percentOf(item.value);
    if (percent !== null) {
      const bar = doc.createElement('span');
      bar.className = 'progress';
      bar.setAttribute('role', 'progressbar');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-valuenow', String(percent));
      const fill = doc.createElement('span');
      fill.className = 'fill';
      fill.style.width = `${percent}%`;
      bar.append(fill);
      li.append(bar);
    }
    const text = doc.createElement('span');
    text.className = 'muted small';
    text.dataset.progressValue = '';
    text.textContent = progressText(item.value);
    li.append(text);
    return li;
  });
}

/** Shows `progress` in the page's `[data-task-progress]` card (hidden while empty). */
export function showProgress(root: ParentNode, progress: ProgressMap | undefined | null): void {
  const card = root.querySelector<HTMLElement>('[data-task-progress]');
  const list = card?.querySelector<HTMLElement>('[data-task-progress-rows]');
  if (!card || !list || !progress) return;
  const doc = card.ownerDocument;
  list.replaceChildren(...renderProgressRows(doc, progress));
  card.hidden = Object.keys(progress).length === 0;
}
