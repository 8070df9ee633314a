// The editor's side panels and dialogs: the task palette, the inspector
// (graph, node or edge under edit) and the JSON / Run dialogs. They only
// render and report; the document logic lives in document.ts.

import { useEffect, useMemo, useState, type DragEvent, type ReactNode } from 'react';
import type { GraphDef, GraphEdgeDef, GraphNodeDef, NodeOptions, TaskInfo } from '../lib/types';

export const TASK_MIME = 'application/x-fluxweb-task';

// ---- palette ---------------------------------------------------------------

export function Palette({
  tasks,
  error,
  onAdd,
}: {
  tasks: TaskInfo[] | null;
  error: string | null;
  onAdd: (task: TaskInfo) => void;
}) {
  const [query, setQuery] = useState('');
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!tasks) return [];
    if (!q) return tasks;
    return tasks.filter((t) => t.name.toLowerCase().includes(q) || t.doc?.toLowerCase().includes(q) || t.parameters.some((p) => p.name.toLowerCase().includes(q)));
  }, [tasks, query]);

  const onDragStart = (event: DragEvent, task: TaskInfo) => {
    event.dataTransfer.setData(TASK_MIME, task.name);
    event.dataTransfer.setData('text/plain', task.name);
    event.dataTransfer.effectAllowed = 'copy';
  };

  return (
    <aside className="flux-palette" data-testid="palette" aria-label="Tasks">
      <div className="flux-palette__search">
        <input
          className="flux-input"
          type="search"
          placeholder="Search tasks…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="palette-search"
          aria-label="Search tasks"
        />
      </div>
      {error && <p className="flux-field-error" style={{ margin: '0 10px' }}>{error}</p>}
      {!tasks && !error && <p className="flux-muted" style={{ margin: '0 10px' }}>Loading tasks…</p>}
      {tasks && shown.length === 0 && <p className="flux-muted" style={{ margin: '0 10px' }}>No task matches.</p>}
      <ul className="flux-palette__list">
        {shown.map((task) => (
          <li
            key={task.name}
            className="flux-palette__item"
            draggable
            onDragStart={(e) => onDragStart(e, task)}
            onDoubleClick={() => onAdd(task)}
            data-testid={`palette-item-${task.name}`}
            title="Drag onto the canvas, or double-click to add"
          >
            <div className="flux-palette__name">
              <span>{task.name}</span>
              <button type="button" className="flux-button flux-button--small" onClick={() => onAdd(task)} data-testid={`palette-add-${task.name}`} aria-label={`Add ${task.name}`}>
                +
              </button>
            </div>
            {task.doc && <p className="flux-palette__doc">{task.doc.split('\n')[0]}</p>}
            {task.parameters.length > 0 && (
              <ul className="flux-palette__params">
                {task.parameters.map((p) => (
                  <li key={p.name} className={p.required ? 'required' : undefined}>
                    {p.name}
                    {p.annotation ? `: ${p.annotation}` : ''}
                    {!p.required && p.default !== undefined && p.default !== null ? ` = ${JSON.stringify(p.default)}` : ''}
                  </li>
                ))}
              </ul>
            )}
            <div className="flux-palette__options">{describeOptions(task.options)}</div>
          </li>
        ))}
      </ul>
    </aside>
  );
}

function describeOptions(options: NodeOptions | undefined): string {
  if (!options) return '';
  const parts: string[] = [];
  if (options.retry_max_attempts) parts.push(`retry ×${options.retry_max_attempts}`);
  if (options.timeout) parts.push(`timeout ${options.timeout}s`);
  return parts.join(' · ');
}

// ---- inspector -------------------------------------------------------------

function Field({ label, children, error }: { label: string; children: ReactNode; error?: string | null }) {
  return (
    <label className="flux-field">
      <span>{label}</span>
      {children}
      {error && <span className="flux-field-error">{error}</span>}
    </label>
  );
}

/** A text input that reports on blur or Enter (ids, names: one undo step each). */
function CommitInput({ value, onCommit, testId, readOnly, mono }: { value: string; onCommit: (v: string) => void; testId?: string; readOnly?: boolean; mono?: boolean }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  return (
    <input
      className={`flux-input${mono ? ' flux-input--mono' : ''}`}
      value={draft}
      readOnly={readOnly}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={() => draft !== value && onCommit(draft)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
        if (e.key === 'Escape') setDraft(value);
      }}
      data-testid={testId}
    />
  );
}

const OPTION_FIELDS: { key: keyof NodeOptions & string; label: string; integer?: boolean; nullable?: boolean }[] = [
  { key: 'retry_max_attempts', label: 'Retry attempts', integer: true },
  { key: 'retry_delay', label: 'Retry delay (s)' },
  { key: 'retry_backoff', label: 'Retry backoff (×)' },
  { key: 'timeout', label: 'Timeout (s, empty = none)', nullable: true },
];

function parseOption(text: string, integer?: boolean): number | undefined | 'invalid' {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) return 'invalid';
  return n;
}

export function NodeInspector({
  node,
  graph,
  task,
  tasks,
  problems,
  readOnly,
  onRename,
  onTask,
  onStart,
  onEnd,
  onOptions,
  onDelete,
}: {
  node: GraphNodeDef;
  graph: GraphDef;
  task: TaskInfo | undefined;
  tasks: TaskInfo[] | null;
  problems: readonly string[];
  readOnly: boolean;
  onRename: (to: string) => string | null;
  onTask: (task: string) => void;
  onStart: () => void;
  onEnd: (isEnd: boolean) => void;
  onOptions: (options: NodeOptions, field: string) => void;
  onDelete: () => void;
}) {
  const [renameError, setRenameError] = useState<string | null>(null);
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  useEffect(() => {
    setDrafts({});
    setRenameError(null);
  }, [node.id]);
  const fieldErrors: Record<string, string> = {};
  for (const f of OPTION_FIELDS) if (drafts[f.key] !== undefined && parseOption(drafts[f.key]!, f.integer) === 'invalid') fieldErrors[f.key] = f.integer ? 'A whole number, 0 or more.' : 'A number, 0 or more.';

  return (
    <aside className="flux-panel" data-testid="inspector" aria-label="Node">
      <h3>Node</h3>
      <Field label="Id" error={renameError}>
        <CommitInput value={node.id} readOnly={readOnly} mono testId="node-id-input" onCommit={(v) => setRenameError(onRename(v.trim()))} />
      </Field>
      <Field label="Task">
        {readOnly || !tasks ? (
          <div className="flux-input flux-input--mono" data-testid="node-task">{node.task}</div>
        ) : (
          <select className="flux-input flux-input--mono" value={node.task} onChange={(e) => onTask(e.target.value)} data-testid="node-task">
            {!tasks.some((t) => t.name === node.task) && <option value={node.task}>{node.task} (unknown)</option>}
            {tasks.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      {task?.doc && <p className="flux-muted" style={{ fontSize: 12, marginTop: -4 }}>{task.doc}</p>}
      {!readOnly && (
        <>
          <label className="flux-check">
            <input type="radio" checked={graph.start === node.id} onChange={onStart} data-testid="node-start-toggle" /> Start node
          </label>
          <label className="flux-check">
            <input type="checkbox" checked={graph.end.includes(node.id)} onChange={(e) => onEnd(e.target.checked)} data-testid="node-end-toggle" /> End node
          </label>
        </>
      )}
      <h3>Options</h3>
      {OPTION_FIELDS.map((f) => {
        const current = node.options[f.key];
        const value = drafts[f.key] ?? (current === undefined || current === null ? '' : String(current));
        const fallback = task?.options?.[f.key];
        return (
          <Field key={f.key} label={f.label} error={fieldErrors[f.key]}>
            <input
              className={`flux-input${fieldErrors[f.key] ? ' flux-input--invalid' : ''}`}
              inputMode="decimal"
              value={value}
              readOnly={readOnly}
              placeholder={fallback === undefined || fallback === null ? 'default' : `default: ${String(fallback)}`}
              data-testid={`option-${f.key}`}
              onChange={(e) => {
                const text = e.target.value;
                setDrafts((d) => ({ ...d, [f.key]: text }));
                const parsed = parseOption(text, f.integer);
                if (parsed === 'invalid') return;
                const next: NodeOptions = { ...node.options };
                if (parsed === undefined) delete next[f.key];
                else next[f.key] = parsed;
                onOptions(next, `${node.id}:${f.key}`);
              }}
            />
          </Field>
        );
      })}
      {problems.length > 0 && (
        <ul className="flux-errors" style={{ margin: '8px 0' }}>
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <button type="button" className="flux-button flux-button--danger" onClick={onDelete} data-testid="delete-selection">
          Delete node
        </button>
      )}
    </aside>
  );
}

export function EdgeInspector({
  edge,
  problems,
  readOnly,
  onCondition,
  onDelete,
}: {
  edge: GraphEdgeDef;
  problems: readonly string[];
  readOnly: boolean;
  onCondition: (condition: string) => void;
  onDelete: () => void;
}) {
  return (
    <aside className="flux-panel" data-testid="inspector" aria-label="Edge">
      <h3>Edge</h3>
      <p style={{ fontFamily: 'var(--flux-mono)' }}>
        {edge.source} → {edge.target}
      </p>
      <Field label="Condition (CEL over the upstream output, bound as result)">
        <textarea
          className={`flux-input${problems.length ? ' flux-input--invalid' : ''}`}
          value={edge.condition ?? ''}
          readOnly={readOnly}
          placeholder='always; e.g. result > 0 or result.status == "ok"'
          onChange={(e) => onCondition(e.target.value)}
          data-testid="condition-input"
          spellCheck={false}
        />
      </Field>
      {problems.length > 0 && (
        <ul className="flux-errors" style={{ margin: '0 0 8px' }} data-testid="condition-errors">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <button type="button" className="flux-button flux-button--danger" onClick={onDelete} data-testid="delete-selection">
          Delete edge
        </button>
      )}
    </aside>
  );
}

export function GraphInspector({
  graph,
  readOnly,
  onMeta,
  onStart,
}: {
  graph: GraphDef;
  readOnly: boolean;
  onMeta: (meta: { name?: string; description?: string }) => void;
  onStart: (id: string) => void;
}) {
  return (
    <aside className="flux-panel" data-testid="inspector" aria-label="Graph">
      <h3>Graph</h3>
      <Field label="Name (also the workflow's name)">
        <CommitInput value={graph.name} readOnly={readOnly} mono testId="graph-name-input" onCommit={(name) => onMeta({ name })} />
      </Field>
      <Field label="Description">
        <CommitInput value={graph.description} readOnly={readOnly} testId="graph-description-input" onCommit={(description) => onMeta({ description })} />
      </Field>
      <Field label="Start node">
        <select className="flux-input" value={graph.start} disabled={readOnly} onChange={(e) => onStart(e.target.value)} data-testid="graph-start-select">
          <option value="">—</option>
          {graph.nodes.map((n) => (
            <option key={n.id} value={n.id}>
              {n.id}
            </option>
          ))}
        </select>
      </Field>
      <Field label="End nodes">
        <div data-testid="graph-end-list">{graph.end.length ? graph.end.join(', ') : '—'}</div>
      </Field>
      <p className="flux-muted" style={{ fontSize: 12 }}>
        {graph.nodes.length} nodes · {graph.edges.length} edges. Select a node to set its options, or an edge to edit its condition.
      </p>
      {!readOnly && (
        <p className="flux-muted" style={{ fontSize: 12 }}>
          Keys: Delete removes the selection · Ctrl+Z / Ctrl+Shift+Z undo and redo · Ctrl+C / Ctrl+V copy and paste.
        </p>
      )}
    </aside>
  );
}

// ---- dialogs ---------------------------------------------------------------

function Dialog({ title, children, onClose, testId }: { title: string; children: ReactNode; onClose: () => void; testId: string }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="flux-dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="flux-dialog" role="dialog" aria-modal="true" aria-label={title} data-testid={testId}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

export function JsonDialog({ initial, readOnly, onImport, onClose }: { initial: string; readOnly: boolean; onImport: (text: string) => string | null; onClose: () => void }) {
  const [text, setText] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  return (
    <Dialog title={readOnly ? 'Graph as JSON' : 'Export or import JSON'} onClose={onClose} testId="json-dialog">
      <p className="flux-muted" style={{ margin: 0, fontSize: 13 }}>
        {readOnly ? 'The definition, as the API takes it.' : 'Copy this definition, or paste one and import it (one undo step).'}
      </p>
      <textarea className={`flux-input${error ? ' flux-input--invalid' : ''}`} value={text} readOnly={readOnly} onChange={(e) => setText(e.target.value)} spellCheck={false} data-testid="json-textarea" />
      {error && <span className="flux-field-error" data-testid="json-error">{error}</span>}
      <div className="flux-dialog__actions">
        <button
          type="button"
          className="flux-button"
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => setCopied(true), () => {});
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <span className="flux-spacer" />
        <button type="button" className="flux-button" onClick={onClose} data-testid="json-close">
          Close
        </button>
        {!readOnly && (
          <button type="button" className="flux-button flux-button--primary" onClick={() => setError(onImport(text))} data-testid="json-import">
            Import
          </button>
        )}
      </div>
    </Dialog>
  );
}

export function RunDialog({ onRun, onClose }: { onRun: (input: unknown) => Promise<string | null>; onClose: () => void }) {
  const [text, setText] = useState('{}');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    let input: unknown;
    try {
      input = text.trim() === '' ? null : JSON.parse(text);
    } catch (e) {
      setError(`The input is not valid JSON: ${(e as Error).message}`);
      return;
    }
    setBusy(true);
    const failure = await onRun(input);
    setBusy(false);
    if (failure) setError(failure);
  };
  return (
    <Dialog title="Run this graph" onClose={onClose} testId="run-dialog">
      <p className="flux-muted" style={{ margin: 0, fontSize: 13 }}>
        The input, as JSON, is passed to the start node.
      </p>
      <textarea className={`flux-input${error ? ' flux-input--invalid' : ''}`} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} data-testid="run-input" />
      {error && <span className="flux-field-error" data-testid="run-error">{error}</span>}
      <div className="flux-dialog__actions">
        <button type="button" className="flux-button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="flux-button flux-button--primary" disabled={busy} onClick={() => void submit()} data-testid="run-submit">
          {busy ? 'Starting…' : 'Run'}
        </button>
      </div>
    </Dialog>
  );
}
