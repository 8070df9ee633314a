// Checks a graph definition in the browser so feedback is instant (missing
// start or end, unknown nodes and tasks, cycles, unreachable nodes, broken
// condition syntax), and reads the server's 422 answer into the same shape.
// The server stays the judge of conditions (CEL); this only catches typos.

import type { GraphDef } from '../lib/types';

export type ProblemTarget =
  | { kind: 'graph' }
  | { kind: 'node'; id: string }
  | { kind: 'edge'; source: string; target: string };

export interface Problem {
  target: ProblemTarget;
  message: string;
  code: string;
  origin: 'client' | 'server';
}

export function edgeKey(source: string, target: string): string {
  return `${source}->${target}`;
}

const graphTarget: ProblemTarget = { kind: 'graph' };

/** Structural problems of `graph`. `knownTasks` null means "catalogue not loaded": task names are not checked. */
export function validateGraph(graph: GraphDef, knownTasks: ReadonlySet<string> | null = null): Problem[] {
  const problems: Problem[] = [];
  const add = (target: ProblemTarget, code: string, message: string) => problems.push({ target, code, message, origin: 'client' });

  if (!graph.name.trim()) add(graphTarget, 'missing_name', 'Give the graph a name.');
  if (graph.nodes.length === 0) add(graphTarget, 'empty', 'Add at least one node from the palette.');

  const ids = new Set<string>();
  for (const node of graph.nodes) {
    if (ids.has(node.id)) add({ kind: 'node', id: node.id }, 'duplicate_node', `Two nodes are named "${node.id}".`);
    ids.add(node.id);
    if (!node.task) add({ kind: 'node', id: node.id }, 'missing_task', 'Choose a task for this node.');
    else if (knownTasks && !knownTasks.has(node.task)) add({ kind: 'node', id: node.id }, 'unknown_task', `Unknown task "${node.task}".`);
  }

  const seen = new Set<string>();
  const outgoing = new Map<string, string[]>();
  for (const edge of graph.edges) {
    const target: ProblemTarget = { kind: 'edge', source: edge.source, target: edge.target };
    const key = edgeKey(edge.source, edge.target);
    if (seen.has(key)) add(target, 'duplicate_edge', 'This edge is there twice.');
    seen.add(key);
    if (!ids.has(edge.source) || !ids.has(edge.target)) {
      add(target, 'unknown_node', `Edge to or from an unknown node (${edge.source} → ${edge.target}).`);
      continue;
    }
    if (edge.source === edge.target) add(target, 'cycle', 'An edge cannot lead from a node back to itself.');
    const syntax = edge.condition ? conditionSyntaxError(edge.condition) : null;
    if (syntax) add(target, 'bad_condition', syntax);
    const list = outgoing.get(edge.source) ?? [];
    list.push(edge.target);
    outgoing.set(edge.source, list);
  }

  if (!graph.start) add(graphTarget, 'missing_start', 'Choose a start node.');
  else if (!ids.has(graph.start)) add(graphTarget, 'missing_start', `The start node "${graph.start}" does not exist.`);
  if (graph.end.length === 0) add(graphTarget, 'missing_end', 'Choose at least one end node.');
  for (const end of graph.end) if (!ids.has(end)) add(graphTarget, 'missing_end', `The end node "${end}" does not exist.`);

  // Cycles: every strongly connected component with more than one node.
  for (const component of stronglyConnected([...ids], outgoing)) {
    if (component.length < 2) continue;
    const members = new Set(component);
    const path = component.join(' → ') + ' → ' + component[0];
    for (const id of component) add({ kind: 'node', id }, 'cycle', `Part of a cycle: ${path}.`);
    for (const edge of graph.edges)
      if (members.has(edge.source) && members.has(edge.target) && edge.source !== edge.target)
        add({ kind: 'edge', source: edge.source, target: edge.target }, 'cycle', 'This edge closes a cycle.');
  }

  if (graph.start && ids.has(graph.start)) {
    const reached = new Set([graph.start]);
    const queue = [graph.start];
    while (queue.length) {
      for (const next of outgoing.get(queue.shift()!) ?? []) {
        if (!reached.has(next)) {
          reached.add(next);
          queue.push(next);
        }
      }
    }
    for (const id of ids) if (!reached.has(id)) add({ kind: 'node', id }, 'unreachable', 'Not reachable from the start node.');
  }
  return problems;
}

/** Tarjan's algorithm, iterative so 500-node chains cannot overflow the stack. */
function stronglyConnected(nodes: string[], outgoing: ReadonlyMap<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const frame = work[work.length - 1]!;
      const edges = outgoing.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const child = edges[frame.next++]!;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, next: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        result.push(component.reverse());
      }
    }
  }
  return result;
}

/** A quick syntax check of a condition (brackets and quotes); null when it looks fine. */
export function conditionSyntaxError(condition: string): string | null {
  const closers: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let quote: string | null = null;
  for (let i = 0; i < condition.length; i++) {
    const ch = condition[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (ch in closers) {
      if (stack.pop() !== closers[ch]) return `Unexpected "${ch}" at position ${i + 1}.`;
    }
  }
  if (quote) return `A string is not closed (missing ${quote}).`;
  if (stack.length) return `"${stack[stack.length - 1]}" is never closed.`;
  if (/^\s*(&&|\|\||==|!=|<=|>=|[<>+*/%])|(&&|\|\||==|!=|<=|>=|[<>+\-*/%!])\s*$/.test(condition)) return 'The expression is incomplete.';
  return null;
}

/** Problems from a 422 answer: `errors: [{node, message} | {edge: {source, target}, message}]`. */
export function problemsFromServer(body: unknown): Problem[] {
  const problems: Problem[] = [];
  const record = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const errors = Array.isArray(record.errors) ? record.errors : [];
  for (const raw of errors) {
    const error = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const message = typeof error.message === 'string' ? error.message : typeof error.msg === 'string' ? error.msg : 'Invalid.';
    const code = typeof error.code === 'string' ? error.code : 'invalid_graph';
    const edge = error.edge as Record<string, unknown> | undefined;
    if (typeof error.node === 'string') problems.push({ target: { kind: 'node', id: error.node }, message, code, origin: 'server' });
    else if (edge && typeof edge.source === 'string' && typeof edge.target === 'string')
      problems.push({ target: { kind: 'edge', source: edge.source, target: edge.target }, message, code, origin: 'server' });
    else problems.push({ target: graphTarget, message, code, origin: 'server' });
  }
  if (problems.length === 0 && typeof record.detail === 'string')
    problems.push({ target: graphTarget, message: record.detail, code: String(record.code ?? 'invalid_graph'), origin: 'server' });
  return problems;
}

function targetKey(target: ProblemTarget): string {
  return target.kind === 'graph' ? 'graph' : target.kind === 'node' ? `node:${target.id}` : `edge:${edgeKey(target.source, target.target)}`;
}

/** Client problems first, then server ones that say something new. */
export function mergeProblems(client: readonly Problem[], server: readonly Problem[]): Problem[] {
  const seen = new Set(client.map((p) => `${targetKey(p.target)}|${p.message}`));
  const codes = new Set(client.map((p) => `${targetKey(p.target)}|${p.code}`));
  const out = [...client];
  for (const p of server) {
    const key = `${targetKey(p.target)}|${p.message}`;
    if (seen.has(key) || codes.has(`${targetKey(p.target)}|${p.code}`)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

export interface ProblemIndex {
  nodes: Map<string, string[]>;
  edges: Map<string, string[]>;
  graph: string[];
}

/** Groups messages by what they are about, for drawing them on the canvas. */
export function indexProblems(problems: readonly Problem[]): ProblemIndex {
  const index: ProblemIndex = { nodes: new Map(), edges: new Map(), graph: [] };
  for (const p of problems) {
    if (p.target.kind === 'graph') index.graph.push(p.message);
    else {
      const map = p.target.kind === 'node' ? index.nodes : index.edges;
      const key = p.target.kind === 'node' ? p.target.id : edgeKey(p.target.source, p.target.target);
      const list = map.get(key) ?? [];
      if (!list.includes(p.message)) list.push(p.message);
      map.set(key, list);
    }
  }
  return index;
}

export function describeTarget(target: ProblemTarget): string {
  if (target.kind === 'graph') return 'Graph';
  if (target.kind === 'node') return `Node ${target.id}`;
  return `Edge ${target.source} → ${target.target}`;
}
