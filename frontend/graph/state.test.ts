import { describe, expect, it } from 'vitest';
import type { FluxEvent, GraphDef } from '../lib/types';
import { GraphRunTracker, deriveGraphRun } from './state';
import { layoutGraph } from './layout';

const graph: GraphDef = {
  name: 'orders',
  description: '',
  nodes: [
    { id: 'fetch', task: 'fetch_order', options: {} },
    { id: 'charge', task: 'charge_card', options: {} },
    { id: 'refund', task: 'refund', options: {} },
    { id: 'ship', task: 'ship', options: {} },
  ],
  edges: [
    { source: 'fetch', target: 'charge', condition: null },
    { source: 'charge', target: 'ship', condition: 'result.ok' },
    { source: 'charge', target: 'refund', condition: '!result.ok' },
  ],
  start: 'fetch',
  end: ['ship', 'refund'],
  version: 1,
};

let seq = 0;
function ev(type: string, source_id: string, parent_id: string | null, value: unknown = null, second = seq): FluxEvent {
  seq += 1;
  return { seq, type, name: type.toLowerCase(), source_id, parent_id, attempt: 0, value, time: new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString() };
}

function started(taskId: string, node: string, input: unknown = null, second?: number) {
  return ev('TASK_STARTED', taskId, 'g1', { node, input }, second);
}

describe('deriveGraphRun', () => {
  it('leaves every node pending before the graph starts', () => {
    const run = deriveGraphRun(graph, [ev('WORKFLOW_STARTED', 'x', null)]);
    expect(run.graphTaskId).toBeNull();
    expect([...run.nodes.values()].map((n) => n.state)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(run.counts.pending).toBe(4);
  });

  it('follows node tasks from start to completion with durations, input and output', () => {
    seq = 0;
    const events = [
      ev('GRAPH_STARTED', 'g1', null, { graph }),
      started('t1', 'fetch', { id: 3 }, 0),
      ev('TASK_COMPLETED', 't1', 'g1', { total: 10 }, 2),
      started('t2', 'charge', { total: 10 }, 2),
    ];
    const run = deriveGraphRun(graph, events);
    const fetch = run.nodes.get('fetch')!;
    expect(fetch.state).toBe('completed');
    expect(fetch.input).toEqual({ id: 3 });
    expect(fetch.output).toEqual({ total: 10 });
    expect(fetch.durationMs).toBe(2000);
    expect(fetch.events.map((e) => e.type)).toEqual(['TASK_STARTED', 'TASK_COMPLETED']);
    expect(run.nodes.get('charge')!.state).toBe('running');
    expect(run.nodes.get('charge')!.durationMs).toBeNull();
    expect(run.nodes.get('ship')!.state).toBe('pending');
  });

  it('marks failures, retries, fallbacks and skipped nodes', () => {
    const events = [
      ev('GRAPH_STARTED', 'g1', null, { graph }),
      started('t1', 'fetch'),
      ev('TASK_RETRY_STARTED', 't1', 'g1', { error: { message: 'boom' } }),
    ];
    const tracker = new GraphRunTracker(graph).applyAll(events);
    expect(tracker.snapshot().nodes.get('fetch')!.state).toBe('retrying');
    expect(tracker.snapshot().nodes.get('fetch')!.retries).toBe(1);
    tracker.apply(ev('TASK_RETRY_FAILED', 't1', 'g1', 'again'));
    expect(tracker.snapshot().nodes.get('fetch')!.state).toBe('retrying');
    tracker.apply(ev('TASK_FALLBACK_COMPLETED', 't1', 'g1', 'fallback value'));
    expect(tracker.snapshot().nodes.get('fetch')!.state).toBe('completed');
    expect(tracker.snapshot().nodes.get('fetch')!.output).toBe('fallback value');

    tracker.apply(started('t2', 'charge'));
    tracker.apply(ev('TASK_FAILED', 't2', 'g1', { message: 'declined' }));
    tracker.apply(ev('GRAPH_NODE_SKIPPED', 'g1', null, { node: 'ship' }));
    const snap = tracker.snapshot();
    expect(snap.nodes.get('charge')!.state).toBe('failed');
    expect(snap.nodes.get('charge')!.error).toEqual({ message: 'declined' });
    expect(snap.nodes.get('ship')!.state).toBe('skipped');
    expect(snap.counts).toMatchObject({ completed: 1, failed: 1, skipped: 1, pending: 1 });
  });

  it('ignores tasks of other parents and other graphs', () => {
    const other = { ...graph, name: 'other' };
    const events = [
      ev('GRAPH_STARTED', 'g1', null, { graph }),
      ev('GRAPH_STARTED', 'g2', null, { graph: other }),
      ev('TASK_STARTED', 't9', 'g2', { node: 'fetch' }),
      ev('TASK_STARTED', 't8', 'elsewhere', { node: 'fetch' }),
      ev('TASK_COMPLETED', 't8', 'elsewhere', 1),
    ];
    const run = deriveGraphRun(graph, events);
    expect(run.graphTaskId).toBe('g1');
    expect(run.nodes.get('fetch')!.state).toBe('pending');
  });

  it('lists events of tasks nested inside a node with that node', () => {
    const events = [
      ev('GRAPH_STARTED', 'g1', null, { graph }),
      started('t1', 'fetch'),
      ev('TASK_STARTED', 'sub', 't1', null),
      ev('TASK_COMPLETED', 'sub', 't1', 5),
    ];
    const fetch = deriveGraphRun(graph, events).nodes.get('fetch')!;
    expect(fetch.state).toBe('running');
    expect(fetch.events).toHaveLength(3);
  });

  it('starts over when the same graph runs again', () => {
    const events = [
      ev('GRAPH_STARTED', 'g1', null, { graph }),
      started('t1', 'fetch'),
      ev('TASK_COMPLETED', 't1', 'g1', 1),
      ev('GRAPH_STARTED', 'g3', null, { graph }),
    ];
    const run = deriveGraphRun(graph, events);
    expect(run.graphTaskId).toBe('g3');
    expect(run.nodes.get('fetch')!.state).toBe('pending');
  });

  it('returns the same snapshot object until something changes', () => {
    const tracker = new GraphRunTracker(graph).applyAll([ev('GRAPH_STARTED', 'g1', null, { graph })]);
    const a = tracker.snapshot();
    tracker.apply(ev('WORKFLOW_STARTED', 'x', null));
    expect(tracker.snapshot()).toBe(a);
    tracker.apply(started('t1', 'fetch'));
    expect(tracker.snapshot()).not.toBe(a);
  });
});

describe('layoutGraph', () => {
  it('places nodes top to bottom along the edges', () => {
    const positions = layoutGraph(graph.nodes, graph.edges);
    expect(positions.fetch!.y).toBeLessThan(positions.charge!.y);
    expect(positions.charge!.y).toBeLessThan(positions.ship!.y);
    expect(positions.ship!.y).toBe(positions.refund!.y);
    expect(positions.ship!.x).not.toBe(positions.refund!.x);
  });

  it('tolerates self loops, dangling edges and cycles', () => {
    const positions = layoutGraph(
      [{ id: 'a' }, { id: 'b' }],
      [
        { source: 'a', target: 'a' },
        { source: 'a', target: 'zz' },
        { source: 'a', target: 'b' },
        { source: 'b', target: 'a' },
      ],
    );
    expect(Object.keys(positions).sort()).toEqual(['a', 'b']);
  });

  it('lays out 500 nodes quickly', () => {
    const nodes = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}` }));
    const edges = nodes.slice(1).map((n, i) => ({ source: `n${Math.floor(i / 3)}`, target: n.id }));
    const t0 = performance.now();
    const positions = layoutGraph(nodes, edges);
    const ms = performance.now() - t0;
    expect(Object.keys(positions)).toHaveLength(500);
    expect(ms).toBeLessThan(5000);
  });
});

describe('GraphRunTracker snapshots', () => {
  it('keeps the NodeRun objects of nodes that did not change', () => {
    const tracker = new GraphRunTracker(graph).applyAll([ev('GRAPH_STARTED', 'g1', null, { graph }), started('t1', 'fetch')]);
    const a = tracker.snapshot();
    tracker.apply(started('t2', 'charge'));
    const b = tracker.snapshot();
    expect(b.nodes.get('fetch')).toBe(a.nodes.get('fetch'));
    expect(b.nodes.get('ship')).toBe(a.nodes.get('ship'));
    expect(b.nodes.get('charge')).not.toBe(a.nodes.get('charge'));
  });
});
