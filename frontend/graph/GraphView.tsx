// The read-only DAG: nodes laid out by dagre, conditions on the edges, and,
// for an execution, each node's live state fed by LiveStream. Used by the
// graph-view island and by the editor after Run.

import { Background, Controls, MiniMap, ReactFlow, type Node } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Execution, FluxEvent, GraphDef } from '../lib/types';
import { LiveStream, type LiveStatus } from '../live/stream';
import {
  NodeRunPanel,
  edgeId,
  edgeTypes,
  nodeTypes,
  useMeasuredSizes,
  type FluxFlowEdge,
  type FluxFlowNode,
  type DiffKind,
} from './canvas';
import { NODE_HEIGHT, NODE_WIDTH, layoutGraph } from './layout';
import { GraphRunTracker, NODE_STATES, type GraphRunSnapshot, type NodeRun } from './state';

export interface GraphViewProps {
  graph: GraphDef;
  executionId?: string | number | null;
  events?: FluxEvent[];
  apiBase?: string;
  /** Shown as a link in the header (the execution's page). */
  executionUrl?: string | null;
  /** Versions page: nodes (by id) and edges (by "source->target") added, removed or changed. */
  diff?: GraphDiff | null;
}

export interface GraphDiff {
  nodes?: Record<string, DiffKind>;
  edges?: Record<string, DiffKind>;
}

function maxSeq(events: readonly FluxEvent[]): number {
  let max = 0;
  for (const event of events) if (event.seq > max) max = event.seq;
  return max;
}

/** Follows an execution's events and keeps a snapshot of the graph's node states. */
export function useGraphRun(graph: GraphDef, executionId: string | null, events: readonly FluxEvent[], apiBase: string) {
  const tracker = useMemo(
    () => new GraphRunTracker(graph).applyAll([...events].sort((a, b) => a.seq - b.seq)),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- initial events only
    [graph],
  );
  const [snapshot, setSnapshot] = useState<GraphRunSnapshot>(() => tracker.snapshot());
  const [status, setStatus] = useState<LiveStatus | null>(null);
  const [execution, setExecution] = useState<Execution | null>(null);
  const initialAfter = useRef(maxSeq(events));

  useEffect(() => {
    setSnapshot(tracker.snapshot());
    if (executionId === null) return;
    let frame = 0;
    const flush = () => {
      frame = 0;
      setSnapshot(tracker.snapshot());
    };
    const stream = LiveStream.forExecution(executionId, {
      after: initialAfter.current,
      apiBase,
      onEvent: (event) => {
        tracker.apply(event);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      onStatus: setStatus,
      onExecution: setExecution,
    });
    stream.start();
    return () => {
      stream.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [tracker, executionId, apiBase]);

  return { snapshot, status, execution };
}

const LIVE_LABELS: Record<LiveStatus, string> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  polling: 'live (polling)',
  closed: 'stopped',
};

export function GraphView({ graph, executionId = null, events = [], apiBase = '/api', executionUrl, diff = null }: GraphViewProps) {
  const id = executionId === null || executionId === undefined ? null : String(executionId);
  const live = id !== null;
  const { snapshot, status, execution } = useGraphRun(graph, id, events, apiBase);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const { sizes, version: sizesVersion, onSizeChanges } = useMeasuredSizes();

  // A saved graph's own layout when it places every node (the editor's), else laid out.
  const positions = useMemo(() => {
    const saved = graph.layout;
    if (saved && graph.nodes.length && graph.nodes.every((n) => saved[n.id])) return saved;
    return layoutGraph(graph.nodes, graph.edges);
  }, [graph]);
  const endSet = useMemo(() => new Set(graph.end), [graph]);
  const cache = useRef(new Map<string, { run: NodeRun | undefined; selected: boolean; size: unknown; node: FluxFlowNode }>());

  const nodes = useMemo(() => {
    const next: FluxFlowNode[] = [];
    for (const def of graph.nodes) {
      const run = live ? snapshot.nodes.get(def.id) : undefined;
      const selected = selectedId === def.id;
      const size = sizes.get(def.id);
      const prev = cache.current.get(def.id);
      if (prev && prev.run === run && prev.selected === selected && prev.size === size && prev.node.position === positions[def.id]) {
        next.push(prev.node);
        continue;
      }
      const node: FluxFlowNode = {
        id: def.id,
        type: 'flux',
        position: positions[def.id] ?? { x: 0, y: 0 },
        initialWidth: NODE_WIDTH,
        initialHeight: NODE_HEIGHT,
        measured: size,
        selected,
        draggable: false,
        connectable: false,
        data: {
          nodeId: def.id,
          task: def.task,
          isStart: graph.start === def.id,
          isEnd: endSet.has(def.id),
          state: run?.state,
          durationMs: run?.durationMs ?? null,
          startedAt: run?.startedAt ?? null,
          retries: run?.retries ?? 0,
          diff: diff?.nodes?.[def.id],
        },
      };
      cache.current.set(def.id, { run, selected, size, node });
      next.push(node);
    }
    return next;
    // sizesVersion: the sizes map is mutated in place.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [graph, positions, endSet, snapshot, selectedId, sizesVersion, live, diff]);

  const edges = useMemo<FluxFlowEdge[]>(
    () =>
      graph.edges.map((edge) => {
        const source = live ? snapshot.nodes.get(edge.source)?.state : undefined;
        const target = live ? snapshot.nodes.get(edge.target)?.state : undefined;
        const flow = !live
          ? undefined
          : target === 'skipped'
            ? 'skipped'
            : source === 'completed' && target && target !== 'pending'
              ? 'taken'
              : 'idle';
        return {
          id: edgeId(edge.source, edge.target),
          source: edge.source,
          target: edge.target,
          type: 'condition',
          selectable: false,
          data: { condition: edge.condition, flow, diff: diff?.edges?.[`${edge.source}->${edge.target}`] },
          domAttributes: {
            'data-testid': `edge-${edge.source}-${edge.target}`,
            'data-diff': diff?.edges?.[`${edge.source}->${edge.target}`],
          } as FluxFlowEdge['domAttributes'],
        };
      }),
    [graph, snapshot, live, diff],
  );

  const onNodeClick = useCallback((_: unknown, node: Node) => setSelectedId(node.id), []);
  const onPaneClick = useCallback(() => setSelectedId(null), []);
  const minimapClass = useCallback((node: Node) => `flux-minimap--${(node.data as { state?: string }).state ?? 'idle'}`, []);

  const selectedDef = selectedId ? graph.nodes.find((n) => n.id === selectedId) : undefined;

  return (
    <div className="flux-graph" data-testid="graph-view" data-execution-id={id ?? undefined}>
      <header className="flux-graph__bar">
        <strong className="flux-graph__title">{graph.name}</strong>
        {graph.description && <span className="flux-muted flux-graph__description">{graph.description}</span>}
        <span className="flux-spacer" />
        {live && (
          <span className="flux-counts" data-testid="graph-counts">
            {NODE_STATES.filter((s) => snapshot.counts[s] > 0).map((s) => (
              <span key={s} className={`flux-state flux-state--${s}`} data-count-state={s}>
                {snapshot.counts[s]} {s}
              </span>
            ))}
          </span>
        )}
        {execution && (
          <span className="flux-exec-status" data-status={execution.status} data-testid="execution-status">
            {execution.status}
          </span>
        )}
        {status && (
          <span className={`flux-live flux-live--${status}`} data-testid="live-status" data-live-status={status}>
            {LIVE_LABELS[status]}
          </span>
        )}
        {executionUrl && (
          <a href={executionUrl} data-testid="execution-link">
            execution {id}
          </a>
        )}
      </header>
      <div className="flux-graph__body">
        <div className="flux-graph__canvas">
          <ReactFlow<FluxFlowNode, FluxFlowEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            edgeTypes={edgeTypes}
            onNodesChange={onSizeChanges}
            onNodeClick={onNodeClick}
            onPaneClick={onPaneClick}
            nodesDraggable={false}
            nodesConnectable={false}
            edgesFocusable={false}
            onlyRenderVisibleElements
            fitView
            fitViewOptions={{ padding: 0.15, maxZoom: 1.2 }}
            minZoom={0.05}
            maxZoom={2.5}
            colorMode="system"
          >
            <Background gap={20} size={1} />
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable style={{ width: 150, height: 100 }} nodeClassName={minimapClass} />
          </ReactFlow>
        </div>
        {selectedDef && (
          <NodeRunPanel nodeId={selectedDef.id} task={selectedDef.task} run={live ? (snapshot.nodes.get(selectedDef.id) ?? null) : null} onClose={onPaneClick} />
        )}
      </div>
    </div>
  );
}
