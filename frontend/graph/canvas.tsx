// React Flow pieces shared by the DAG view and the editor: the node and edge
// renderers, measured-size bookkeeping for controlled nodes, and the panel
// that shows one node's run.

import {
  BaseEdge,
  EdgeLabelRenderer,
  Handle,
  Position,
  getBezierPath,
  type Edge,
  type EdgeProps,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import { memo, useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { isErrorEvent } from '../lib/events';
import { clockTime, formatDuration } from '../lib/format';
import type { FluxEvent } from '../lib/types';
import type { NodeRun, NodeState } from './state';

export interface FluxNodeData extends Record<string, unknown> {
  nodeId: string;
  task: string;
  isStart: boolean;
  isEnd: boolean;
  state?: NodeState;
  durationMs?: number | null;
  startedAt?: string | null;
  retries?: number;
  errors?: readonly string[];
  /** Versions page: how this node differs from the older version. */
  diff?: DiffKind;
}

export type DiffKind = 'added' | 'removed' | 'changed';

export interface FluxEdgeData extends Record<string, unknown> {
  condition: string | null;
  errors?: readonly string[];
  /** Live view: taken (the target ran), skipped, or idle. */
  flow?: 'taken' | 'skipped' | 'idle';
  diff?: DiffKind;
}

export type FluxFlowNode = Node<FluxNodeData, 'flux'>;
export type FluxFlowEdge = Edge<FluxEdgeData, 'condition'>;

export const STATE_LABELS: Record<NodeState, string> = {
  pending: 'pending',
  running: 'running',
  retrying: 'retrying',
  paused: 'paused',
  completed: 'completed',
  failed: 'failed',
  skipped: 'skipped',
};

/** Re-renders every second while `active` (running nodes show a growing duration). */
function useTick(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function FluxNodeView({ data, selected }: NodeProps<FluxFlowNode>) {
  const { nodeId, task, isStart, isEnd, state, durationMs, startedAt, retries, errors, diff } = data;
  const active = state === 'running' || state === 'retrying';
  const now = useTick(active);
  const shownDuration = durationMs ?? (active && startedAt ? now - Date.parse(startedAt) : null);
  const classes = ['flux-node'];
  if (state) classes.push(`flux-node--${state}`);
  if (errors?.length) classes.push('flux-node--invalid');
  if (selected) classes.push('flux-node--selected');
  if (diff) classes.push(`flux-node--diff-${diff}`);
  return (
    <div className={classes.join(' ')} data-testid={`node-${nodeId}`} data-state={state} data-diff={diff} title={errors?.join('\n')}>
      <Handle type="target" position={Position.Top} isConnectable={!isStart} />
      {(isStart || isEnd || state) && (
      <div className="flux-node__top">
        {isStart && (
          <span className="flux-tag flux-tag--start" data-testid={`start-marker-${nodeId}`}>
            start
          </span>
        )}
        {isEnd && (
          <span className="flux-tag flux-tag--end" data-testid={`end-marker-${nodeId}`}>
            end
          </span>
        )}
        {state && (
          <span className={`flux-state flux-state--${state}`}>
            {STATE_LABELS[state]}
            {retries ? ` ×${retries + 1}` : ''}
          </span>
        )}
      </div>
      )}
      <div className="flux-node__task">{task}</div>
      <div className="flux-node__meta">
        <span className="flux-node__id">{nodeId}</span>
        {shownDuration !== null && <span className="flux-node__duration">{formatDuration(shownDuration)}</span>}
      </div>
      {errors && errors.length > 0 && (
        <div className="flux-node__error" data-testid={`node-error-${nodeId}`}>
          {errors[0]}
          {errors.length > 1 ? ` (+${errors.length - 1})` : ''}
        </div>
      )}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

export const FluxNode = memo(FluxNodeView);

function ConditionEdgeView(props: EdgeProps<FluxFlowEdge>) {
  const { id, source, target, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected, markerEnd } = props;
  const [path, midX, midY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  // Labels sit between the middle and the target, so the labels of edges
  // fanning out of one node do not cover each other.
  const labelX = (midX + targetX) / 2;
  const labelY = (midY + targetY) / 2;
  const errors = data?.errors ?? [];
  const condition = data?.condition ?? null;
  const classes = ['flux-edge'];
  if (errors.length) classes.push('flux-edge--invalid');
  if (data?.flow) classes.push(`flux-edge--${data.flow}`);
  if (selected) classes.push('flux-edge--selected');
  if (data?.diff) classes.push(`flux-edge--diff-${data.diff}`);
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} className={classes.join(' ')} interactionWidth={16} />
      {(condition || errors.length > 0) && (
        <EdgeLabelRenderer>
          <div
            className={`flux-edge-label nodrag nopan${errors.length ? ' flux-edge-label--invalid' : ''}${selected ? ' flux-edge-label--selected' : ''}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            data-testid={`edge-label-${source}-${target}`}
            data-diff={data?.diff}
            title={errors.join('\n') || condition || ''}
          >
            {condition && <code>{condition}</code>}
            {errors.length > 0 && (
              <span className="flux-edge-label__error" data-testid={`edge-error-${source}-${target}`}>
                {errors[0]}
              </span>
            )}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const ConditionEdge = memo(ConditionEdgeView);

// Defined once at module level so React Flow never sees new types.
export const nodeTypes = { flux: FluxNode };
export const edgeTypes = { condition: ConditionEdge };

export function edgeId(source: string, target: string): string {
  return `${source}->${target}`;
}

/**
 * Controlled React Flow nodes lose their measured size whenever a new node
 * object is passed; this keeps the sizes React Flow reports and hands them
 * back. `version` changes when a size changed.
 */
export function useMeasuredSizes() {
  const sizes = useRef(new Map<string, { width: number; height: number }>());
  const [version, setVersion] = useState(0);
  const onSizeChanges = useCallback((changes: NodeChange[]) => {
    let changed = false;
    for (const change of changes) {
      if (change.type === 'dimensions' && change.dimensions) {
        const old = sizes.current.get(change.id);
        if (!old || old.width !== change.dimensions.width || old.height !== change.dimensions.height) {
          sizes.current.set(change.id, { width: change.dimensions.width, height: change.dimensions.height });
          changed = true;
        }
      } else if (change.type === 'remove') {
        sizes.current.delete(change.id);
      }
    }
    if (changed) setVersion((v) => v + 1);
  }, []);
  return { sizes: sizes.current, version, onSizeChanges };
}

export function JsonBlock({ value, testId }: { value: unknown; testId?: string }) {
  let text: string;
  try {
    text = value === undefined ? '' : JSON.stringify(value, null, 2);
  } catch {
    text = String(value);
  }
  return (
    <pre className="flux-json" data-testid={testId}>
      {text}
    </pre>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="flux-panel__section">
      <h3>{title}</h3>
      {children}
    </section>
  );
}

export function NodeRunPanel({ nodeId, task, run, onClose }: { nodeId: string; task: string; run: NodeRun | null; onClose: () => void }) {
  return (
    <aside className="flux-panel" data-testid="node-panel" aria-label={`Node ${nodeId}`}>
      <header className="flux-panel__header">
        <div>
          <h2>{nodeId}</h2>
          <div className="flux-muted">{task}</div>
        </div>
        <button type="button" className="flux-button flux-button--ghost" onClick={onClose} aria-label="Close" data-testid="node-panel-close">
          ×
        </button>
      </header>
      {!run ? (
        <p className="flux-muted">No run to show.</p>
      ) : (
        <>
          <dl className="flux-facts">
            <dt>State</dt>
            <dd>
              <span className={`flux-state flux-state--${run.state}`} data-testid="node-panel-state">
                {run.state}
              </span>
            </dd>
            <dt>Duration</dt>
            <dd>{formatDuration(run.durationMs) || '—'}</dd>
            <dt>Retries</dt>
            <dd>{run.retries}</dd>
            {run.taskId && (
              <>
                <dt>Task id</dt>
                <dd>
                  <code>{run.taskId}</code>
                </dd>
              </>
            )}
          </dl>
          <Section title="Input">
            <JsonBlock value={run.input} testId="node-panel-input" />
          </Section>
          {run.state === 'failed' || run.error ? (
            <Section title="Error">
              <JsonBlock value={run.error} testId="node-panel-error" />
            </Section>
          ) : null}
          <Section title="Output">
            <JsonBlock value={run.output} testId="node-panel-output" />
          </Section>
          <Section title={`Events (${run.events.length})`}>
            <EventList events={run.events} />
          </Section>
        </>
      )}
    </aside>
  );
}

function EventList({ events }: { events: readonly FluxEvent[] }) {
  if (events.length === 0) return <p className="flux-muted">None yet.</p>;
  return (
    <ol className="flux-events">
      {events.map((event) => (
        <li key={event.seq} data-seq={event.seq} className={isErrorEvent(event) ? 'flux-events__error' : undefined}>
          <span className="flux-events__seq">{event.seq}</span>
          <span className="flux-events__type">{event.type}</span>
          <time dateTime={event.time}>{clockTime(event.time)}</time>
        </li>
      ))}
    </ol>
  );
}
