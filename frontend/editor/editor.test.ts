import { describe, expect, it } from 'vitest';
import type { GraphDef } from '../lib/types';
import {
  EMPTY_GRAPH,
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
  setCondition,
  setEnd,
  setMeta,
  setNodeOptions,
  setStart,
  toGraph,
  uniqueNodeId,
  type EditorDoc,
} from './document';
import { canRedo, canUndo, createHistory, pushHistory, redo, undo } from './history';
import { conditionSyntaxError, indexProblems, mergeProblems, problemsFromServer, validateGraph } from './validate';

const at = { x: 0, y: 0 };

/** fetch -> check -> (ok) notify, the three-node graph the browser tests draw. */
function threeNodes(): EditorDoc {
  let doc = fromGraph({ ...EMPTY_GRAPH, name: 'demo' });
  doc = addNode(doc, 'fetch', at).doc;
  doc = addNode(doc, 'check', { x: 0, y: 100 }).doc;
  doc = addNode(doc, 'notify', { x: 0, y: 200 }).doc;
  doc = connect(doc, 'fetch', 'check');
  doc = connect(doc, 'check', 'notify', 'result > 0');
  return setEnd(doc, 'notify', true);
}

const tasks = new Set(['fetch', 'check', 'notify']);

describe('document: nodes and edges', () => {
  it('adds nodes with ids from their task, and makes the first one the start', () => {
    let doc = fromGraph(EMPTY_GRAPH);
    const a = addNode(doc, 'app.tasks.send_email', { x: 5, y: 6 });
    doc = a.doc;
    expect(a.id).toBe('send_email');
    expect(doc.graph.start).toBe('send_email');
    const b = addNode(doc, 'app.tasks.send_email', at, { timeout: 5 });
    expect(b.id).toBe('send_email_2');
    expect(b.doc.graph.start).toBe('send_email');
    expect(b.doc.graph.nodes[1]).toEqual({ id: 'send_email_2', task: 'app.tasks.send_email', options: { timeout: 5 } });
    expect(b.doc.positions.send_email).toEqual({ x: 5, y: 6 });
  });

  it('makes node ids that are valid identifiers', () => {
    expect(uniqueNodeId([], '9lives')).toBe('n9lives');
    expect(uniqueNodeId(['a', 'a_2'], 'a')).toBe('a_3');
    expect(uniqueNodeId([], 'my task!')).toBe('my_task_');
  });

  it('connects nodes once, never to themselves or to unknown nodes', () => {
    const doc = threeNodes();
    expect(doc.graph.edges).toEqual([
      { source: 'fetch', target: 'check', condition: null },
      { source: 'check', target: 'notify', condition: 'result > 0' },
    ]);
    expect(connect(doc, 'fetch', 'check')).toBe(doc);
    expect(connect(doc, 'fetch', 'fetch')).toBe(doc);
    expect(connect(doc, 'fetch', 'ghost')).toBe(doc);
  });

  it('removes nodes with their edges and forgets them as start and end', () => {
    const doc = removeElements(threeNodes(), ['fetch', 'notify']);
    expect(doc.graph.nodes.map((n) => n.id)).toEqual(['check']);
    expect(doc.graph.edges).toEqual([]);
    expect(doc.graph.start).toBe('');
    expect(doc.graph.end).toEqual([]);
    expect(doc.positions).toEqual({ check: { x: 0, y: 100 } });
  });

  it('removes single edges', () => {
    const doc = removeElements(threeNodes(), [], [{ source: 'check', target: 'notify' }]);
    expect(doc.graph.edges).toHaveLength(1);
    expect(removeElements(doc, [], [{ source: 'x', target: 'y' }])).toBe(doc);
  });

  it('edits conditions; an empty condition is none', () => {
    let doc = setCondition(threeNodes(), { source: 'fetch', target: 'check' }, 'result.status == "ok"');
    expect(doc.graph.edges[0]!.condition).toBe('result.status == "ok"');
    doc = setCondition(doc, { source: 'fetch', target: 'check' }, '');
    expect(doc.graph.edges[0]!.condition).toBeNull();
    expect(setCondition(doc, { source: 'fetch', target: 'check' }, null)).toBe(doc);
  });

  it('sets the start node and end nodes', () => {
    let doc = setStart(threeNodes(), 'check');
    expect(doc.graph.start).toBe('check');
    expect(setStart(doc, 'ghost')).toBe(doc);
    doc = setEnd(doc, 'check', true);
    expect(doc.graph.end).toEqual(['notify', 'check']);
    doc = setEnd(doc, 'notify', false);
    expect(doc.graph.end).toEqual(['check']);
    expect(setEnd(doc, 'check', true)).toBe(doc);
  });

  it('sets per-node options and drops blank ones', () => {
    const doc = setNodeOptions(threeNodes(), 'check', { retry_max_attempts: 3, retry_delay: 1.5, timeout: undefined, retry_backoff: 2 });
    expect(doc.graph.nodes[1]!.options).toEqual({ retry_max_attempts: 3, retry_delay: 1.5, retry_backoff: 2 });
    expect(setNodeOptions(doc, 'check', { retry_max_attempts: 3, retry_delay: 1.5, retry_backoff: 2 })).toBe(doc);
  });

  it('renames a node everywhere, and refuses bad or taken ids', () => {
    const doc = renameNode(setStart(threeNodes(), 'check'), 'check', 'verify');
    expect(doc.graph.start).toBe('verify');
    expect(doc.graph.edges.map((e) => `${e.source}>${e.target}`)).toEqual(['fetch>verify', 'verify>notify']);
    expect(doc.positions.verify).toEqual({ x: 0, y: 100 });
    expect(() => renameNode(doc, 'verify', 'fetch')).toThrow(/already/);
    expect(() => renameNode(doc, 'verify', '1 bad')).toThrow(/starts with a letter/);
  });

  it('moves nodes and lays them out top to bottom', () => {
    const doc = threeNodes();
    expect(moveNodes(doc, { fetch: { x: 0, y: 0 } })).toBe(doc);
    const moved = moveNodes(doc, { fetch: { x: 300, y: 10 } });
    expect(moved.positions.fetch).toEqual({ x: 300, y: 10 });
    const laid = autoLayout(moved);
    expect(laid.positions.fetch!.y).toBeLessThan(laid.positions.check!.y);
    expect(laid.positions.check!.y).toBeLessThan(laid.positions.notify!.y);
  });

  it('edits the name and description', () => {
    const doc = threeNodes();
    expect(setMeta(doc, { name: 'demo' })).toBe(doc);
    expect(setMeta(doc, { description: 'Hi' }).graph.description).toBe('Hi');
  });
});

describe('document: serialization', () => {
  it('serializes to the GRAPH shape the API takes', () => {
    const doc = setCondition(setMeta(threeNodes(), { name: '  demo  ' }), { source: 'fetch', target: 'check' }, '   ');
    const { layout, ...definition } = toGraph(doc);
    expect(Object.keys(layout!)).toEqual(['fetch', 'check', 'notify']);
    expect(definition).toEqual({
      name: 'demo',
      description: '',
      nodes: [
        { id: 'fetch', task: 'fetch', options: {} },
        { id: 'check', task: 'check', options: {} },
        { id: 'notify', task: 'notify', options: {} },
      ],
      edges: [
        { source: 'fetch', target: 'check', condition: null },
        { source: 'check', target: 'notify', condition: 'result > 0' },
      ],
      start: 'fetch',
      end: ['notify'],
      version: 0,
    });
  });

  it('round-trips through exported JSON', () => {
    const doc = threeNodes();
    expect(parseGraphJson(exportJson(doc))).toEqual(toGraph(doc));
  });

  it('lays out a loaded definition that has no positions', () => {
    const { layout: _saved, ...graph } = toGraph(threeNodes());
    const doc = fromGraph(graph);
    expect(Object.keys(doc.positions).sort()).toEqual(['check', 'fetch', 'notify']);
    expect(doc.positions.fetch!.y).toBeLessThan(doc.positions.notify!.y);
  });

  it('saves where nodes are drawn, rounded, and draws them there when loaded', () => {
    const moved = moveNodes(threeNodes(), { check: { x: 310.6, y: -20.2 } });
    const graph = toGraph(moved);
    expect(graph.layout!.check).toEqual({ x: 311, y: -20 });
    expect(JSON.stringify(graph)).not.toEqual(JSON.stringify(toGraph(threeNodes()))); // a move is a change to save
    const loaded = fromGraph(graph, { check: { x: 1, y: 1 } }); // the saved layout wins over a local one
    expect(loaded.positions.check).toEqual({ x: 311, y: -20 });
    expect(parseGraphJson(exportJson(moved)).layout!.check).toEqual({ x: 311, y: -20 });
  });

  it('keeps positions of nodes that survive a replace', () => {
    const doc = moveNodes(threeNodes(), { fetch: { x: 999, y: 1 } });
    const next = replaceGraph(doc, { ...toGraph(doc), version: 4 });
    expect(next.positions.fetch).toEqual({ x: 999, y: 1 });
    expect(next.graph.version).toBe(4);
  });

  it('explains what is wrong with imported JSON', () => {
    expect(() => parseGraphJson('{')).toThrow(/not valid JSON/);
    expect(() => parseGraphJson('[]')).toThrow(/JSON object/);
    expect(() => parseGraphJson('{"nodes": 1}')).toThrow(/"nodes" must be a list/);
    expect(() => parseGraphJson('{"nodes": [{"task": "x"}]}')).toThrow(/needs an "id"/);
    expect(() => parseGraphJson('{"nodes": [], "edges": [{"source": "a"}]}')).toThrow(/"source" and "target"/);
    expect(() => parseGraphJson('{"nodes": [], "edges": [{"source": "a", "target": "b", "condition": 3}]}')).toThrow(/condition/);
    expect(() => parseGraphJson('{"nodes": [], "end": "a"}')).toThrow(/"end"/);
    const graph = parseGraphJson('{"name": "g", "nodes": [{"id": "a", "task": "t"}]}');
    expect(graph).toEqual({ name: 'g', description: '', nodes: [{ id: 'a', task: 't', options: {} }], edges: [], start: '', end: [], version: 0, layout: {} });
  });
});

describe('document: copy and paste', () => {
  it('copies selected nodes with the edges between them', () => {
    const fragment = copySelection(threeNodes(), ['check', 'notify'])!;
    expect(fragment.nodes.map((n) => n.id)).toEqual(['check', 'notify']);
    expect(fragment.edges).toEqual([{ source: 'check', target: 'notify', condition: 'result > 0' }]);
    expect(copySelection(threeNodes(), [])).toBeNull();
  });

  it('pastes under fresh ids, shifted, with edges renamed', () => {
    const doc = threeNodes();
    const fragment = copySelection(doc, ['check', 'notify'])!;
    const { doc: pasted, ids } = pasteFragment(doc, fragment, { x: 10, y: 20 });
    expect(ids).toEqual(['check_2', 'notify_2']);
    expect(pasted.graph.edges.at(-1)).toEqual({ source: 'check_2', target: 'notify_2', condition: 'result > 0' });
    expect(pasted.positions.check_2).toEqual({ x: 10, y: 120 });
    expect(pasted.graph.start).toBe('fetch');
    expect(pasted.graph.end).toEqual(['notify']);
  });

  it('does not share option objects between copy and original', () => {
    const doc = setNodeOptions(threeNodes(), 'check', { retry_max_attempts: 2 });
    const fragment = copySelection(doc, ['check'])!;
    const { doc: pasted } = pasteFragment(doc, fragment);
    expect(pasted.graph.nodes.at(-1)!.options).not.toBe(doc.graph.nodes[1]!.options);
  });

  it('reads fragments and whole definitions from pasted text', () => {
    const fragment = copySelection(threeNodes(), ['fetch', 'check'])!;
    expect(parseClipboard(JSON.stringify(fragment))).toEqual(fragment);
    const whole = parseClipboard(exportJson(threeNodes()))!;
    expect(whole.nodes).toHaveLength(3);
    expect(whole.edges).toHaveLength(2);
    expect(parseClipboard('hello')).toBeNull();
    expect(parseClipboard('{"a": 1}')).toBeNull();
    expect(parseClipboard('{"nodes": [{"id": 3}]}')).toBeNull();
  });
});

describe('history', () => {
  it('undoes and redoes edits in order', () => {
    let h = createHistory(threeNodes());
    const original = h.present;
    h = pushHistory(h, removeElements(h.present, ['notify']));
    h = pushHistory(h, setStart(h.present, 'check'));
    expect(h.present.graph.start).toBe('check');
    h = undo(h);
    expect(h.present.graph.start).toBe('fetch');
    h = undo(h);
    expect(h.present).toBe(original);
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    h = redo(redo(h));
    expect(h.present.graph.start).toBe('check');
    expect(canRedo(h)).toBe(false);
    expect(redo(h)).toBe(h);
  });

  it('drops the redo line on a new edit and ignores no-op edits', () => {
    let h = createHistory(1);
    h = pushHistory(h, 2);
    h = undo(h);
    h = pushHistory(h, 3);
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual([1]);
    expect(pushHistory(h, h.present)).toBe(h);
  });

  it('keeps a bounded past', () => {
    let h = createHistory(0);
    for (let i = 1; i <= 10; i++) h = pushHistory(h, i, 5);
    expect(h.past).toEqual([5, 6, 7, 8, 9]);
  });
});

describe('validation', () => {
  const codes = (graph: GraphDef, known: Set<string> | null = tasks) => validateGraph(graph, known).map((p) => `${p.target.kind === 'node' ? p.target.id : p.target.kind === 'edge' ? `${p.target.source}>${p.target.target}` : 'graph'}:${p.code}`);

  it('accepts a good graph', () => {
    expect(validateGraph(toGraph(threeNodes()), tasks)).toEqual([]);
  });

  it('finds a missing name, start and end', () => {
    const graph = { ...toGraph(threeNodes()), name: '', start: '', end: [] };
    expect(codes(graph)).toEqual(['graph:missing_name', 'graph:missing_start', 'graph:missing_end']);
    expect(codes({ ...graph, name: 'x', start: 'ghost', end: ['ghost'] })).toEqual(['graph:missing_start', 'graph:missing_end']);
    expect(codes({ ...EMPTY_GRAPH, name: 'x' })).toContain('graph:empty');
  });

  it('finds a cycle and names the nodes and edges on it', () => {
    const doc = connect(threeNodes(), 'notify', 'check');
    const found = codes(toGraph(doc));
    expect(found).toEqual(expect.arrayContaining(['check:cycle', 'notify:cycle', 'check>notify:cycle', 'notify>check:cycle']));
    expect(found).not.toContain('fetch:cycle');
    expect(found).not.toContain('fetch>check:cycle');
    const message = validateGraph(toGraph(doc), tasks).find((p) => p.target.kind === 'node')!.message;
    expect(message).toMatch(/cycle: (check → notify → check|notify → check → notify)/);
  });

  it('finds a self loop', () => {
    const graph = toGraph(threeNodes());
    graph.edges.push({ source: 'check', target: 'check', condition: null });
    expect(codes(graph)).toContain('check>check:cycle');
  });

  it('finds unreachable nodes', () => {
    const doc = addNode(threeNodes(), 'notify', at, {}, 'orphan').doc;
    expect(codes(toGraph(doc))).toEqual(['orphan:unreachable']);
  });

  it('finds unknown tasks only when the catalogue is loaded', () => {
    const doc = addNode(threeNodes(), 'nope', at).doc;
    const graph = toGraph(connect(doc, 'fetch', 'nope'));
    expect(codes(graph)).toEqual(['nope:unknown_task']);
    expect(codes(graph, null)).toEqual([]);
  });

  it('finds duplicate nodes, edges and edges to unknown nodes', () => {
    const graph = toGraph(threeNodes());
    graph.nodes.push({ id: 'fetch', task: 'fetch', options: {} });
    graph.edges.push({ source: 'fetch', target: 'check', condition: null }, { source: 'fetch', target: 'ghost', condition: null });
    expect(codes(graph)).toEqual(expect.arrayContaining(['fetch:duplicate_node', 'fetch>check:duplicate_edge', 'fetch>ghost:unknown_node']));
  });

  it('catches condition typos and leaves the rest to the server', () => {
    expect(conditionSyntaxError('result > 0')).toBeNull();
    expect(conditionSyntaxError('result.status == "ok" && size(result.items) > 2')).toBeNull();
    expect(conditionSyntaxError("result['a)'] == 1")).toBeNull();
    expect(conditionSyntaxError('(result > 0')).toMatch(/never closed/);
    expect(conditionSyntaxError('result > 0)')).toMatch(/Unexpected "\)"/);
    expect(conditionSyntaxError('result == "ok')).toMatch(/not closed/);
    expect(conditionSyntaxError('result >')).toMatch(/incomplete/);
    expect(conditionSyntaxError('&& result')).toMatch(/incomplete/);
    const doc = setCondition(threeNodes(), { source: 'fetch', target: 'check' }, 'result >');
    expect(codes(toGraph(doc))).toEqual(['fetch>check:bad_condition']);
  });

  it('handles a 500-node chain without recursion trouble', () => {
    let doc = fromGraph({ ...EMPTY_GRAPH, name: 'long' }, {});
    const nodes = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, task: 'fetch', options: {} }));
    const edges = nodes.slice(1).map((n, i) => ({ source: `n${i}`, target: n.id, condition: null }));
    doc = { graph: { ...doc.graph, nodes, edges, start: 'n0', end: ['n499'] }, positions: {} };
    expect(validateGraph(doc.graph, tasks)).toEqual([]);
    doc = connect(doc, 'n499', 'n0');
    expect(validateGraph(doc.graph, tasks).filter((p) => p.target.kind === 'node')).toHaveLength(500);
  });

  it('reads the server 422 answer into problems on nodes and edges', () => {
    const body = {
      detail: 'The graph is not valid.',
      code: 'invalid_graph',
      errors: [
        { node: 'check', message: 'Unknown task "check".' },
        { edge: { source: 'check', target: 'notify' }, message: 'Undeclared reference to "reslt".' },
        { message: 'Something else.' },
      ],
    };
    const problems = problemsFromServer(body);
    expect(problems.map((p) => p.target)).toEqual([
      { kind: 'node', id: 'check' },
      { kind: 'edge', source: 'check', target: 'notify' },
      { kind: 'graph' },
    ]);
    expect(problems.every((p) => p.origin === 'server')).toBe(true);
    expect(problemsFromServer({ detail: 'Broken.', code: 'x' })).toEqual([{ target: { kind: 'graph' }, message: 'Broken.', code: 'x', origin: 'server' }]);
  });

  it('merges client and server problems without saying the same thing twice', () => {
    const graph = toGraph(connect(threeNodes(), 'notify', 'check'));
    const client = validateGraph(graph, tasks);
    const server = problemsFromServer({
      errors: [
        { node: 'check', message: 'Part of a cycle: check → notify → check.', code: 'cycle' },
        { edge: { source: 'check', target: 'notify' }, message: 'Bad CEL.' },
      ],
    });
    const merged = mergeProblems(client, server);
    expect(merged.length).toBe(client.length + 1);
    const index = indexProblems(merged);
    expect(index.edges.get('check->notify')).toEqual(['This edge closes a cycle.', 'Bad CEL.']);
    expect(index.nodes.get('check')).toHaveLength(1);
  });
});
