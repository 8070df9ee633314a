// The editor's document: a graph definition plus where each node sits on the
// canvas. Every operation is a pure function that returns a new document (or
// the same one when nothing changed), so undo/redo is a list of documents and
// the React components stay thin.

import { layoutGraph, type XY } from '../graph/layout';
import type { GraphDef, GraphEdgeDef, GraphNodeDef, NodeOptions } from '../lib/types';

export interface EditorDoc {
  readonly graph: GraphDef;
  readonly positions: Readonly<Record<string, XY>>;
}

export interface EdgeRef {
  source: string;
  target: string;
}

export const EMPTY_GRAPH: GraphDef = { name: '', description: '', nodes: [], edges: [], start: '', end: [], version: 0 };

const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function isValidNodeId(id: string): boolean {
  return NODE_ID.test(id);
}

export function sameEdge(a: EdgeRef, b: EdgeRef): boolean {
  return a.source === b.source && a.target === b.target;
}

/** A fresh node id derived from a task name: "send_email", "send_email_2", ... */
export function uniqueNodeId(taken: Iterable<string>, base: string): string {
  const used = new Set(taken);
  const stem = (base.split('.').pop() ?? 'node').replace(/[^A-Za-z0-9_-]/g, '_').replace(/^(?=[0-9-])/, 'n') || 'node';
  if (!used.has(stem)) return stem;
  for (let i = 2; ; i++) {
    const candidate = `${stem}_${i}`;
    if (!used.has(candidate)) return candidate;
  }
}

function withGraph(doc: EditorDoc, graph: Partial<GraphDef>, positions?: Record<string, XY>): EditorDoc {
  return { graph: { ...doc.graph, ...graph }, positions: positions ?? doc.positions };
}

/** A document from a definition; nodes are drawn where its saved layout says, else where
 * `positions` says, else laid out. */
export function fromGraph(graph: GraphDef, fallback: Record<string, XY> = {}): EditorDoc {
  const normalized = normalizeGraph(graph);
  const positions: Record<string, XY> = { ...fallback, ...validLayout(graph.layout) };
  const missing = normalized.nodes.some((n) => !positions[n.id]);
  const laid = missing ? layoutGraph(normalized.nodes, normalized.edges) : {};
  const all: Record<string, XY> = {};
  for (const node of normalized.nodes) all[node.id] = positions[node.id] ?? laid[node.id] ?? { x: 0, y: 0 };
  return { graph: normalized, positions: all };
}

function validLayout(layout: unknown): Record<string, XY> {
  const out: Record<string, XY> = {};
  if (!layout || typeof layout !== 'object' || Array.isArray(layout)) return out;
  for (const [id, xy] of Object.entries(layout as Record<string, unknown>)) {
    const p = xy as { x?: unknown; y?: unknown } | null;
    if (p && typeof p.x === 'number' && typeof p.y === 'number' && Number.isFinite(p.x) && Number.isFinite(p.y)) out[id] = { x: p.x, y: p.y };
  }
  return out;
}

/** Fills defaults so the rest of the editor can rely on every field. */
export function normalizeGraph(graph: Partial<GraphDef>): GraphDef {
  return {
    name: graph.name ?? '',
    description: graph.description ?? '',
    nodes: (graph.nodes ?? []).map((n) => ({ id: String(n.id), task: String(n.task ?? ''), options: { ...(n.options ?? {}) } })),
    edges: (graph.edges ?? []).map((e) => ({ source: String(e.source), target: String(e.target), condition: e.condition ?? null })),
    start: graph.start ?? '',
    end: [...(graph.end ?? [])],
    version: graph.version ?? 0,
  };
}

/** The definition to send to the server. */
export function toGraph(doc: EditorDoc): GraphDef {
  const g = doc.graph;
  return {
    name: g.name.trim(),
    description: g.description,
    nodes: g.nodes.map((n) => ({ id: n.id, task: n.task, options: cleanOptions(n.options) })),
    edges: g.edges.map((e) => ({ source: e.source, target: e.target, condition: e.condition && e.condition.trim() ? e.condition.trim() : null })),
    start: g.start,
    end: [...g.end],
    version: g.version,
    layout: Object.fromEntries(
      g.nodes.filter((n) => doc.positions[n.id]).map((n) => {
        const p = doc.positions[n.id]!;
        return [n.id, { x: Math.round(p.x), y: Math.round(p.y) }];
      }),
    ),
  };
}

function cleanOptions(options: NodeOptions): NodeOptions {
  const out: NodeOptions = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined && value !== '') out[key] = value;
  return out;
}

export function setMeta(doc: EditorDoc, meta: { name?: string; description?: string }): EditorDoc {
  if ((meta.name ?? doc.graph.name) === doc.graph.name && (meta.description ?? doc.graph.description) === doc.graph.description) return doc;
  return withGraph(doc, meta);
}

export function addNode(
  doc: EditorDoc,
  task: string,
  position: XY,
  options: NodeOptions = {},
  id?: string,
): { doc: EditorDoc; id: string } {
  const nodeId = id && !doc.graph.nodes.some((n) => n.id === id) ? id : uniqueNodeId(doc.graph.nodes.map((n) => n.id), id ?? task);
  const node: GraphNodeDef = { id: nodeId, task, options: { ...options } };
  const first = doc.graph.nodes.length === 0;
  return {
    id: nodeId,
    doc: withGraph(doc, { nodes: [...doc.graph.nodes, node], start: first && !doc.graph.start ? nodeId : doc.graph.start }, { ...doc.positions, [nodeId]: position }),
  };
}

/** Removes nodes (with their edges) and edges; start and end forget removed nodes. */
export function removeElements(doc: EditorDoc, nodeIds: Iterable<string>, edges: Iterable<EdgeRef> = []): EditorDoc {
  const gone = new Set(nodeIds);
  const goneEdges = [...edges];
  const nodes = doc.graph.nodes.filter((n) => !gone.has(n.id));
  const keptEdges = doc.graph.edges.filter((e) => !gone.has(e.source) && !gone.has(e.target) && !goneEdges.some((r) => sameEdge(r, e)));
  if (nodes.length === doc.graph.nodes.length && keptEdges.length === doc.graph.edges.length) return doc;
  const positions = { ...doc.positions };
  for (const id of gone) delete positions[id];
  return withGraph(
    doc,
    { nodes, edges: keptEdges, start: gone.has(doc.graph.start) ? '' : doc.graph.start, end: doc.graph.end.filter((id) => !gone.has(id)) },
    positions,
  );
}

/** Adds an edge; refuses self loops, duplicates and unknown nodes (same doc back). */
export function connect(doc: EditorDoc, source: string, target: string, condition: string | null = null): EditorDoc {
  if (source === target) return doc;
  const ids = new Set(doc.graph.nodes.map((n) => n.id));
  if (!ids.has(source) || !ids.has(target)) return doc;
  if (doc.graph.edges.some((e) => e.source === source && e.target === target)) return doc;
  return withGraph(doc, { edges: [...doc.graph.edges, { source, target, condition }] });
}

export function setCondition(doc: EditorDoc, edge: EdgeRef, condition: string | null): EditorDoc {
  const value = condition === '' ? null : condition;
  let changed = false;
  const edges = doc.graph.edges.map((e) => {
    if (!sameEdge(e, edge) || e.condition === value) return e;
    changed = true;
    return { ...e, condition: value };
  });
  return changed ? withGraph(doc, { edges }) : doc;
}

export function moveNodes(doc: EditorDoc, moves: Record<string, XY>): EditorDoc {
  let changed = false;
  const positions = { ...doc.positions };
  for (const [id, xy] of Object.entries(moves)) {
    const old = positions[id];
    if (!old || old.x !== xy.x || old.y !== xy.y) {
      positions[id] = { x: xy.x, y: xy.y };
      changed = true;
    }
  }
  return changed ? { graph: doc.graph, positions } : doc;
}

export function setStart(doc: EditorDoc, id: string): EditorDoc {
  if (doc.graph.start === id || !doc.graph.nodes.some((n) => n.id === id)) return doc;
  return withGraph(doc, { start: id });
}

export function setEnd(doc: EditorDoc, id: string, isEnd: boolean): EditorDoc {
  const has = doc.graph.end.includes(id);
  if (has === isEnd || !doc.graph.nodes.some((n) => n.id === id)) return doc;
  return withGraph(doc, { end: isEnd ? [...doc.graph.end, id] : doc.graph.end.filter((e) => e !== id) });
}

export function setNodeOptions(doc: EditorDoc, id: string, options: NodeOptions): EditorDoc {
  return updateNode(doc, id, (n) => ({ ...n, options: cleanOptions(options) }));
}

export function setNodeTask(doc: EditorDoc, id: string, task: string): EditorDoc {
  return updateNode(doc, id, (n) => (n.task === task ? n : { ...n, task }));
}

function updateNode(doc: EditorDoc, id: string, update: (node: GraphNodeDef) => GraphNodeDef): EditorDoc {
  let changed = false;
  const nodes = doc.graph.nodes.map((n) => {
    if (n.id !== id) return n;
    const next = update(n);
    if (next === n || JSON.stringify(next) === JSON.stringify(n)) return n;
    changed = true;
    return next;
  });
  return changed ? withGraph(doc, { nodes }) : doc;
}

/** Renames a node everywhere; throws with a message for a person when it cannot. */
export function renameNode(doc: EditorDoc, from: string, to: string): EditorDoc {
  if (from === to) return doc;
  if (!isValidNodeId(to)) throw new Error('A node id starts with a letter or _ and has only letters, digits, _ and -.');
  if (doc.graph.nodes.some((n) => n.id === to)) throw new Error(`There is already a node "${to}".`);
  const swap = (id: string) => (id === from ? to : id);
  const positions: Record<string, XY> = {};
  for (const [id, xy] of Object.entries(doc.positions)) positions[swap(id)] = xy;
  return withGraph(
    doc,
    {
      nodes: doc.graph.nodes.map((n) => (n.id === from ? { ...n, id: to } : n)),
      edges: doc.graph.edges.map((e) => ({ ...e, source: swap(e.source), target: swap(e.target) })),
      start: swap(doc.graph.start),
      end: doc.graph.end.map(swap),
    },
    positions,
  );
}

export function autoLayout(doc: EditorDoc): EditorDoc {
  return moveNodes(doc, layoutGraph(doc.graph.nodes, doc.graph.edges));
}

/** Replaces the whole definition (import, reload), laying out what has no position. */
export function replaceGraph(doc: EditorDoc, graph: GraphDef): EditorDoc {
  const keep: Record<string, XY> = {};
  for (const node of graph.nodes) if (doc.positions[node.id]) keep[node.id] = doc.positions[node.id]!;
  return fromGraph(graph, keep);
}

// ---- copy and paste -----------------------------------------------------

/** What the clipboard carries: some nodes, the edges among them, and positions. */
export interface Fragment {
  kind: 'fluxweb/graph-fragment';
  nodes: GraphNodeDef[];
  edges: GraphEdgeDef[];
  positions: Record<string, XY>;
}

export function copySelection(doc: EditorDoc, nodeIds: Iterable<string>): Fragment | null {
  const ids = new Set(nodeIds);
  const nodes = doc.graph.nodes.filter((n) => ids.has(n.id));
  if (nodes.length === 0) return null;
  const positions: Record<string, XY> = {};
  for (const n of nodes) positions[n.id] = doc.positions[n.id] ?? { x: 0, y: 0 };
  return {
    kind: 'fluxweb/graph-fragment',
    nodes: structuredClone(nodes),
    edges: doc.graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map((e) => ({ ...e })),
    positions,
  };
}

/** Adds a fragment's nodes under fresh ids, shifted by `offset`; returns the new ids. */
export function pasteFragment(doc: EditorDoc, fragment: Fragment, offset: XY = { x: 40, y: 40 }): { doc: EditorDoc; ids: string[] } {
  const taken = new Set(doc.graph.nodes.map((n) => n.id));
  const rename = new Map<string, string>();
  const nodes: GraphNodeDef[] = [];
  const positions = { ...doc.positions };
  for (const node of fragment.nodes) {
    const id = uniqueNodeId(taken, node.id);
    taken.add(id);
    rename.set(node.id, id);
    nodes.push({ id, task: node.task, options: structuredClone(node.options ?? {}) });
    const at = fragment.positions[node.id] ?? { x: 0, y: 0 };
    positions[id] = { x: at.x + offset.x, y: at.y + offset.y };
  }
  const edges = fragment.edges
    .filter((e) => rename.has(e.source) && rename.has(e.target))
    .map((e) => ({ source: rename.get(e.source)!, target: rename.get(e.target)!, condition: e.condition ?? null }));
  return {
    ids: nodes.map((n) => n.id),
    doc: withGraph(doc, { nodes: [...doc.graph.nodes, ...nodes], edges: [...doc.graph.edges, ...edges] }, positions),
  };
}

/** Reads pasted text: a copied fragment, or a whole graph definition (pasted as a fragment). */
export function parseClipboard(text: string): Fragment | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (!data || typeof data !== 'object') return null;
  const record = data as Record<string, unknown>;
  if (!Array.isArray(record.nodes)) return null;
  try {
    const graph = checkGraphShape({ name: 'x', ...record });
    return {
      kind: 'fluxweb/graph-fragment',
      nodes: graph.nodes,
      edges: graph.edges,
      positions: (record.positions && typeof record.positions === 'object' ? record.positions : {}) as Record<string, XY>,
    };
  } catch {
    return null;
  }
}

// ---- JSON import and export ---------------------------------------------

export function exportJson(doc: EditorDoc): string {
  return JSON.stringify(toGraph(doc), null, 2);
}

/** Parses an imported definition; throws an Error whose message says what is wrong. */
export function parseGraphJson(text: string): GraphDef {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`This is not valid JSON: ${(error as Error).message}`);
  }
  return checkGraphShape(data);
}

function checkGraphShape(data: unknown): GraphDef {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('A graph definition is a JSON object.');
  const g = data as Record<string, unknown>;
  if (!Array.isArray(g.nodes)) throw new Error('"nodes" must be a list.');
  if (g.edges !== undefined && !Array.isArray(g.edges)) throw new Error('"edges" must be a list.');
  g.nodes.forEach((n, i) => {
    if (!n || typeof n !== 'object') throw new Error(`nodes[${i}] must be an object.`);
    const node = n as Record<string, unknown>;
    if (typeof node.id !== 'string' || !node.id) throw new Error(`nodes[${i}] needs an "id" string.`);
    if (typeof node.task !== 'string') throw new Error(`nodes[${i}] ("${node.id}") needs a "task" string.`);
    if (node.options !== undefined && (typeof node.options !== 'object' || node.options === null || Array.isArray(node.options)))
      throw new Error(`nodes[${i}].options must be an object.`);
  });
  ((g.edges ?? []) as unknown[]).forEach((e, i) => {
    if (!e || typeof e !== 'object') throw new Error(`edges[${i}] must be an object.`);
    const edge = e as Record<string, unknown>;
    if (typeof edge.source !== 'string' || typeof edge.target !== 'string') throw new Error(`edges[${i}] needs "source" and "target" strings.`);
    if (edge.condition !== undefined && edge.condition !== null && typeof edge.condition !== 'string')
      throw new Error(`edges[${i}].condition must be a string or null.`);
  });
  if (g.end !== undefined && (!Array.isArray(g.end) || g.end.some((x) => typeof x !== 'string'))) throw new Error('"end" must be a list of node ids.');
  if (g.start !== undefined && g.start !== null && typeof g.start !== 'string') throw new Error('"start" must be a node id.');
  if (g.name !== undefined && typeof g.name !== 'string') throw new Error('"name" must be a string.');
  return { ...normalizeGraph({ ...(g as Partial<GraphDef>), start: (g.start as string | null) ?? '' }), layout: validLayout(g.layout) };
}
