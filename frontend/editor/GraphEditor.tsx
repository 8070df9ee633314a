// The visual graph editor. A thin React shell around document.ts (edits),
// history.ts (undo/redo) and validate.ts (checks): it turns React Flow's
// gestures into document operations, talks to the API (validate, save, run)
// and switches to the live GraphView after Run.

import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type Node,
  type NodeChange,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { GraphView } from '../graph/GraphView';
import { edgeId, edgeTypes, nodeTypes, useMeasuredSizes, type FluxFlowEdge, type FluxFlowNode } from '../graph/canvas';
import { NODE_HEIGHT, NODE_WIDTH, type XY } from '../graph/layout';
import { ApiError } from '../lib/api';
import type { Execution, GraphDef, NodeOptions, TaskInfo } from '../lib/types';
import { createGraphApi } from './api';
import {
  addNode,
  autoLayout,
  connect,
  copySelection,
  exportJson,
  fromGraph,
  moveNodes,
  parseClipboard,
  parseGraphJson,
  pasteFragment,
  removeElements,
  renameNode,
  replaceGraph,
  sameEdge,
  setCondition,
  setEnd,
  setMeta,
  setNodeOptions,
  setNodeTask,
  setStart,
  toGraph,
  type EdgeRef,
  type EditorDoc,
  type Fragment,
} from './document';
import { canRedo, canUndo, createHistory, pushHistory, redo, replacePresent, undo, type History } from './history';
import { EdgeInspector, GraphInspector, JsonDialog, NodeInspector, Palette, RunDialog, TASK_MIME } from './panels';
import { describeTarget, edgeKey, indexProblems, mergeProblems, problemsFromServer, validateGraph, type Problem } from './validate';

export interface GraphEditorProps {
  graphId: number | null;
  definition: GraphDef;
  canEdit: boolean;
  /** Defaults to canEdit. */
  canRun?: boolean;
  apiBase?: string;
}

type ServerCheck = 'idle' | 'checking' | 'ok' | 'invalid' | 'unavailable';
type Banner = { kind: 'error' | 'info' | 'ok'; message: string; conflict?: boolean } | null;
interface Selection {
  nodes: string[];
  edges: EdgeRef[];
}
const NO_SELECTION: Selection = { nodes: [], edges: [] };

const positionsKey = (graphId: number) => `fluxweb.graph-positions.${graphId}`;

function loadPositions(graphId: number | null): Record<string, XY> {
  if (graphId === null) return {};
  try {
    return JSON.parse(localStorage.getItem(positionsKey(graphId)) ?? '{}') as Record<string, XY>;
  } catch {
    return {};
  }
}

function contentKey(doc: EditorDoc): string {
  return JSON.stringify({ ...toGraph(doc), version: 0 });
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function GraphEditor({ graphId: initialId, definition, canEdit, canRun = canEdit, apiBase = '/api' }: GraphEditorProps) {
  const api = useMemo(() => createGraphApi(apiBase), [apiBase]);
  const flow = useReactFlow<FluxFlowNode, FluxFlowEdge>();
  const [history, setHistory] = useState<History<EditorDoc>>(() => createHistory(fromGraph(definition, loadPositions(initialId))));
  const doc = history.present;
  const [graphId, setGraphId] = useState(initialId);
  const [baseVersion, setBaseVersion] = useState(definition.version ?? 0);
  const [savedKey, setSavedKey] = useState(() => (initialId === null ? '' : contentKey(history.present)));
  const [selection, setSelection] = useState<Selection>(NO_SELECTION);
  const [drag, setDrag] = useState<Record<string, XY>>({});
  const [tasks, setTasks] = useState<TaskInfo[] | null>(null);
  const [tasksError, setTasksError] = useState<string | null>(null);
  const [serverProblems, setServerProblems] = useState<Problem[]>([]);
  const [serverCheck, setServerCheck] = useState<ServerCheck>('idle');
  const [banner, setBanner] = useState<Banner>(null);
  const [dialog, setDialog] = useState<'json' | 'run' | null>(null);
  const [saving, setSaving] = useState(false);
  const [live, setLive] = useState<{ execution: Execution; graph: GraphDef } | null>(null);
  const clipboard = useRef<Fragment | null>(null);
  const lastEdit = useRef<{ key: string; at: number } | null>(null);
  const pastePending = useRef(false);
  const canvasRef = useRef<HTMLDivElement>(null);
  const { sizes, version: sizesVersion, onSizeChanges } = useMeasuredSizes();

  const dirty = contentKey(doc) !== savedKey;

  /** Applies an edit; edits sharing a `coalesce` key within 1.5 s make one undo step. */
  const edit = useCallback((update: (doc: EditorDoc) => EditorDoc, coalesce?: string) => {
    setHistory((h) => {
      const next = update(h.present);
      if (next === h.present) return h;
      const now = Date.now();
      const same = coalesce && lastEdit.current?.key === coalesce && now - lastEdit.current.at < 1500;
      lastEdit.current = coalesce ? { key: coalesce, at: now } : null;
      return same ? replacePresent(h, next) : pushHistory(h, next);
    });
  }, []);

  // -- data: tasks, validation, positions -----------------------------------

  useEffect(() => {
    let cancelled = false;
    api.listTasks().then(
      (items) => !cancelled && setTasks(items),
      (e: Error) => !cancelled && setTasksError(`Could not load the tasks: ${e.message}`),
    );
    return () => {
      cancelled = true;
    };
  }, [api]);

  const taskNames = useMemo(() => (tasks ? new Set(tasks.map((t) => t.name)) : null), [tasks]);
  const clientProblems = useMemo(() => validateGraph(doc.graph, taskNames), [doc.graph, taskNames]);
  const problems = useMemo(() => mergeProblems(clientProblems, serverProblems), [clientProblems, serverProblems]);
  const problemIndex = useMemo(() => indexProblems(problems), [problems]);

  useEffect(() => {
    if (!canEdit || live) return;
    const controller = new AbortController();
    setServerCheck('checking');
    const timer = setTimeout(() => {
      api.validate(toGraph({ graph: doc.graph, positions: {} }), controller.signal).then(
        () => {
          setServerProblems([]);
          setServerCheck('ok');
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          if (error instanceof ApiError && error.status === 422) {
            setServerProblems(problemsFromServer(error.body));
            setServerCheck('invalid');
          } else {
            setServerCheck('unavailable');
          }
        },
      );
    }, 350);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, doc.graph, canEdit, live]);

  useEffect(() => {
    if (graphId === null) return;
    try {
      localStorage.setItem(positionsKey(graphId), JSON.stringify(doc.positions));
    } catch {
      // Storage full or disabled: the saved layout is what counts (this only keeps
      // positions for graphs saved before layouts were, and across a reload).
    }
  }, [graphId, doc.positions]);

  useEffect(() => {
    if (!dirty || !canEdit) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty, canEdit]);

  // -- commands ---------------------------------------------------------------

  const doUndo = useCallback(() => setHistory(undo), []);
  const doRedo = useCallback(() => setHistory(redo), []);

  const deleteSelection = useCallback(() => {
    if (!canEdit) return;
    edit((d) => removeElements(d, selection.nodes, selection.edges));
    setSelection(NO_SELECTION);
  }, [canEdit, edit, selection]);

  const copy = useCallback((): Fragment | null => {
    const fragment = copySelection(doc, selection.nodes);
    if (fragment) clipboard.current = fragment;
    return fragment;
  }, [doc, selection.nodes]);

  const paste = useCallback(
    (fragment: Fragment | null) => {
      if (!canEdit || !fragment) return;
      let ids: string[] = [];
      edit((d) => {
        const result = pasteFragment(d, fragment, { x: 40, y: 40 });
        ids = result.ids;
        return result.doc;
      });
      // Select what was pasted (ids are known once the edit ran).
      queueMicrotask(() => setSelection({ nodes: ids, edges: [] }));
      clipboard.current = { ...fragment, positions: Object.fromEntries(Object.entries(fragment.positions).map(([k, v]) => [k, { x: v.x + 40, y: v.y + 40 }])) };
    },
    [canEdit, edit],
  );

  const addTaskAt = useCallback(
    (task: TaskInfo | string, position: XY) => {
      if (!canEdit) return;
      const name = typeof task === 'string' ? task : task.name;
      let id = '';
      edit((d) => {
        const result = addNode(d, name, position);
        id = result.id;
        return result.doc;
      });
      queueMicrotask(() => setSelection({ nodes: [id], edges: [] }));
    },
    [canEdit, edit],
  );

  const addTaskInView = useCallback(
    (task: TaskInfo) => {
      const rect = canvasRef.current?.getBoundingClientRect();
      const center = rect ? flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }) : { x: 0, y: 0 };
      const jitter = (doc.graph.nodes.length % 5) * 24;
      addTaskAt(task, { x: Math.round(center.x - NODE_WIDTH / 2 + jitter), y: Math.round(center.y - NODE_HEIGHT / 2 + jitter) });
    },
    [addTaskAt, doc.graph.nodes.length, flow],
  );

  const layout = useCallback(() => {
    edit(autoLayout);
    requestAnimationFrame(() => void flow.fitView({ padding: 0.15, duration: 200 }));
  }, [edit, flow]);

  const save = useCallback(async () => {
    if (!canEdit || saving) return;
    const blocking = clientProblems.length;
    if (blocking) {
      setBanner({ kind: 'error', message: `Fix the ${blocking === 1 ? 'problem' : `${blocking} problems`} shown on the graph before saving.` });
      return;
    }
    setSaving(true);
    const body = { ...toGraph(doc), version: baseVersion };
    try {
      const saved = await api.save(graphId, body);
      setGraphId(saved.id);
      setBaseVersion(saved.version);
      setSavedKey(contentKey(doc));
      setBanner({ kind: 'ok', message: `Saved as version ${saved.version}.` });
      if (graphId === null && saved.id !== undefined && !location.pathname.includes(`/graphs/${saved.id}/`)) {
        window.history.replaceState(null, '', `/graphs/${saved.id}/edit/`);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        setBanner({
          kind: 'error',
          conflict: true,
          message: 'Someone else saved this graph after you opened it. Your changes are not saved. Reload their version (your edits stay one undo away), or export yours as JSON first.',
        });
      } else if (error instanceof ApiError && error.status === 422) {
        setServerProblems(problemsFromServer(error.body));
        setBanner({ kind: 'error', message: error.message || 'The server found problems in this graph.' });
      } else {
        setBanner({ kind: 'error', message: `Not saved: ${(error as Error).message}` });
      }
    } finally {
      setSaving(false);
    }
  }, [api, baseVersion, canEdit, clientProblems.length, doc, graphId, saving]);

  const reload = useCallback(async () => {
    if (graphId === null) return;
    try {
      const fresh = await api.get(graphId);
      const { id: _id, ...graph } = fresh;
      void _id;
      let next: EditorDoc | null = null;
      setHistory((h) => {
        next = replaceGraph(h.present, graph as GraphDef);
        return pushHistory(h, next);
      });
      setBaseVersion(fresh.version);
      queueMicrotask(() => next && setSavedKey(contentKey(next)));
      setSelection(NO_SELECTION);
      setBanner({ kind: 'info', message: `Loaded version ${fresh.version}. Undo brings your edits back.` });
    } catch (error) {
      setBanner({ kind: 'error', message: `Could not reload: ${(error as Error).message}` });
    }
  }, [api, graphId]);

  const run = useCallback(
    async (input: unknown): Promise<string | null> => {
      if (graphId === null) return 'Save the graph first.';
      try {
        const execution = await api.run(graphId, input);
        setDialog(null);
        setSelection(NO_SELECTION);
        setLive({ execution, graph: toGraph(doc) });
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    },
    [api, doc, graphId],
  );

  const importJson = useCallback(
    (text: string): string | null => {
      try {
        const graph = parseGraphJson(text);
        edit((d) => replaceGraph(d, { ...graph, version: d.graph.version }));
        setSelection(NO_SELECTION);
        setDialog(null);
        requestAnimationFrame(() => void flow.fitView({ padding: 0.15 }));
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    },
    [edit, flow],
  );

  // -- keyboard and clipboard -------------------------------------------------

  useEffect(() => {
    if (live) return;
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || dialog) return;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === 'z' && !e.shiftKey && canEdit) {
        e.preventDefault();
        doUndo();
      } else if (mod && ((key === 'z' && e.shiftKey) || key === 'y') && canEdit) {
        e.preventDefault();
        doRedo();
      } else if (mod && key === 'c') {
        copy();
      } else if (mod && key === 'v' && canEdit) {
        // Prefer the paste event (it carries JSON from other tabs); fall back to our clipboard.
        pastePending.current = true;
        setTimeout(() => {
          if (pastePending.current) paste(clipboard.current);
          pastePending.current = false;
        }, 60);
      } else if (mod && key === 'a') {
        e.preventDefault();
        setSelection({ nodes: doc.graph.nodes.map((n) => n.id), edges: [] });
      } else if ((e.key === 'Delete' || e.key === 'Backspace') && canEdit) {
        e.preventDefault();
        deleteSelection();
      } else if (e.key === 'Escape') {
        setSelection(NO_SELECTION);
      }
    };
    const onCopy = (e: ClipboardEvent) => {
      if (isTyping(e.target) || dialog) return;
      const fragment = copy();
      if (fragment && e.clipboardData) {
        e.clipboardData.setData('text/plain', JSON.stringify(fragment, null, 2));
        e.preventDefault();
      }
    };
    const onPaste = (e: ClipboardEvent) => {
      if (isTyping(e.target) || dialog || !canEdit) return;
      pastePending.current = false;
      const text = e.clipboardData?.getData('text/plain') ?? '';
      const fragment = (text && parseClipboard(text)) || clipboard.current;
      if (fragment) {
        e.preventDefault();
        paste(fragment);
      }
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('copy', onCopy);
    document.addEventListener('paste', onPaste);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('paste', onPaste);
    };
  }, [canEdit, copy, deleteSelection, dialog, doRedo, doUndo, doc.graph.nodes, live, paste]);

  // -- React Flow wiring ------------------------------------------------------

  const selectedNodes = useMemo(() => new Set(selection.nodes), [selection.nodes]);
  const selectedEdges = useMemo(() => new Set(selection.edges.map((e) => edgeKey(e.source, e.target))), [selection.edges]);
  const endSet = useMemo(() => new Set(doc.graph.end), [doc.graph.end]);
  const nodeCache = useRef(new Map<string, { key: string; node: FluxFlowNode }>());

  const nodes = useMemo(() => {
    return doc.graph.nodes.map((def) => {
      const position = drag[def.id] ?? doc.positions[def.id] ?? { x: 0, y: 0 };
      const errors = problemIndex.nodes.get(def.id);
      const size = sizes.get(def.id);
      const selected = selectedNodes.has(def.id);
      const isStart = doc.graph.start === def.id;
      const isEnd = endSet.has(def.id);
      const key = [def.task, position.x, position.y, errors?.join('|') ?? '', size?.width, size?.height, selected, isStart, isEnd, canEdit].join('§');
      const cached = nodeCache.current.get(def.id);
      if (cached && cached.key === key) return cached.node;
      const node: FluxFlowNode = {
        id: def.id,
        type: 'flux',
        position,
        initialWidth: NODE_WIDTH,
        initialHeight: NODE_HEIGHT,
        measured: size,
        selected,
        draggable: canEdit,
        connectable: canEdit,
        data: { nodeId: def.id, task: def.task, isStart, isEnd, errors },
      };
      nodeCache.current.set(def.id, { key, node });
      return node;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- sizes is mutated in place; sizesVersion tracks it
  }, [doc, drag, problemIndex, sizesVersion, selectedNodes, endSet, canEdit]);

  const edges = useMemo<FluxFlowEdge[]>(
    () =>
      doc.graph.edges.map((e) => ({
        id: edgeId(e.source, e.target),
        source: e.source,
        target: e.target,
        type: 'condition',
        selected: selectedEdges.has(edgeKey(e.source, e.target)),
        data: { condition: e.condition, errors: problemIndex.edges.get(edgeKey(e.source, e.target)) },
        domAttributes: { 'data-testid': `edge-${e.source}-${e.target}` } as FluxFlowEdge['domAttributes'],
      })),
    [doc.graph.edges, problemIndex, selectedEdges],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<FluxFlowNode>[]) => {
      onSizeChanges(changes as NodeChange[]);
      const moves: Record<string, XY> = {};
      let selectionChanged = false;
      const nextNodes = new Set(selection.nodes);
      for (const change of changes) {
        if (change.type === 'position' && change.position && canEdit) moves[change.id] = change.position;
        if (change.type === 'select') {
          selectionChanged = true;
          if (change.selected) nextNodes.add(change.id);
          else nextNodes.delete(change.id);
        }
      }
      if (Object.keys(moves).length) setDrag((d) => ({ ...d, ...moves }));
      if (selectionChanged) setSelection((s) => ({ ...s, nodes: [...nextNodes] }));
    },
    [canEdit, onSizeChanges, selection.nodes],
  );

  const onNodeDragStop = useCallback(
    (_: unknown, __: Node, dragged: Node[]) => {
      const moves: Record<string, XY> = {};
      for (const n of dragged) moves[n.id] = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
      edit((d) => moveNodes(d, moves));
      setDrag({});
    },
    [edit],
  );

  const onEdgesChange = useCallback((changes: EdgeChange<FluxFlowEdge>[]) => {
    const selects = changes.filter((c) => c.type === 'select');
    if (!selects.length) return;
    setSelection((s) => {
      let edgesSel = [...s.edges];
      for (const c of selects) {
        const [source, target] = c.id.split('->') as [string, string];
        edgesSel = edgesSel.filter((e) => !(e.source === source && e.target === target));
        if (c.selected) edgesSel.push({ source, target });
      }
      return { ...s, edges: edgesSel };
    });
  }, []);

  const onConnect = useCallback((c: Connection) => c.source && c.target && edit((d) => connect(d, c.source, c.target)), [edit]);

  const onDragOver = useCallback((e: DragEvent) => {
    if (!e.dataTransfer.types.includes(TASK_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const task = e.dataTransfer.getData(TASK_MIME);
      if (!task) return;
      e.preventDefault();
      const at = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      addTaskAt(task, { x: Math.round(at.x - NODE_WIDTH / 2), y: Math.round(at.y - NODE_HEIGHT / 2) });
    },
    [addTaskAt, flow],
  );

  const selectProblem = useCallback(
    (p: Problem) => {
      if (p.target.kind === 'node') {
        setSelection({ nodes: [p.target.id], edges: [] });
        const node = flow.getNode(p.target.id);
        if (node) void flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + NODE_HEIGHT / 2, { duration: 200, zoom: flow.getZoom() });
      } else if (p.target.kind === 'edge') setSelection({ nodes: [], edges: [{ source: p.target.source, target: p.target.target }] });
    },
    [flow],
  );

  // -- rendering --------------------------------------------------------------

  if (live) {
    const url = `/executions/${encodeURIComponent(String(live.execution.id))}/`;
    return (
      <div className="flux-editor" data-testid="graph-editor" data-mode="live">
        <div className="flux-banner flux-banner--info">
          Running <strong>{live.graph.name}</strong> as execution{' '}
          <a href={url} data-testid="execution-link">
            {String(live.execution.id)}
          </a>
          <span className="flux-spacer" />
          <button type="button" className="flux-button" onClick={() => setLive(null)} data-testid="back-to-editor">
            Back to the editor
          </button>
        </div>
        <div className="flux-editor__body">
          <GraphView graph={live.graph} executionId={String(live.execution.id)} events={[]} apiBase={apiBase} executionUrl={url} />
        </div>
      </div>
    );
  }

  const oneNode = selection.nodes.length === 1 && selection.edges.length === 0 ? doc.graph.nodes.find((n) => n.id === selection.nodes[0]) : undefined;
  const oneEdge = selection.edges.length === 1 && selection.nodes.length === 0 ? doc.graph.edges.find((e) => sameEdge(e, selection.edges[0]!)) : undefined;
  const checkLabel =
    clientProblems.length > 0 || serverCheck === 'invalid'
      ? `${problems.length} problem${problems.length === 1 ? '' : 's'}`
      : serverCheck === 'checking'
        ? 'checking…'
        : serverCheck === 'unavailable'
          ? 'valid here (server check unavailable)'
          : 'valid';
  const valid = problems.length === 0;

  return (
    <div className="flux-editor" data-testid="graph-editor" data-mode={canEdit ? 'edit' : 'read-only'} data-dirty={dirty || undefined}>
      <div className="flux-toolbar" role="toolbar" aria-label="Graph editor">
        <strong className="flux-graph__title" data-testid="graph-title">
          {doc.graph.name || 'Untitled graph'}
        </strong>
        <span className="flux-muted" data-testid="graph-version">
          {graphId === null ? 'not saved yet' : `version ${baseVersion}`}
          {dirty && canEdit ? ' · unsaved changes' : ''}
        </span>
        {!canEdit && <span className="flux-live">read-only</span>}
        <span className="flux-spacer" />
        {canEdit && (
          <span className="flux-toolbar__group">
            <button type="button" className="flux-button" onClick={doUndo} disabled={!canUndo(history)} data-testid="undo-button" title="Undo (Ctrl+Z)">
              Undo
            </button>
            <button type="button" className="flux-button" onClick={doRedo} disabled={!canRedo(history)} data-testid="redo-button" title="Redo (Ctrl+Shift+Z)">
              Redo
            </button>
          </span>
        )}
        <button type="button" className="flux-button" onClick={layout} disabled={!canEdit} data-testid="layout-button" title="Arrange the nodes top to bottom">
          Auto-layout
        </button>
        <button type="button" className="flux-button" onClick={() => setDialog('json')} data-testid="json-button">
          JSON
        </button>
        {canEdit && (
          <>
            <span className="flux-toolbar__sep" />
            <span
              className={`flux-validation flux-validation--${valid ? (serverCheck === 'checking' ? 'checking' : 'ok') : 'error'}`}
              data-testid="validation-status"
              data-valid={valid ? 'true' : 'false'}
              data-checking={serverCheck === 'checking' ? 'true' : undefined}
            >
              {checkLabel}
            </span>
            <button type="button" className="flux-button flux-button--primary" onClick={() => void save()} disabled={saving} data-testid="save-button">
              {saving ? 'Saving…' : 'Save'}
            </button>
          </>
        )}
        {canRun && (
          <button
            type="button"
            className="flux-button"
            onClick={() => setDialog('run')}
            disabled={graphId === null || dirty}
            title={graphId === null || dirty ? 'Save before running' : 'Run this graph'}
            data-testid="run-button"
          >
            Run…
          </button>
        )}
      </div>
      {banner && (
        <div className={`flux-banner flux-banner--${banner.kind}`} data-testid={banner.conflict ? 'conflict-banner' : 'banner'} role={banner.kind === 'error' ? 'alert' : 'status'}>
          <span>{banner.message}</span>
          <span className="flux-spacer" />
          {banner.conflict && (
            <button type="button" className="flux-button" onClick={() => void reload()} data-testid="reload-button">
              Reload their version
            </button>
          )}
          {banner.conflict && (
            <button type="button" className="flux-button" onClick={() => setDialog('json')}>
              Export mine
            </button>
          )}
          <button type="button" className="flux-button flux-button--ghost" onClick={() => setBanner(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      <div className="flux-editor__body">
        {canEdit && <Palette tasks={tasks} error={tasksError} onAdd={addTaskInView} />}
        <div className="flux-editor__canvas" ref={canvasRef} onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas">
          <ReactFlow<FluxFlowNode, FluxFlowEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            edgeTypes={edgeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onNodeDragStop={onNodeDragStop}
            onConnect={onConnect}
            isValidConnection={(c) => c.source !== c.target}
            onPaneClick={() => setSelection(NO_SELECTION)}
            nodesDraggable={canEdit}
            nodesConnectable={canEdit}
            elementsSelectable
            deleteKeyCode={null}
            selectionKeyCode="Shift"
            multiSelectionKeyCode={['Meta', 'Control']}
            onlyRenderVisibleElements
            fitView
            fitViewOptions={{ padding: 0.2, maxZoom: 1.1 }}
            minZoom={0.05}
            maxZoom={2.5}
            snapToGrid
            snapGrid={[10, 10]}
            colorMode="system"
          >
            <Background gap={20} size={1} />
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable style={{ width: 150, height: 100 }} />
          </ReactFlow>
        </div>
        {oneNode ? (
          <NodeInspector
            node={oneNode}
            graph={doc.graph}
            task={tasks?.find((t) => t.name === oneNode.task)}
            tasks={tasks}
            onTask={(task) => edit((d) => setNodeTask(d, oneNode.id, task))}
            problems={problemIndex.nodes.get(oneNode.id) ?? []}
            readOnly={!canEdit}
            onRename={(to) => {
              try {
                const next = renameNode(doc, oneNode.id, to);
                edit(() => next);
                setSelection({ nodes: [to], edges: [] });
                return null;
              } catch (error) {
                return (error as Error).message;
              }
            }}
            onStart={() => edit((d) => setStart(d, oneNode.id))}
            onEnd={(isEnd) => edit((d) => setEnd(d, oneNode.id, isEnd))}
            onOptions={(options: NodeOptions, field) => edit((d) => setNodeOptions(d, oneNode.id, options), `options:${field}`)}
            onDelete={deleteSelection}
          />
        ) : oneEdge ? (
          <EdgeInspector
            edge={oneEdge}
            problems={problemIndex.edges.get(edgeKey(oneEdge.source, oneEdge.target)) ?? []}
            readOnly={!canEdit}
            onCondition={(condition) => edit((d) => setCondition(d, oneEdge, condition), `condition:${edgeKey(oneEdge.source, oneEdge.target)}`)}
            onDelete={deleteSelection}
          />
        ) : (
          <GraphInspector graph={doc.graph} readOnly={!canEdit} onMeta={(meta) => edit((d) => setMeta(d, meta))} onStart={(id) => edit((d) => setStart(d, id))} />
        )}
      </div>
      {canEdit && problems.length > 0 && (
        <ul className="flux-errors" data-testid="problem-list">
          {problems.map((p, i) => (
            <li key={i} onClick={() => selectProblem(p)} data-testid="problem" data-code={p.code} data-origin={p.origin}>
              {describeTarget(p.target)}: {p.message}
            </li>
          ))}
        </ul>
      )}
      {dialog === 'json' && <JsonDialog initial={exportJson(doc)} readOnly={!canEdit} onImport={importJson} onClose={() => setDialog(null)} />}
      {dialog === 'run' && <RunDialog onRun={run} onClose={() => setDialog(null)} />}
    </div>
  );
}
