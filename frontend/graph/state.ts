// Derives each graph node's live state from an execution's events.
//
// A graph run writes GRAPH_STARTED (source_id = the graph task's id,
// value.graph = the definition). Each node runs as a child task of it:
// parent_id = graph task id, and its TASK_STARTED carries value.node = the
// node id. Later events of that node task follow by its source_id.
// GRAPH_NODE_SKIPPED (source_id = graph task id, value.node) marks a node
// whose incoming condition was false. A node task's state follows the one
// task-state fold of lib/tasks.ts (as the execution page's timeline does).

import { foldTaskEvent, type TaskProgress } from '../lib/tasks';
import type { FluxEvent, GraphDef } from '../lib/types';

export type NodeState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'retrying' | 'paused';

export const NODE_STATES: readonly NodeState[] = ['pending', 'running', 'retrying', 'paused', 'completed', 'failed', 'skipped'];

export interface NodeRun extends TaskProgress {
  node: string;
  state: NodeState;
  taskId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Known once the node has finished; while running, the view counts from startedAt. */
  durationMs: number | null;
  /** Number of retries started. */
  retries: number;
  input: unknown;
  output: unknown;
  error: unknown;
  events: FluxEvent[];
}

export interface GraphRunSnapshot {
  graphTaskId: string | null;
  nodes: ReadonlyMap<string, NodeRun>;
  counts: Record<NodeState, number>;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function millisBetween(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

/** Names a GRAPH_STARTED event's graph, or null when it carries none. */
export function startedGraphName(event: FluxEvent): string | null {
  const graph = asRecord(asRecord(event.value)?.graph);
  return typeof graph?.name === 'string' ? graph.name : null;
}

/**
 * Follows events one by one (the live view feeds it as they arrive).
 * Only the latest run of the graph named `graphName` is tracked.
 */
export class GraphRunTracker {
  private readonly nodeIds: Set<string>;
  private readonly graphName: string;
  private graphTaskId: string | null = null;
  private runs = new Map<string, NodeRun>();
  private taskToNode = new Map<string, string>();
  private version = 0;
  private cached: { version: number; snapshot: GraphRunSnapshot } | null = null;
  /** Nodes changed since the last snapshot; the others keep their NodeRun object. */
  private dirty = new Set<string>();
  private resetAll = true;

  constructor(graph: Pick<GraphDef, 'name' | 'nodes'>) {
    this.graphName = graph.name;
    this.nodeIds = new Set(graph.nodes.map((n) => n.id));
  }

  applyAll(events: Iterable<FluxEvent>): this {
    for (const event of events) this.apply(event);
    return this;
  }

  apply(event: FluxEvent): void {
    if (event.type === 'GRAPH_STARTED') {
      const name = startedGraphName(event);
      if (name === this.graphName || (name === null && this.graphTaskId === null)) {
        this.graphTaskId = event.source_id;
        this.runs = new Map();
        this.taskToNode = new Map();
        this.resetAll = true;
        this.version++;
      }
      return;
    }
    if (this.graphTaskId === null) return;

    if (event.type === 'GRAPH_NODE_SKIPPED' && event.source_id === this.graphTaskId) {
      const node = asRecord(event.value)?.node;
      if (typeof node === 'string') {
        const run = this.run(node);
        run.state = 'skipped';
        run.finishedAt = event.time;
        run.events.push(event);
        this.version++;
      }
      return;
    }

    if (event.type === 'TASK_STARTED' && event.parent_id === this.graphTaskId) {
      const value = asRecord(event.value);
      const node = value?.node;
      if (typeof node !== 'string') return;
      this.taskToNode.set(event.source_id, node);
      const run = this.run(node);
      run.taskId = event.source_id;
      run.state = 'running';
      run.ended = false;
      run.startedAt ??= event.time;
      run.finishedAt = null;
      run.durationMs = null;
      run.input = value?.input ?? null;
      run.events.push(event);
      this.version++;
      return;
    }

    const ownNode = this.taskToNode.get(event.source_id);
    if (ownNode !== undefined) {
      this.applyNodeEvent(this.run(ownNode), event);
      this.version++;
      return;
    }
    // A task nested inside a node task: listed with the node, state unchanged.
    const parentNode = event.parent_id ? this.taskToNode.get(event.parent_id) : undefined;
    if (parentNode !== undefined) {
      this.run(parentNode).events.push(event);
      this.version++;
    }
  }

  private applyNodeEvent(run: NodeRun, event: FluxEvent): void {
    run.events.push(event);
    const step = foldTaskEvent(run, event.type);
    if (step === 'ended') {
      if (run.state === 'completed') {
        run.output = event.value;
        run.error = null;
      } else {
        run.error = event.value;
      }
      this.finish(run, event);
    } else if (step && event.type === 'TASK_RETRY_FAILED') {
      run.error = event.value;
    }
  }

  private finish(run: NodeRun, event: FluxEvent): void {
    run.finishedAt = event.time;
    run.durationMs = millisBetween(run.startedAt, event.time);
  }

  private run(node: string): NodeRun {
    this.dirty.add(node);
    let run = this.runs.get(node);
    if (!run) {
      run = emptyRun(node);
      this.runs.set(node, run);
    }
    return run;
  }

  /** An immutable view; the same object until another event changes something. */
  snapshot(): GraphRunSnapshot {
    if (this.cached?.version === this.version) return this.cached.snapshot;
    const counts = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>;
    const previous = this.resetAll ? null : this.cached?.snapshot.nodes;
    const nodes = new Map<string, NodeRun>();
    for (const id of this.nodeIds) {
      let copy = this.dirty.has(id) ? undefined : previous?.get(id);
      if (!copy) {
        const run = this.runs.get(id);
        copy = run ? { ...run, events: [...run.events] } : emptyRun(id);
      }
      nodes.set(id, copy);
      counts[copy.state] += 1;
    }
    this.dirty.clear();
    this.resetAll = false;
    const snapshot: GraphRunSnapshot = { graphTaskId: this.graphTaskId, nodes, counts };
    this.cached = { version: this.version, snapshot };
    return snapshot;
  }
}

export function emptyRun(node: string): NodeRun {
  return {
    node,
    state: 'pending',
    ended: false,
    taskId: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    retries: 0,
    input: null,
    output: null,
    error: null,
    events: [],
  };
}

/** The state of every node of `graph` after `events` (ordered by seq). */
export function deriveGraphRun(graph: Pick<GraphDef, 'name' | 'nodes'>, events: Iterable<FluxEvent>): GraphRunSnapshot {
  return new GraphRunTracker(graph).applyAll(events).snapshot();
}
