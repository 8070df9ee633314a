// The inbox page (templates/inbox/inbox.html): decide forms generated from each
// pause's JSON schema and validated here (the server validates again), approve and
// reject through /api/approvals/, bulk decisions, keyboard shortcuts, and live
// updates: frontend/live.ts follows /ws/inbox/ and fires `live:approval` on the
// `[data-island="live"]` element; new pending items appear, decided ones leave.
// Dependency-free. Stable hooks: data-testid="approval-ID", "decide-form-ID",
// "field-ID-NAME", "approve-ID", "reject-ID", "error-ID", "inbox-count".

const root = document.getElementById('inbox');
const props = JSON.parse(document.getElementById('inbox-props')?.textContent || '{}');
const list = root?.querySelector('[data-testid="approvals"]');
const schemas = new Map(Object.entries(props.schemas || {}));

// -- JSON schema: fields and validation -----------------------------------------------

const SIMPLE = new Set(['string', 'number', 'integer', 'boolean']);

function typeOf(schema) {
  const t = Array.isArray(schema?.type) ? schema.type.find((x) => x !== 'null') : schema?.type;
  if (!t && Array.isArray(schema?.enum)) return typeof schema.enum[0] === 'number' ? 'number' : 'string';
  return t;
}

/** Whether a schema renders as fields (else the raw JSON textarea stays). */
function renderable(schema) {
  if (!schema || typeof schema !== 'object') return false;
  const t = typeOf(schema);
  if (SIMPLE.has(t)) return true;
  if (t !== 'object' || !schema.properties) return false;
  return Object.values(schema.properties).every((p) => SIMPLE.has(typeOf(p)) ||
    (typeOf(p) === 'array' && SIMPLE.has(typeOf(p.items || {}))));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  node.append(...children);
  return node;
}

function fieldFor(id, name, schema, required, initial) {
  const t = typeOf(schema);
  const testid = `field-${id}-${name || 'value'}`;
  const label = el('label', { class: 'schema-field' });
  const title = schema.title || name || 'Value';
  let input;
  if (t === 'boolean') {
    input = el('input', { type: 'checkbox', 'data-testid': testid });
    input.checked = initial === true || (initial === undefined && schema.default === true);
    label.append(input, ' ', title);
  } else {
    if (Array.isArray(schema.enum)) {
      input = el('select', { 'data-testid': testid });
      if (!required) input.append(el('option', { value: '', text: '—' }));
      for (const option of schema.enum) input.append(el('option', { value: JSON.stringify(option), text: String(option) }));
      const start = initial !== undefined ? initial : schema.default;
      if (start !== undefined) input.value = JSON.stringify(start);
    } else if (t === 'array') {
      input = el('input', { type: 'text', placeholder: 'comma-separated', 'data-testid': testid });
      if (Array.isArray(initial ?? schema.default)) input.value = (initial ?? schema.default).join(', ');
    } else {
      const type = t === 'number' || t === 'integer' ? 'number' : schema.format === 'email' ? 'email'
        : schema.format === 'date' ? 'date' : 'text';
      input = el('input', { type, 'data-testid': testid, step: t === 'integer' ? '1' : t === 'number' ? 'any' : null });
      const start = initial !== undefined ? initial : schema.default;
      if (start !== undefined && start !== null) input.value = String(start);
    }
    label.append(title + (required ? ' *' : ''), input);
  }
  if (schema.description) label.append(el('span', { class: 'muted small', text: schema.description }));
  input.dataset.field = name ?? '';
  return { label, read: () => readField(input, schema) };
}

function readField(input, schema) {
  const t = typeOf(schema);
  if (t === 'boolean') return input.checked;
  if (input.tagName === 'SELECT') return input.value === '' ? undefined : JSON.parse(input.value);
  const raw = input.value.trim();
  if (raw === '') return undefined;
  if (t === 'array') {
    const itemType = typeOf(schema.items || {});
    return raw.split(',').map((s) => s.trim()).filter(Boolean)
      .map((s) => (itemType === 'number' || itemType === 'integer' ? Number(s) : s));
  }
  if (t === 'number' || t === 'integer') return Number(raw);
  return raw;
}

/** Build the fields into `container`; returns a function reading the input value. */
function buildFields(id, schema, container, initial) {
  container.replaceChildren();
  if (typeOf(schema) !== 'object') {
    const field = fieldFor(id, '', schema, true, initial);
    container.append(field.label);
    return field.read;
  }
  const required = new Set(schema.required || []);
  const readers = [];
  for (const [name, sub] of Object.entries(schema.properties || {})) {
    const start = initial && typeof initial === 'object' ? initial[name] : undefined;
    const field = fieldFor(id, name, sub, required.has(name), start);
    container.append(field.label);
    readers.push([name, field.read]);
  }
  return () => {
    const value = {};
    for (const [name, read] of readers) {
      const v = read();
      if (v !== undefined) value[name] = v;
    }
    return value;
  };
}

const TYPE_CHECKS = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  integer: (v) => Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  null: (v) => v === null,
};

/** A small JSON-schema check (type, required, enum, bounds, lengths, pattern, nesting). */
export function validate(schema, value, path = []) {
  const errors = [];
  const at = (message) => errors.push({ path, message });
  if (!schema || typeof schema !== 'object') return errors;
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => (TYPE_CHECKS[t] || (() => true))(value))) {
      at(value === undefined ? 'is required' : `must be ${types.join(' or ')}`);
      return errors;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    at(`must be one of ${schema.enum.map(String).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) at(`must be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) at(`must be at most ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) at(`must have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) at(`must have at most ${schema.maxLength} characters`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) at(`must match ${schema.pattern}`);
  }
  if (TYPE_CHECKS.object(value)) {
    for (const name of schema.required || []) {
      if (!(name in value)) errors.push({ path: [...path, name], message: 'is required' });
    }
    for (const [name, sub] of Object.entries(schema.properties || {})) {
      if (name in value) errors.push(...validate(sub, value[name], [...path, name]));
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => errors.push(...validate(schema.items, item, [...path, i])));
  }
  return errors;
}

// -- deciding ---------------------------------------------------------------------------

function csrfToken() {
  const input = document.querySelector('input[name="csrfmiddlewaretoken"]');
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

async function api(path, body) {
  const response = await fetch(`/api/approvals/${path}`, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { /* an empty or HTML answer */ }
  return { ok: response.ok, status: response.status, data };
}

function itemOf(id) {
  return list?.querySelector(`[data-approval-id="${CSS.escape(String(id))}"].approval`);
}

function showError(id, message) {
  const box = itemOf(id)?.querySelector(`[data-testid="error-${id}"]`);
  if (box) box.textContent = message;
}

function wireForm(form) {
  if (form.dataset.wired) return;
  form.dataset.wired = '1';
  const id = form.dataset.approvalId;
  const schema = schemas.get(String(id));
  const raw = form.querySelector('textarea[name="input"]');
  let read = null;
  if (schema && renderable(schema)) {
    let initial;
    try { initial = raw && raw.value.trim() ? JSON.parse(raw.value) : undefined; } catch { initial = undefined; }
    read = buildFields(id, schema, form.querySelector('.schema-fields'), initial);
    raw?.closest('label')?.setAttribute('hidden', '');
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const action = event.submitter?.value === 'reject' ? 'reject' : 'approve';
    const comment = form.querySelector('textarea[name="comment"]')?.value || '';
    let input = null;
    if (action === 'approve' && schema) {
      try {
        input = read ? read() : raw && raw.value.trim() ? JSON.parse(raw.value) : null;
      } catch (err) {
        showError(id, `The input is not valid JSON: ${err.message}`);
        return;
      }
      const problems = validate(schema, input);
      form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
      if (problems.length) {
        for (const p of problems) form.querySelector(`[data-field="${CSS.escape(String(p.path[0] ?? ''))}"]`)?.setAttribute('aria-invalid', 'true');
        showError(id, problems.map((p) => `${p.path.join('/') || 'input'}: ${p.message}`).join('; '));
        return;
      }
    }
    form.querySelectorAll('button').forEach((b) => (b.disabled = true));
    showError(id, '');
    const result = await api(`${id}/${action}`, { input, comment });
    if (result.ok) {
      removeItem(id);
    } else {
      form.querySelectorAll('button').forEach((b) => (b.disabled = false));
      const errors = result.data?.errors?.map((e) => `${(e.path || []).join('/') || 'input'}: ${e.message}`);
      showError(id, errors?.length ? errors.join('; ') : result.data?.detail || `Failed (${result.status}).`);
      if (result.status === 409 && result.data?.code === 'already_decided') {
        itemOf(id)?.setAttribute('data-status', 'decided');
        form.querySelectorAll('button').forEach((b) => (b.disabled = true));
      }
    }
  });
}

// -- the list: counts, live items ---------------------------------------------------------

function updateCounts() {
  const n = list ? list.querySelectorAll('.approval[data-status="pending"]').length : 0;
  const count = root?.querySelector('[data-testid="inbox-pending-count"]');
  if (count) count.textContent = String(n);
  const empty = root?.querySelector('[data-testid="inbox-empty"]');
  if (empty) empty.hidden = n > 0;
  const decidable = list ? list.querySelectorAll('.approval[data-status="pending"] .decide-form').length : 0;
  const f = props.filters || {};
  if (f.workflow || f.assigned || f.overdue) return; // the nav badge counts everything
  document.querySelectorAll('[data-testid="inbox-count"]').forEach((badge) => {
    badge.textContent = String(decidable);
    badge.hidden = decidable === 0;
  });
}

function removeItem(id) {
  const item = itemOf(id);
  if (item) item.remove();
  updateCounts();
}

function matchesFilters(approval) {
  const f = props.filters || {};
  if (f.workflow && approval.workflow !== f.workflow) return false;
  if (f.assigned === 'me' && !(approval.approvers || []).includes(props.username) && !(approval.groups || []).length) return false;
  if (f.overdue && !(approval.deadline && new Date(approval.deadline) < new Date())) return false;
  return true;
}

function renderItem(a) {
  const card = el('article', {
    class: 'card approval', id: `approval-${a.id}`, tabindex: '-1', 'data-approval-id': a.id,
    'data-testid': `approval-${a.id}`, 'data-status': a.status, 'data-workflow': a.workflow,
    'data-execution-id': a.execution_id,
  });
  const select = el('input', { type: 'checkbox', form: 'inbox-bulk', name: 'ids', value: a.id, class: 'approval-select', 'data-testid': `select-${a.id}`, disabled: !a.may_decide });
  const head = el('div', { class: 'cardhead' },
    el('label', { class: 'approval-title' }, select, el('h2', { class: 'inline', text: a.title })),
    el('span', { class: 'muted small' }, `${a.workflow} · `,
      el('a', { href: a.execution_url, 'data-testid': `execution-link-${a.id}`, text: `execution ${String(a.execution_id).slice(0, 12)}` }),
      ' · paused at ', el('code', { text: a.pause_name })));
  card.append(head);
  const meta = el('p', { class: 'muted small', text: `Requested ${String(a.requested_at).slice(0, 19)}` +
    (a.deadline ? ` · deadline ${String(a.deadline).slice(0, 19)}, then ${a.on_deadline === 'approve' ? 'approved with the default' : 'rejected'}` : '') });
  card.append(meta);
  if (a.description_html) {
    const description = el('div', { class: 'approval-description' });
    description.innerHTML = a.description_html; // sanitized by the server (nh3)
    card.append(description);
  }
  if (a.output !== null && a.output !== undefined) {
    card.append(el('details', { class: 'approval-output', open: true },
      el('summary', { text: 'What the run produced so far' }),
      el('pre', { 'data-testid': `output-${a.id}`, text: JSON.stringify(a.output, null, 1) })));
  }
  if (a.may_decide) {
    const form = el('form', { method: 'post', action: `/inbox/${a.id}/decide/`, class: 'decide-form', 'data-approval-id': a.id, 'data-testid': `decide-form-${a.id}`, novalidate: true },
      el('input', { type: 'hidden', name: 'csrfmiddlewaretoken', value: csrfToken() }),
      el('div', { class: 'schema-fields', 'data-testid': `schema-fields-${a.id}` }));
    if (a.schema) {
      const raw = el('textarea', { name: 'input', rows: '3', 'data-testid': `raw-input-${a.id}` });
      raw.value = a.default != null ? JSON.stringify(a.default) : '';
      form.append(el('label', { class: 'raw-input' }, 'Input (JSON)', raw));
    }
    form.append(
      el('label', {}, 'Comment', el('textarea', { name: 'comment', rows: '2', 'data-testid': `comment-${a.id}` })),
      el('p', { class: 'error', 'data-testid': `error-${a.id}`, role: 'alert' }),
      el('button', { type: 'submit', name: 'action', value: 'approve', 'data-testid': `approve-${a.id}`, text: 'Approve' }), ' ',
      el('button', { type: 'submit', name: 'action', value: 'reject', class: 'secondary', 'data-testid': `reject-${a.id}`, text: 'Reject' }));
    card.append(form);
  } else if (a.refusal) {
    card.append(el('p', { class: 'muted small', 'data-testid': `refusal-${a.id}`, text: a.refusal }));
  }
  return card;
}

function applyApproval(approval) {
  if (!list || !approval || approval.id == null) return;
  const existing = itemOf(approval.id);
  if (approval.status !== 'pending') {
    if (existing) removeItem(approval.id);
    return;
  }
  if (existing || !matchesFilters(approval)) return;
  schemas.set(String(approval.id), approval.schema);
  const card = renderItem(approval);
  const order = (props.filters || {}).order;
  if (order === 'due') list.append(card); else list.prepend(card);
  const form = card.querySelector('.decide-form');
  if (form) wireForm(form);
  updateCounts();
}

root?.addEventListener('live:approval', (event) => {
  event.preventDefault();
  applyApproval(event.detail?.approval);
});

// -- bulk ---------------------------------------------------------------------------------

const bulkForm = document.getElementById('inbox-bulk');
bulkForm?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const action = event.submitter?.value === 'reject' ? 'reject' : 'approve';
  const ids = [...document.querySelectorAll('.approval-select:checked')].map((c) => Number(c.value));
  if (!ids.length) return;
  const comment = bulkForm.querySelector('input[name="comment"]')?.value || '';
  const result = await api('bulk', { ids, action, comment });
  for (const item of result.data?.items || []) {
    if (item.ok) removeItem(item.id); else showError(item.id, item.detail || 'Failed.');
  }
});

// -- keyboard: j/k move, x select, a approve, r reject -----------------------------------

let focused = null;

function focusItem(item) {
  if (!item) return;
  focused?.classList.remove('focused');
  focused = item;
  item.classList.add('focused');
  item.focus({ preventScroll: false });
}

list?.addEventListener('click', (event) => {
  const item = event.target.closest?.('.approval');
  if (item && !event.target.closest('input, textarea, select, button, a')) focusItem(item);
});

document.addEventListener('keydown', (event) => {
  if (!list || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest?.('input:not([type="checkbox"]), textarea, select, [contenteditable]')) return;
  const items = [...list.querySelectorAll('.approval')];
  if (!items.length) return;
  if (!focused || !focused.isConnected) focused = null;
  const at = focused ? items.indexOf(focused) : -1;
  const key = event.key.toLowerCase();
  if (key === 'j') focusItem(items[Math.min(items.length - 1, at + 1)]);
  else if (key === 'k') focusItem(items[Math.max(0, at - 1)]);
  else if (key === 'x' && focused) {
    const box = focused.querySelector('.approval-select');
    if (box && !box.disabled) box.checked = !box.checked;
  } else if (key === 'a' || key === 'r') {
    const item = focused || items[0];
    const button = item.querySelector(key === 'a' ? '[data-testid^="approve-"]' : '[data-testid^="reject-"]');
    const form = item.querySelector('.decide-form');
    if (!button || !form) return;
    event.preventDefault();
    focusItem(item);
    form.requestSubmit(button);
  } else return;
  event.preventDefault();
});

list?.querySelectorAll('.decide-form').forEach(wireForm);
updateCounts();
