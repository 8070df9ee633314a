// Orders an execution's events by `seq` and never lets a duplicate or a gap
// through: events at or below the last delivered seq are dropped, events
// beyond the next expected one wait in a buffer until the gap is filled.

import type { FluxEvent } from '../lib/types';

export type PushResult = 'delivered' | 'duplicate' | 'buffered';

export class EventSequencer {
  private readonly last = new Map<string, number>();
  private readonly buffers = new Map<string, Map<number, FluxEvent>>();
  private readonly deliver: (executionId: string, event: FluxEvent) => void;

  constructor(deliver: (executionId: string, event: FluxEvent) => void) {
    this.deliver = deliver;
  }

  /** Starts tracking an execution whose events up to `after` are already shown. */
  track(executionId: string, after: number): void {
    const known = this.last.get(executionId);
    if (known === undefined || after > known) this.last.set(executionId, after);
  }

  isTracked(executionId: string): boolean {
    return this.last.has(executionId);
  }

  /** The last delivered seq (0 when none), or undefined for an untracked execution. */
  lastSeq(executionId: string): number | undefined {
    return this.last.get(executionId);
  }

  /**
   * Accepts one event. An untracked execution starts at the first event seen
   * (list pages only see events of executions they did not load).
   */
  push(executionId: string, event: FluxEvent): PushResult {
    let last = this.last.get(executionId);
    if (last === undefined) {
      last = event.seq - 1;
      this.last.set(executionId, last);
    }
    if (event.seq <= last) return 'duplicate';
    if (event.seq > last + 1) {
      let buffer = this.buffers.get(executionId);
      if (!buffer) this.buffers.set(executionId, (buffer = new Map()));
      if (buffer.has(event.seq)) return 'duplicate';
      buffer.set(event.seq, event);
      return 'buffered';
    }
    this.last.set(executionId, event.seq);
    this.deliver(executionId, event);
    this.drain(executionId);
    return 'delivered';
  }

  /** True while buffered events wait for missing ones. */
  hasGap(executionId: string): boolean {
    const buffer = this.buffers.get(executionId);
    return buffer !== undefined && buffer.size > 0;
  }

  private drain(executionId: string): void {
    const buffer = this.buffers.get(executionId);
    if (!buffer) return;
    let last = this.last.get(executionId) ?? 0;
    for (const seq of buffer.keys()) if (seq <= last) buffer.delete(seq);
    let next = buffer.get(last + 1);
    while (next) {
      buffer.delete(last + 1);
      last += 1;
      this.last.set(executionId, last);
      this.deliver(executionId, next);
      next = buffer.get(last + 1);
    }
    if (buffer.size === 0) this.buffers.delete(executionId);
  }
}
