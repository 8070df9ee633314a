// The inbox page (templates/inbox/inbox.html): decide forms (decide.ts), bulk
// decisions, keyboard shortcuts, and live items: frontend/live.ts follows
// /ws/inbox/ and fires `live:approval` on `#inbox`; a new pending item that
// matches the filters appears, a decided one leaves.
// Stable hooks: data-testid="approval-ID", "decide-form-ID", "field-ID-NAME",
// "raw-input-ID", "json-toggle-ID", "approve-ID", "reject-ID", "error-ID",
// "inbox-count", "inbox-pending-count", "inbox-empty".

import { apiRequest, readCookie } from '../lib/api';
import { timeElement } from '../lib/format';
import { wireDecideForm } from './decide';

/** `props` of executions/inbox/views.py. */
export interface InboxProps {
  schemas?: Record<string, unknown>;
  filters?: { workflow?: string; assigned?: string; overdue?: string | boolean; order?: string };
  username?: string;
}

/** An approval as /ws/inbox/ and /api/approvals/ send it (DESIGN.md), with the page's extras. */
export interface InboxApproval {
  id: number | string;
  status: string;
  title: string;
  workflow: string;
  execution_id: string;
  execution_url?: string;
  pause_name: string;
  requested_at: string;
  deadline?: string | null;
  on_deadline?: string;
  description_html?: string;
  output?: unknown;
  schema?: unknown;
  default?: unknown;
  approvers?: string[];
  groups?: string[];
  may_decide?: boolean;
  refusal?: string | null;
}

type Attrs = Record<string, string | number | boolean | null | undefined>;

function el(doc: Document, tag: string, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElement {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  node.append(...children);
  return node;
}

function csrfToken(doc: Document): string {
  return doc.querySelector<HTMLInputElement>('input[name="csrfmiddlewaretoken"]')?.value ?? readCookie('csrftoken') ?? '';
}

/** An approval's card, as templates/inbox/_item.html renders it. */
export function renderItem(doc: Document, a: InboxApproval, now: number = Date.now()): HTMLElement {
  const overdue = !!a.deadline && Date.parse(a.deadline) < now;
  const card = el(doc, 'article', {
    class: overdue ? 'card approval overdue' : 'card approval', id: `approval-${a.id}`, tabindex: '-1', 'data-approval-id': a.id,
    'data-testid': `approval-${a.id}`, 'data-status': a.status, 'data-workflow': a.workflow,
    'data-execution-id': a.execution_id,
  });
  const select = el(doc, 'input', {
    type: 'checkbox', form: 'inbox-bulk', name: 'ids', value: a.id, class: 'approval-select',
    'data-testid': `select-${a.id}`, disabled: !a.may_decide,
  });
  card.append(el(doc, 'div', { class: 'cardhead' },
    el(doc, 'label', { class: 'approval-title' }, select, el(doc, 'h2', { class: 'inline', text: a.title })),
    el(doc, 'span', { class: 'muted small' }, `${a.workflow} · `,
      el(doc, 'a', { href: a.execution_url ?? `/executions/${a.execution_id}/`, 'data-testid': `execution-link-${a.id}`,
        text: `execution ${String(a.execution_id).slice(0, 12)}…` }),
      ' · paused at ', el(doc, 'code', { text: a.pause_name }))));
  const meta = el(doc, 'p', { class: 'muted small' }, 'Requested ',
    timeElement(doc, a.requested_at));
  if (a.deadline) {
    meta.append(' · ', el(doc, 'span', { class: overdue ? 'error' : null, 'data-testid': `deadline-${a.id}` }, 'deadline ',
      timeElement(doc, a.deadline),
      `, then ${a.on_deadline === 'approve' ? 'approved with the default' : 'rejected'}`));
  }
  const people = [...(a.approvers ?? []), ...(a.groups ?? []).map((g) => `group ${g}`)];
  if (people.length) meta.append(` · for ${people.join(', ')}`);
  card.append(meta);
  if (a.description_html) {
    const description = el(doc, 'div', { class: 'approval-description' });
    description.innerHTML = a.description_html; // sanitized by the server (nh3)
    card.append(description);
  }
  if (a.output !== null && a.output !== undefined) {
    card.append(el(doc, 'details', { class: 'approval-output', open: true },
      el(doc, 'summary', { text: 'What the run produced so far' }),
      el(doc, 'pre', { 'data-testid': `output-${a.id}`, text: JSON.stringify(a.output, null, 1) })));
  }
  if (a.may_decide) {
    const form = el(doc, 'form', {
      method: 'post', action: `/inbox/${a.id}/decide/`, class: 'decide-form', 'data-approval-id': a.id,
      'data-testid': `decide-form-${a.id}`, novalidate: true,
    }, el(doc, 'input', { type: 'hidden', name: 'csrfmiddlewaretoken', value: csrfToken(doc) }),
    el(doc, 'div', { class: 'schema-fields', 'data-testid': `schema-fields-${a.id}` }));
    if (a.schema) {
      const raw = el(doc, 'textarea', { name: 'input', rows: 3, 'data-testid': `raw-input-${a.id}` }) as HTMLTextAreaElement;
      raw.value = a.default !== null && a.default !== undefined ? JSON.stringify(a.default) : '';
      form.append(el(doc, 'label', { class: 'raw-input' }, 'Input (JSON)', raw));
    }
    form.append(
      el(doc, 'label', {}, 'Comment ', el(doc, 'textarea', { name: 'comment', rows: 2, 'data-testid': `comment-${a.id}` })),
      el(doc, 'p', { class: 'error', 'data-testid': `error-${a.id}`, role: 'alert' }),
      el(doc, 'button', { type: 'submit', name: 'action', value: 'approve', 'data-testid': `approve-${a.id}`, text: 'Approve' }), ' ',
      el(doc, 'button', { type: 'submit', name: 'action', value: 'reject', class: 'secondary', 'data-testid': `reject-${a.id}`, text: 'Reject' }));
    card.append(form);
  } else if (a.refusal) {
    card.append(el(doc, 'p', { class: 'muted small', 'data-testid': `refusal-${a.id}`, text: a.refusal }));
  }
  return card;
}

/** Whether a pending approval belongs on the page under its filters. */
export function matchesFilters(approval: InboxApproval, props: InboxProps, now: number = Date.now()): boolean {
  const f = props.filters ?? {};
  if (f.workflow && approval.workflow !== f.workflow) return false;
  if (f.assigned === 'me' && !(approval.approvers ?? []).includes(props.username ?? '') && !(approval.groups ?? []).length) return false;
  if (f.overdue && !(approval.deadline && Date.parse(approval.deadline) < now)) return false;
  return true;
}

export function inboxPage(root: HTMLElement, props: InboxProps): void {
  const doc = root.ownerDocument;
  const list = root.querySelector<HTMLElement>('[data-testid="approvals"]');
  const schemas = new Map(Object.entries(props.schemas ?? {}));
  const itemOf = (id: string | number) => list?.querySelector<HTMLElement>(`.approval[data-approval-id="${CSS.escape(String(id))}"]`) ?? null;
  const showError = (id: string | number, message: string) => {
    const box = itemOf(id)?.querySelector(`[data-testid="error-${CSS.escape(String(id))}"]`);
    if (box) box.textContent = message;
  };

  function updateCounts(): void {
    const n = list ? list.querySelectorAll('.approval[data-status="pending"]').length : 0;
    const count = root.querySelector('[data-testid="inbox-pending-count"]');
    if (count) count.textContent = String(n);
    const empty = root.querySelector<HTMLElement>('[data-testid="inbox-empty"]');
    if (empty) empty.hidden = n > 0;
    const f = props.filters ?? {};
    if (f.workflow || f.assigned || f.overdue) return; // the nav badge counts everything
    const decidable = list ? list.querySelectorAll('.approval[data-status="pending"] .decide-form').length : 0;
    doc.querySelectorAll<HTMLElement>('[data-testid="inbox-count"]').forEach((badge) => {
      badge.textContent = String(decidable);
      badge.hidden = decidable === 0;
    });
  }

  function removeItem(id: string | number): void {
    itemOf(id)?.remove();
    updateCounts();
  }

  function wire(form: HTMLFormElement): void {
    const id = form.dataset.approvalId ?? '';
    wireDecideForm(form, { schema: schemas.get(id), onDecided: () => removeItem(id) });
  }

  root.addEventListener('live:approval', (event) => {
    event.preventDefault();
    const approval = (event as CustomEvent<{ approval?: InboxApproval }>).detail?.approval;
    if (!list || !approval || approval.id === null || approval.id === undefined) return;
    const existing = itemOf(approval.id);
    if (approval.status !== 'pending') {
      if (existing) removeItem(approval.id);
      return;
    }
    if (existing || !matchesFilters(approval, props)) return;
    schemas.set(String(approval.id), approval.schema);
    const card = renderItem(doc, approval);
    if (props.filters?.order === 'due') list.append(card);
    else list.prepend(card);
    const form = card.querySelector<HTMLFormElement>('.decide-form');
    if (form) wire(form);
    updateCounts();
  });

  const bulkForm = doc.querySelector<HTMLFormElement>('#inbox-bulk');
  bulkForm?.addEventListener('submit', async (event) => {
    event.preventDefault();
    const action = (event.submitter as HTMLButtonElement | null)?.value === 'reject' ? 'reject' : 'approve';
    const ids = [...doc.querySelectorAll<HTMLInputElement>('.approval-select:checked')].map((c) => Number(c.value));
    if (!ids.length) return;
    const comment = bulkForm.querySelector<HTMLInputElement>('input[name="comment"]')?.value ?? '';
    try {
      const answer = await apiRequest<{ items: { id: number; ok: boolean; detail?: string }[] }>('/api/approvals/bulk', {
        method: 'POST',
        body: { ids, action, comment },
      });
      for (const item of answer.items) {
        if (item.ok) removeItem(item.id);
        else showError(item.id, item.detail ?? 'Failed.');
      }
    } catch (err) {
      for (const id of ids) showError(id, (err as Error).message);
    }
  });

  // Keyboard: j/k move, x select, a approve, r reject.
  let focused: HTMLElement | null = null;
  const focusItem = (item: HTMLElement | undefined) => {
    if (!item) return;
    focused?.classList.remove('focused');
    focused = item;
    item.classList.add('focused');
    item.focus({ preventScroll: false });
  };
  list?.addEventListener('click', (event) => {
    const target = event.target as Element;
    const item = target.closest<HTMLElement>('.approval');
    if (item && !target.closest('input, textarea, select, button, a')) focusItem(item);
  });
  doc.addEventListener('keydown', (event) => {
    if (!list || event.ctrlKey || event.metaKey || event.altKey) return;
    if ((event.target as Element | null)?.closest?.('input:not([type="checkbox"]), textarea, select, [contenteditable]')) return;
    const items = [...list.querySelectorAll<HTMLElement>('.approval')];
    if (!items.length) return;
    if (focused && !focused.isConnected) focused = null;
    const at = focused ? items.indexOf(focused) : -1;
    const key = event.key.toLowerCase();
    if (key === 'j') focusItem(items[Math.min(items.length - 1, at + 1)]);
    else if (key === 'k') focusItem(items[Math.max(0, at - 1)]);
    else if (key === 'x' && focused) {
      const box = focused.querySelector<HTMLInputElement>('.approval-select');
      if (box && !box.disabled) box.checked = !box.checked;
    } else if (key === 'a' || key === 'r') {
      const item = focused ?? items[0]!;
      const button = item.querySelector<HTMLButtonElement>(key === 'a' ? '[data-testid^="approve-"]' : '[data-testid^="reject-"]');
      const form = item.querySelector<HTMLFormElement>('.decide-form');
      if (!button || !form) return;
      event.preventDefault();
      focusItem(item);
      form.requestSubmit(button);
    } else return;
    event.preventDefault();
  });

  list?.querySelectorAll<HTMLFormElement>('.decide-form').forEach(wire);
  updateCounts();
}
