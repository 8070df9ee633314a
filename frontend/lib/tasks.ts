// The task-state fold: what each event does to the task it belongs to. The
// execution page's timeline and the graph view both follow it, with the rules
// the server uses for a fresh load (executions/views/timeline.py):
//
//   TASK_STARTED                                  running (a new task)
//   TASK_COMPLETED, TASK_FALLBACK_COMPLETED       completed (ends it)
//   TASK_FAILED, TASK_FALLBACK_FAILED             failed (ends it)
//   TASK_RETRY_STARTED                            retrying, one more retry
//   TASK_RETRY_FAILED                             retrying
//   TASK_PAUSED                                   paused
//   TASK_RESUMED, TASK_FALLBACK_STARTED,
//   TASK_ROLLBACK_STARTED                         running
//
// Once a task has ended only another end changes it.

import { parseTime } from './format';
import type { FluxEvent } from './types';

export type TaskState = 'running' | 'retrying' | 'paused' | 'completed' | 'failed';

export const TASK_ENDS: Readonly<Record<string, TaskState>> = {
  TASK_COMPLETED: 'completed',
  TASK_FALLBACK_COMPLETED: 'completed',
  TASK_FAILED: 'failed',
  TASK_FALLBACK_FAILED: 'failed',
};

export const TASK_STATES: Readonly<Record<string, TaskState>> = {
  TASK_RETRY_STARTED: 'retrying',
  TASK_RETRY_FAILED: 'retrying',
  TASK_PAUSED: 'paused',
  TASK_RESUMED: 'running',
  TASK_FALLBACK_STARTED: 'running',
  TASK_ROLLBACK_STARTED: 'running',
};

/** What the fold keeps of a task; callers may keep more on the same object. */
export interface TaskProgress {
  state: string;
  retries: number;
  /** Whether an end event was seen. */
  ended: boolean;
}

/**
 * Applies one event (of a task already started) to `task`: 'ended' when it ends
 * the task, 'changed' when it changes its state, null when it changes nothing.
 */
export function foldTaskEvent(task: TaskProgress, type: string): 'ended' | 'changed' | null {
  const end = TASK_ENDS[type];
  if (end) {
    task.state = end;
    task.ended = true;
    return 'ended';
  }
  const next = TASK_STATES[type];
  if (!next || task.ended) return null;
  task.state = next;
  if (type === 'TASK_RETRY_STARTED') task.retries += 1;
  return 'changed';
}

/** One task of an execution's timeline (times in epoch ms). */
export interface TimelineTask extends TaskProgress {
  id: string;
  name: string;
  parent: string | null;
  start: number;
  end: number | null;
  depth: number;
}

/** The props the server renders the timeline from (`Bar.to_dict()`). */
export interface TimelineBar {
  id: string;
  name: string;
  parent: string | null;
  start: number;
  end: number | null;
  state: string;
  retries: number;
  depth?: number;
}

const MAX_DEPTH = 8;

/** Every task of one execution, folded from its events as they arrive. */
export class TaskTimeline {
  readonly tasks = new Map<string, TimelineTask>();
  /** The first event's time (epoch ms), the timeline's left edge. */
  start: number | null;

  constructor(bars: readonly TimelineBar[] = [], start: number | null = null) {
    this.start = start;
    for (const bar of bars) {
      this.tasks.set(bar.id, {
        id: bar.id,
        name: bar.name,
        parent: bar.parent,
        start: bar.start,
        end: bar.end,
        state: bar.state,
        retries: bar.retries,
        ended: bar.end !== null,
        depth: bar.depth ?? 0,
      });
    }
  }

  /** The task the event started or changed, or null when it touched none. */
  apply(event: FluxEvent): TimelineTask | null {
    const at = parseTime(event.time);
    this.start ??= at;
    if (event.type === 'TASK_STARTED') {
      if (this.tasks.has(event.source_id)) return null;
      const parent = event.parent_id ? this.tasks.get(event.parent_id) : undefined;
      const task: TimelineTask = {
        id: event.source_id,
        name: event.name,
        parent: event.parent_id,
        start: at,
        end: null,
        state: 'running',
        retries: 0,
        ended: false,
        depth: parent ? Math.min(parent.depth + 1, MAX_DEPTH) : 0,
      };
      this.tasks.set(task.id, task);
      return task;
    }
    const task = this.tasks.get(event.source_id);
    if (!task) return null;
    const step = foldTaskEvent(task, event.type);
    if (step === 'ended') task.end = at;
    return step ? task : null;
  }

  get done(): number {
    let n = 0;
    for (const task of this.tasks.values()) if (task.end !== null) n++;
    return n;
  }

  /** Depth first: each task followed by the tasks it started, by start time. */
  ordered(): TimelineTask[] {
    const children = new Map<string | null, TimelineTask[]>();
    for (const task of this.tasks.values()) {
      const key = task.parent !== null && this.tasks.has(task.parent) ? task.parent : null;
      const list = children.get(key);
      if (list) list.push(task);
      else children.set(key, [task]);
    }
    const out: TimelineTask[] = [];
    const walk = (key: string | null, depth: number) => {
      const list = (children.get(key) ?? []).sort((a, b) => a.start - b.start);
      for (const task of list) {
        task.depth = Math.min(depth, MAX_DEPTH);
        out.push(task);
        walk(task.id, depth + 1);
      }
    };
    walk(null, 0);
    return out;
  }
}
