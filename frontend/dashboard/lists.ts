// The dashboard's other live pages:
//   [data-page="executions"]  badges follow, new matching runs appear on the
//                             first page, bulk selection
//   [data-page="overview"]    the body is rendered again after changes
//   [data-page="workflow"]    the Run form's JSON is checked as you type

import { updateStatusBadges } from '../lib/live-dom';
import { readProps } from '../lib/props';
import { TERMINAL_STATUSES, type Execution } from '../lib/types';
import { LiveStream } from '../live/stream';
import { exposeStream, fetchHtml, setLiveStatus, throttle } from './common';

/** `list_props` of executions/views/executions.py: the list's filter. */
interface ListProps {
  statuses: string[];
  workflow: string;
  id: string;
  /** Whether new runs may appear (the first page, newest first). */
  live: boolean;
}

export function listPage(table: HTMLElement): void {
  const p = readProps<ListProps>(table, 'list');
  const tbody = table.querySelector<HTMLElement>('[data-rows]');
  const form = table.closest('form');
  if (!tbody || !form) return;
  const counter = form.querySelector('[data-selected-count]');
  const boxes = () => [...tbody.querySelectorAll<HTMLInputElement>('input[name="ids"]')];
  const updateCount = () => {
    if (counter) counter.textContent = `${boxes().filter((b) => b.checked).length} selected`;
  };
  form.addEventListener('change', (event) => {
    const target = event.target as HTMLInputElement;
    if (target.matches('[data-select-all]')) boxes().forEach((box) => (box.checked = target.checked));
    updateCount();
  });
  form.addEventListener('submit', (event) => {
    const action = (event.submitter as HTMLButtonElement | null)?.value;
    const everything = form.querySelector<HTMLInputElement>('input[name="scope"][value="filter"]')?.checked;
    if (everything && !window.confirm(`${action === 'cancel' ? 'Cancel' : 'Re-run'} every run matching the filter?`)) event.preventDefault();
  });

  const matches = (execution: Execution) =>
    (!p.statuses.length || p.statuses.includes(execution.status)) &&
    (!p.workflow || p.workflow === execution.workflow) &&
    (!p.id || String(execution.id).startsWith(p.id));

  const newest = () => {
    const first = tbody.querySelector<HTMLElement>('tr[data-created]');
    return first ? Date.parse(first.dataset.created ?? '') : 0;
  };

  const refreshRows = throttle(async () => {
    const url = new URL(window.location.href);
    url.searchParams.set('fragment', 'rows');
    try {
      const doc = await fetchHtml(url.toString());
      const known = new Map([...tbody.querySelectorAll<HTMLElement>('tr[data-row-id]')].map((r) => [r.dataset.rowId, r]));
      const added: HTMLElement[] = [];
      for (const row of doc.querySelectorAll<HTMLElement>('tr[data-row-id]')) {
        const old = known.get(row.dataset.rowId);
        if (old) {
          const checked = old.querySelector<HTMLInputElement>('input[name="ids"]')?.checked ?? false;
          old.replaceChildren(...(document.importNode(row, true) as HTMLElement).children);
          const box = old.querySelector<HTMLInputElement>('input[name="ids"]');
          if (box) box.checked = checked;
        } else if (p.live && Date.parse(row.dataset.created ?? '') >= newest()) {
          added.push(document.importNode(row, true) as HTMLElement);
        }
      }
      for (const row of added.reverse()) {
        row.classList.add('row-new');
        tbody.prepend(row);
      }
      if (tbody.children.length) document.querySelector('.empty')?.remove();
    } catch {
      // Try again with the next change.
    }
  }, 300);

  const stream = LiveStream.forExecutions({
    onExecution(execution) {
      const row = tbody.querySelector(`tr[data-row-id="${CSS.escape(String(execution.id))}"]`);
      if (row) {
        updateStatusBadges(document, execution);
        if (TERMINAL_STATUSES.has(execution.status)) refreshRows();
      } else if (p.live && matches(execution)) {
        refreshRows();
      }
    },
    onStatus: setLiveStatus,
  }).start();
  exposeStream(stream);
}

export function overviewPage(body: HTMLElement): void {
  const refresh = throttle(async () => {
    const url = new URL(window.location.href);
    url.searchParams.set('fragment', '1');
    try {
      const doc = await fetchHtml(url.toString());
      body.replaceChildren(...[...doc.body.childNodes].map((n) => document.importNode(n, true)));
    } catch {
      // The next change tries again.
    }
  }, 1000);
  const stream = LiveStream.forExecutions({
    onExecution(execution) {
      updateStatusBadges(document, execution);
      refresh();
    },
    onStatus: setLiveStatus,
  }).start();
  exposeStream(stream);
}

export function workflowPage(root: HTMLElement): void {
  const form = root.querySelector('[data-run-form]');
  const input = form?.querySelector<HTMLTextAreaElement>('textarea[name="input"]');
  const note = form?.querySelector('[data-json-status]');
  if (input && note) {
    const check = () => {
      try {
        JSON.parse(input.value || 'null');
        input.setCustomValidity('');
        input.removeAttribute('aria-invalid');
        note.textContent = 'Valid JSON; the server checks it against the input schema.';
        note.classList.remove('error');
      } catch (err) {
        input.setCustomValidity('not JSON');
        input.setAttribute('aria-invalid', 'true');
        note.textContent = `Not valid JSON yet: ${(err as Error).message}`;
        note.classList.add('error');
      }
    };
    input.addEventListener('input', check);
    check();
  }
  const stream = LiveStream.forExecutions({ onExecution: (execution) => updateStatusBadges(document, execution), onStatus: setLiveStatus }).start();
  exposeStream(stream);
}
