// The JSON shapes the server sends and accepts (DESIGN.md, "Interfaces people
// and scripts rely on"). Kept in one place so every island agrees on them.

export type ExecutionStatus =
  | 'created'
  | 'queued'
  | 'running'
  | 'paused'
  | 'sleeping'
  | 'interrupted'
  | 'completed'
  | 'failed'
  | 'cancelling'
  | 'cancelled';

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** One entry of an execution's log; `seq` starts at 1 and has no gaps. */
export interface FluxEvent {
  seq: number;
  type: string;
  name: string;
  source_id: string;
  parent_id: string | null;
  attempt: number;
  value: unknown;
  time: string;
}

export interface Execution {
  id: string;
  workflow: string;
  status: ExecutionStatus | string;
  input: unknown;
  output: unknown;
  error: unknown;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  recovery_attempts: number;
  max_recovery_attempts: number;
  [extra: string]: unknown;
}

export interface Approval {
  id: string | number;
  execution_id: string;
  workflow: string;
  pause_name: string;
  status: string;
  title: string;
  [extra: string]: unknown;
}

export interface NodeOptions {
  retry_max_attempts?: number;
  retry_delay?: number;
  retry_backoff?: number;
  timeout?: number | null;
  [extra: string]: unknown;
}

export interface GraphNodeDef {
  id: string;
  task: string;
  options: NodeOptions;
}

export interface GraphEdgeDef {
  source: string;
  target: string;
  condition: string | null;
}

/** A graph definition: what the view draws and the editor edits. */
export interface GraphDef {
  name: string;
  description: string;
  nodes: GraphNodeDef[];
  edges: GraphEdgeDef[];
  start: string;
  end: string[];
  version: number;
  /** Where the editor draws each node, saved with the version (no effect on running). */
  layout?: Record<string, { x: number; y: number }>;
}

export interface TaskParameter {
  name: string;
  annotation: string | null;
  default: unknown;
  required: boolean;
}

export interface TaskInfo {
  name: string;
  doc: string;
  parameters: TaskParameter[];
  options: NodeOptions;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}
