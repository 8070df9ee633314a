// The JSON shapes the server sends and accepts (DESIGN.md, "Interfaces people
// and scripts rely on"). The API's shapes come from ./api-types.ts, generated from
// the OpenAPI document by scripts/api-types (never edit that file by hand); this
// module names the ones the islands use.

import type { components } from './api-types';

type Schemas = components['schemas'];

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
export type FluxEvent = Schemas['Event'];

/** An execution as JSON (`GET /api/executions/{id}`). */
export type Execution = Schemas['Execution'];

/** An approval as JSON (`GET /api/approvals/`). */
export type Approval = Schemas['ApprovalOut'];

export type NodeOptions = Schemas['NodeOptions'];
export type GraphNodeDef = Schemas['GraphNode'];
export type GraphEdgeDef = Schemas['GraphEdge'];

/** A graph definition at a version: what the view draws and the editor edits. */
export type GraphDef = Schemas['GraphDefinition'] & { version: number };

export type TaskParameter = Schemas['TaskParameter'];
export type TaskInfo = Schemas['TaskInfo'];

/** A page of a list: `{"items", "next"}` (every `Paged...` answer). */
export interface Page<T> {
  items: T[];
  next: string | null;
}
