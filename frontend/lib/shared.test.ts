// @vitest-environment happy-dom
// The pieces the dashboard, the inbox and the graph view share: the duration
// formatter, the event row, the task-state fold. Each must read as the server
// renders a fresh load.
import { describe, expect, it } from 'vitest';
import { insertBySeq, renderEventRow } from './events';
import { clockTime, formatDuration, formatMoment, parseTime, summarize, timeElement } from './format';
import { TaskTimeline, foldTaskEvent, type TaskProgress } from './tasks';
import type { FluxEvent } from './types';

let seq = 0;
function ev(type: string, source: string, parent: string | null = null, time = '2026-03-01T10:00:00.000000+00:00', value: unknown = null, name = 'step'): FluxEvent {
  seq += 1;
  return { seq, type, name, source_id: source, parent_id: parent, attempt: 1, value, time };
}

describe('formatDuration (as executions/views/common.py human_duration)', () => {
  it('reads well at every scale', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(Number.NaN)).toBe('');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(999.4)).toBe('999 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(formatDuration(42_000)).toBe('42.0 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(3_599_999)).toBe('59 min 59 s');
    expect(formatDuration(7_380_000)).toBe('2 h 03 min');
  });
});

describe('summarize (as executions/views/executions.py _summary)', () => {
  it("writes JSON spaced as Python's json.dumps and cuts long values", () => {
    expect(summarize(null)).toBe('');
    expect(summarize('plain text')).toBe('plain text');
    expect(summarize({ a: 1, b: [1, 'x', null], c: { d: true } })).toBe('{"a": 1, "b": [1, "x", null], "c": {"d": true}}');
    const long = summarize('x'.repeat(200));
    expect(long).toHaveLength(160);
    expect(long.endsWith('…')).toBe(true);
  });

  it('reads ISO moments to the microsecond, as the server does', () => {
    expect(parseTime('2026-03-01T10:00:00.000250+00:00') - parseTime('2026-03-01T10:00:00+00:00')).toBeCloseTo(0.25, 6);
    expect(parseTime('2026-03-01T12:00:00.5+02:00')).toBe(Date.parse('2026-03-01T10:00:00.500Z'));
    expect(parseTime('2026-03-01T10:00:00Z')).toBe(Date.parse('2026-03-01T10:00:00Z'));
  });

  it('reads the UTC clock time of an ISO moment to the millisecond', () => {
    expect(clockTime('2026-03-01T10:04:05.123456+00:00')).toBe('10:04:05.123');
    expect(clockTime('2026-03-01T12:04:05.5+02:00')).toBe('10:04:05.500');
  });

  it('shows a moment as the time_tag filter does (executions/templatetags/times.py)', () => {
    // The same cases as tests/web/test_times.py renders on the server.
    expect(formatMoment('2026-03-27T08:00:00.999999+00:00')).toBe('2026-03-27 08:00:00');
    expect(formatMoment('2026-03-27T10:00:00+02:00')).toBe('2026-03-27 08:00:00');
    expect(formatMoment('2026-12-31T23:59:59Z')).toBe('2026-12-31 23:59:59');
    expect(formatMoment('soon')).toBe('soon');
    const node = timeElement(document, '2026-03-27T08:00:00.999999+00:00');
    expect(node.outerHTML).toBe('<time datetime="2026-03-27T08:00:00.999999+00:00">2026-03-27 08:00:00</time>');
  });
});

describe('renderEventRow (as executions/views/render.py event_rows)', () => {
  it('renders the markup of a fresh load', () => {
    const row = renderEventRow(document, {
      seq: 7, type: 'TASK_FAILED', name: 'charge <card>', source_id: 'abc', parent_id: null, attempt: 1,
      value: { message: 'declined' }, time: '2026-03-01T10:04:05.123456+00:00',
    });
    expect(row.outerHTML).toBe(
      '<tr data-seq="7" data-type="TASK_FAILED" data-source="abc" class="live-event live-event--error">' +
        '<td>7</td><td><time datetime="2026-03-01T10:04:05.123456+00:00">10:04:05.123</time></td>' +
        '<td>TASK_FAILED</td><td>charge &lt;card&gt;</td><td><code class="value">{"message": "declined"}</code></td></tr>',
    );
    expect(renderEventRow(document, ev('TASK_STARTED', 'a')).className).toBe('live-event');
  });

  it('keeps rows in seq order and never doubles one', () => {
    const tbody = document.createElement('tbody');
    const row = (n: number) => {
      const r = document.createElement('tr');
      r.dataset.seq = String(n);
      return r;
    };
    for (const n of [1, 2, 5]) expect(insertBySeq(tbody, row(n))).toBe(true);
    expect(insertBySeq(tbody, row(3))).toBe(true);
    expect(insertBySeq(tbody, row(5))).toBe(false);
    expect([...tbody.children].map((r) => (r as HTMLElement).dataset.seq)).toEqual(['1', '2', '3', '5']);
  });
});

describe('the task-state fold (as executions/views/timeline.py)', () => {
  const fold = (...types: string[]) => {
    const task: TaskProgress = { state: 'running', retries: 0, ended: false };
    for (const type of types) foldTaskEvent(task, type);
    return task;
  };

  it('follows retries, pauses, fallbacks and rollbacks', () => {
    expect(fold('TASK_RETRY_STARTED', 'TASK_RETRY_FAILED', 'TASK_RETRY_STARTED')).toEqual({ state: 'retrying', retries: 2, ended: false });
    expect(fold('TASK_PAUSED').state).toBe('paused');
    expect(fold('TASK_PAUSED', 'TASK_RESUMED').state).toBe('running');
    expect(fold('TASK_ROLLBACK_STARTED', 'TASK_FALLBACK_STARTED', 'TASK_FALLBACK_COMPLETED')).toEqual({ state: 'completed', retries: 0, ended: true });
    expect(fold('TASK_FALLBACK_FAILED').state).toBe('failed');
    expect(fold('TASK_RETRY_STARTED', 'TASK_RETRY_COMPLETED', 'TASK_COMPLETED')).toEqual({ state: 'completed', retries: 1, ended: true });
  });

  it('leaves an ended task ended, unless another end follows', () => {
    expect(fold('TASK_COMPLETED', 'TASK_RETRY_STARTED', 'TASK_PAUSED')).toEqual({ state: 'completed', retries: 0, ended: true });
    expect(fold('TASK_COMPLETED', 'TASK_FAILED').state).toBe('failed');
    const task: TaskProgress = { state: 'running', retries: 0, ended: false };
    expect(foldTaskEvent(task, 'WORKFLOW_STARTED')).toBeNull();
    expect(foldTaskEvent(task, 'TASK_PAUSED')).toBe('changed');
    expect(foldTaskEvent(task, 'TASK_COMPLETED')).toBe('ended');
  });

  it('builds a timeline: nesting, depth, ends, done count, order by start', () => {
    const t = new TaskTimeline();
    t.apply(ev('WORKFLOW_STARTED', 'wf', null, '2026-03-01T10:00:00+00:00'));
    t.apply(ev('TASK_STARTED', 'b', null, '2026-03-01T10:00:02+00:00', null, 'second'));
    t.apply(ev('TASK_STARTED', 'a', null, '2026-03-01T10:00:01+00:00', null, 'first'));
    t.apply(ev('TASK_STARTED', 'a1', 'a', '2026-03-01T10:00:03+00:00', null, 'child'));
    expect(t.apply(ev('TASK_STARTED', 'a', null))).toBeNull(); // started once
    const done = t.apply(ev('TASK_COMPLETED', 'a1', 'a', '2026-03-01T10:00:04.500+00:00'));
    expect(done).toMatchObject({ state: 'completed', end: Date.parse('2026-03-01T10:00:04.500Z') });
    expect(t.apply(ev('TASK_COMPLETED', 'unknown'))).toBeNull();
    expect(t.start).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(t.done).toBe(1);
    expect(t.ordered().map((x) => [x.id, x.depth])).toEqual([['a', 0], ['a1', 1], ['b', 0]]);
  });

  it('starts from the bars the server rendered', () => {
    const t = new TaskTimeline([{ id: 'x', name: 'x', parent: null, start: 1000, end: 2000, state: 'completed', retries: 1, depth: 0 }], 900);
    expect(t.done).toBe(1);
    expect(t.apply(ev('TASK_RETRY_STARTED', 'x'))).toBeNull();
    expect(t.tasks.get('x')).toMatchObject({ state: 'completed', ended: true, retries: 1 });
  });
});
