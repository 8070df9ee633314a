// The dashboard's live behaviour on server-rendered pages. Loaded after the
// `frontend/live.ts` bundle, which sets window.Fluxweb.LiveStream (ordering by
// seq, catch-up, reconnects, polling fallback: docs/frontend.md).
//
//   [data-page="execution"]  appends event rows (data-seq), updates the badge,
//                            the timeline and the progress bar, refreshes the
//                            summary when the status changes
//   [data-page="executions"] updates badges, inserts new matching runs on the
//                            first page, bulk-selection helpers
//   [data-page="overview"]   re-renders the overview body after changes
//   [data-page="workflow"]   Run form: JSON checked as you type
//
// Each page's stream is exposed as window.fluxweb.stream (browser tests drop
// its socket to check the catch-up).

const LiveStream = window.Fluxweb && window.Fluxweb.LiveStream;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const LABELS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', polling: 'Live (polling)', closed: 'Stopped' };
window.fluxweb = window.fluxweb || {};

function props(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

function setLiveStatus(status) {
  document.querySelectorAll('[data-live-indicator]').forEach((el) => {
    el.dataset.liveStatus = status;
    el.querySelectorAll('[data-live-status-text]').forEach((t) => (t.textContent = LABELS[status] || status));
  });
}

function updateBadges(execution) {
  document.querySelectorAll(`[data-execution-id="${CSS.escape(String(execution.id))}"][data-status]`).forEach((badge) => {
    if (badge.dataset.status !== execution.status || badge.dataset.workerLost) {
      badge.dataset.status = execution.status;
      delete badge.dataset.workerLost;
      badge.classList.remove('badge-lost');
      badge.textContent = execution.status;
    }
  });
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
}

async function fetchHtml(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { 'X-Requested-With': 'fetch' } });
  if (!response.ok) throw new Error(`${response.status}`);
  return new DOMParser().parseFromString(await response.text(), 'text/html');
}

function summarize(value) {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 160 ? text.slice(0, 159) + '…' : text;
}

function took(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${String(Math.floor((ms % 60000) / 1000)).padStart(2, '0')} s`;
}

// --- one execution -------------------------------------------------------------

const ENDS = { TASK_COMPLETED: 'completed', TASK_FALLBACK_COMPLETED: 'completed', TASK_FAILED: 'failed', TASK_FALLBACK_FAILED: 'failed' };
const STATES = { TASK_RETRY_STARTED: 'retrying', TASK_RETRY_FAILED: 'retrying', TASK_PAUSED: 'paused', TASK_RESUMED: 'running', TASK_FALLBACK_STARTED: 'running', TASK_ROLLBACK_STARTED: 'running' };

function executionPage(root) {
  const p = props('execution-props');
  const tbody = root.querySelector('[data-live-events]');
  const tasks = new Map(p.tasks.map((t) => [t.id, t]));
  let start = p.timelineStart;
  let finishedAt = p.finishedAt;
  let status = p.status;
  const errorTypes = new Set(p.errorTypes);

  function renderRow(event) {
    if (tbody.querySelector(`[data-seq="${event.seq}"]`)) return;
    if (p.errorsOnly && !errorTypes.has(event.type)) return;
    if (p.task && event.source_id !== p.task) return;
    const row = document.createElement('tr');
    row.dataset.seq = String(event.seq);
    row.dataset.type = event.type;
    row.dataset.source = event.source_id;
    row.className = 'live-event live-event--new' + (errorTypes.has(event.type) ? ' live-event--error' : '');
    const time = new Date(event.time);
    const cells = [String(event.seq), time.toISOString().slice(11, 23), event.type, event.name];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      row.append(td);
    }
    const td = document.createElement('td');
    const code = document.createElement('code');
    code.className = 'value';
    code.textContent = summarize(event.value);
    td.append(code);
    row.append(td);
    // Rows arrive in seq order; keep the table ordered even if the page was behind.
    const last = tbody.lastElementChild;
    if (!last || Number(last.dataset.seq) < event.seq) tbody.append(row);
    else {
      const after = [...tbody.children].find((r) => Number(r.dataset.seq) > event.seq);
      tbody.insertBefore(row, after || null);
    }
  }

  function applyToTimeline(event) {
    const t = Date.parse(event.time);
    if (start == null) start = t;
    if (event.type === 'TASK_STARTED') {
      if (!tasks.has(event.source_id)) {
        const parent = tasks.get(event.parent_id);
        tasks.set(event.source_id, { id: event.source_id, name: event.name, parent: event.parent_id, start: t, end: null, state: 'running', retries: 0, depth: parent ? Math.min(parent.depth + 1, 8) : 0 });
      }
      return true;
    }
    const task = tasks.get(event.source_id);
    if (!task) return false;
    if (ENDS[event.type]) {
      task.end = t;
      task.state = ENDS[event.type];
    } else if (STATES[event.type] && task.end == null) {
      task.state = STATES[event.type];
      if (event.type === 'TASK_RETRY_STARTED') task.retries += 1;
    }
    return true;
  }

  const renderTimeline = debounce(() => {
    const gantt = root.querySelector('[data-gantt]');
    const list = [...tasks.values()];
    const done = list.filter((t) => t.end != null).length;
    const finished = TERMINAL.has(status);
    const percent = finished ? 100 : list.length ? Math.round((100 * done) / list.length) : 0;
    const bar = root.querySelector('[data-testid="progress"]');
    bar.setAttribute('aria-valuenow', String(percent));
    bar.querySelector('.fill').style.width = `${percent}%`;
    root.querySelector('[data-progress-text]').textContent = `${done} of ${list.length} task${list.length === 1 ? '' : 's'} done`;
    if (!list.length) return;
    const end = Math.max(finishedAt || Date.now(), ...list.map((t) => t.end || t.start));
    const span = Math.max(end - start, 1);
    // Depth-first order: children after their parent, by start.
    const children = new Map();
    for (const t of list) {
      const key = tasks.has(t.parent) ? t.parent : null;
      if (!children.has(key)) children.set(key, []);
      children.get(key).push(t);
    }
    const ordered = [];
    const walk = (key) => (children.get(key) || []).sort((a, b) => a.start - b.start).forEach((t) => (ordered.push(t), walk(t.id)));
    walk(null);
    const frag = document.createDocumentFragment();
    for (const t of ordered.slice(0, 400)) {
      const row = document.createElement('div');
      row.className = 'gantt-row';
      row.dataset.task = t.id;
      row.dataset.state = t.state;
      const name = document.createElement('span');
      name.className = 'gantt-name';
      name.style.paddingLeft = `${t.depth}rem`;
      name.title = t.id;
      name.textContent = t.name + (t.retries ? ` ↻${t.retries}` : '');
      const track = document.createElement('span');
      track.className = 'gantt-track';
      const b = document.createElement('span');
      b.className = 'gantt-bar';
      b.style.left = `${(100 * (t.start - start)) / span}%`;
      b.style.width = `${Math.max((100 * ((t.end || end) - t.start)) / span, 0.4)}%`;
      track.append(b);
      const time = document.createElement('span');
      time.className = 'gantt-time muted small';
      time.textContent = t.end != null ? took(t.end - t.start) : '';
      row.append(name, track, time);
      frag.append(row);
    }
    gantt.replaceChildren(frag);
  }, 100);

  const refreshSummary = debounce(async () => {
    try {
      const doc = await fetchHtml(window.location.href);
      for (const id of ['summary']) {
        const fresh = doc.getElementById(id);
        const old = document.getElementById(id);
        if (fresh && old && !old.contains(document.activeElement)) old.replaceWith(fresh);
      }
    } catch {
      // The next change tries again.
    }
  }, 250);

  const stream = LiveStream.forExecution(String(p.executionId), {
    after: p.after,
    onEvent(event) {
      renderRow(event);
      if (applyToTimeline(event)) renderTimeline();
      if (event.type.startsWith('WORKFLOW_')) refreshSummary();
    },
    onExecution(execution) {
      const changed = execution.status !== status;
      status = execution.status;
      if (execution.finished_at) finishedAt = Date.parse(execution.finished_at);
      updateBadges(execution);
      if (changed) {
        refreshSummary();
        renderTimeline();
      }
    },
    onStatus: setLiveStatus,
  }).start();
  window.fluxweb.stream = stream;
}

// --- lists ---------------------------------------------------------------------

function listPage(table) {
  const p = props('list-props');
  const tbody = table.querySelector('[data-rows]');
  const form = table.closest('form');
  const counter = form.querySelector('[data-selected-count]');
  const updateCount = () => {
    const n = tbody.querySelectorAll('input[name="ids"]:checked').length;
    counter.textContent = `${n} selected`;
  };
  form.addEventListener('change', (event) => {
    if (event.target.matches('[data-select-all]')) {
      tbody.querySelectorAll('input[name="ids"]').forEach((box) => (box.checked = event.target.checked));
    }
    updateCount();
  });
  form.addEventListener('submit', (event) => {
    const action = event.submitter && event.submitter.value;
    const everything = form.querySelector('input[name="scope"][value="filter"]').checked;
    if (everything && !window.confirm(`${action === 'cancel' ? 'Cancel' : 'Re-run'} every run matching the filter?`)) event.preventDefault();
  });

  const matches = (execution) =>
    (!p.statuses.length || p.statuses.includes(execution.status)) &&
    (!p.workflow || p.workflow === execution.workflow) &&
    (!p.id || String(execution.id).startsWith(p.id));

  const newest = () => {
    const first = tbody.querySelector('tr[data-created]');
    return first ? Date.parse(first.dataset.created) : 0;
  };

  const refreshRows = debounce(async () => {
    const url = new URL(window.location.href);
    url.searchParams.set('fragment', 'rows');
    try {
      const doc = await fetchHtml(url.toString());
      const fresh = [...doc.querySelectorAll('tr[data-row-id]')];
      const known = new Map([...tbody.querySelectorAll('tr[data-row-id]')].map((r) => [r.dataset.rowId, r]));
      const added = [];
      for (const row of fresh) {
        const old = known.get(row.dataset.rowId);
        if (old) {
          const checked = old.querySelector('input[name="ids"]').checked;
          old.replaceChildren(...document.importNode(row, true).children);
          old.querySelector('input[name="ids"]').checked = checked;
        } else if (p.live && Date.parse(row.dataset.created) >= newest()) {
          added.push(document.importNode(row, true));
        }
      }
      for (const row of added.reverse()) {
        row.classList.add('row-new');
        tbody.prepend(row);
      }
      const empty = document.querySelector('.empty');
      if (empty && tbody.children.length) empty.remove();
    } catch {
      // Try again with the next change.
    }
  }, 300);

  const stream = LiveStream.forExecutions({
    onExecution(execution) {
      const row = tbody.querySelector(`tr[data-row-id="${CSS.escape(String(execution.id))}"]`);
      if (row) {
        updateBadges(execution);
        if (TERMINAL.has(execution.status)) refreshRows();
      } else if (p.live && matches(execution)) {
        refreshRows();
      }
    },
    onStatus: setLiveStatus,
  }).start();
  window.fluxweb.stream = stream;
}

function overviewPage(body) {
  const refresh = debounce(async () => {
    const url = new URL(window.location.href);
    url.searchParams.set('fragment', '1');
    try {
      const doc = await fetchHtml(url.toString());
      body.innerHTML = doc.body.innerHTML;
    } catch {
      // Next change.
    }
  }, 1000);
  const stream = LiveStream.forExecutions({
    onExecution(execution) {
      updateBadges(execution);
      refresh();
    },
    onStatus: setLiveStatus,
  }).start();
  window.fluxweb.stream = stream;
}

function workflowPage(root) {
  const form = root.querySelector('[data-run-form]');
  if (form) {
    const input = form.querySelector('textarea[name="input"]');
    const note = form.querySelector('[data-json-status]');
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
        note.textContent = `Not valid JSON yet: ${err.message}`;
        note.classList.add('error');
      }
    };
    input.addEventListener('input', check);
    check();
  }
  const stream = LiveStream.forExecutions({
    onExecution: updateBadges,
    onStatus: setLiveStatus,
  }).start();
  window.fluxweb.stream = stream;
}

if (!LiveStream) {
  setLiveStatus('closed');
  document.querySelectorAll('[data-live-status-text]').forEach((t) => (t.textContent = 'Not live: the front-end bundle is not built (npm run build)'));
} else {
  const execution = document.querySelector('[data-page="execution"]');
  const list = document.querySelector('[data-page="executions"]');
  const overview = document.querySelector('[data-page="overview"]');
  const workflow = document.querySelector('[data-page="workflow"]');
  if (execution) executionPage(execution);
  else if (list) listPage(list);
  else if (overview) overviewPage(overview);
  else if (workflow) workflowPage(workflow);
}

// Forms marked [data-autosubmit] submit when a field changes (the execution page's log
// filter). Here, not in onchange="" attributes: the Content-Security-Policy forbids those.
document.addEventListener('change', (event) => {
  const form = event.target.closest && event.target.closest('form[data-autosubmit]');
  if (form) form.requestSubmit();
});
