// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FluxEvent } from '../lib/types';
import { EventSequencer } from './sequencer';
import { LiveStream, UNAVAILABLE_CODE, backoffDelay, websocketUrl, type LiveStatus, type SocketLike } from './stream';

function ev(seq: number, type = 'TASK_STARTED'): FluxEvent {
  return { seq, type, name: 't', source_id: 's', parent_id: null, attempt: 0, value: null, time: '2024-01-01T00:00:00Z' };
}

class FakeSocket implements SocketLike {
  sent: unknown[] = [];
  closed = false;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.({});
  }
  drop(code?: number) {
    this.onclose?.(code === undefined ? {} : { code });
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  event(e: FluxEvent, executionId = '7') {
    this.receive({ type: 'event', execution_id: executionId, event: e });
  }
}

/** A REST server holding one execution's full event log. */
function fakeApi(log: FluxEvent[], pageSize = 2) {
  const calls: string[] = [];
  let status = 'running';
  const fetch = vi.fn(async (url: string) => {
    calls.push(url);
    const match = /\/executions\/(\w+)\/events\?after=(\d+)/.exec(url);
    if (match) {
      const after = Number(match[2]);
      const rest = log.filter((e) => e.seq > after);
      const items = rest.slice(0, pageSize);
      const body = { items, next: rest.length > pageSize ? 'more' : null };
      return new Response(JSON.stringify(body), { status: 200 });
    }
    if (/\/executions\/\w+$/.test(url)) {
      return new Response(JSON.stringify({ id: '7', workflow: 'w', status }), { status: 200 });
    }
    return new Response('{"detail":"nope","code":"not_found"}', { status: 404 });
  });
  return { fetch, calls, setStatus: (s: string) => (status = s) };
}

function setup(options: { log?: FluxEvent[]; after?: number } = {}) {
  const sockets: FakeSocket[] = [];
  const delivered: number[] = [];
  const statuses: LiveStatus[] = [];
  const executions: unknown[] = [];
  const api = fakeApi(options.log ?? []);
  const stream = LiveStream.forExecution('7', {
    after: options.after ?? 0,
    socketFactory: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    fetch: api.fetch,
    random: () => 0.5,
    onEvent: (e) => delivered.push(e.seq),
    onStatus: (s) => statuses.push(s),
    onExecution: (e) => executions.push(e),
  });
  stream.start();
  const latest = () => sockets[sockets.length - 1]!;
  return { stream, sockets, latest, delivered, statuses, executions, api };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('EventSequencer', () => {
  it('delivers consecutive events and drops duplicates', () => {
    const out: number[] = [];
    const seq = new EventSequencer((_, e) => out.push(e.seq));
    seq.track('a', 0);
    expect(seq.push('a', ev(1))).toBe('delivered');
    expect(seq.push('a', ev(1))).toBe('duplicate');
    expect(seq.push('a', ev(2))).toBe('delivered');
    expect(out).toEqual([1, 2]);
  });

  it('holds events beyond a gap until the gap is filled, then releases them in order', () => {
    const out: number[] = [];
    const seq = new EventSequencer((_, e) => out.push(e.seq));
    seq.track('a', 3);
    expect(seq.push('a', ev(6))).toBe('buffered');
    expect(seq.push('a', ev(5))).toBe('buffered');
    expect(seq.push('a', ev(6))).toBe('duplicate');
    expect(seq.hasGap('a')).toBe(true);
    expect(out).toEqual([]);
    seq.push('a', ev(4));
    expect(out).toEqual([4, 5, 6]);
    expect(seq.hasGap('a')).toBe(false);
    expect(seq.lastSeq('a')).toBe(6);
  });

  it('ignores events at or below the starting point', () => {
    const out: number[] = [];
    const seq = new EventSequencer((_, e) => out.push(e.seq));
    seq.track('a', 5);
    seq.push('a', ev(3));
    seq.push('a', ev(5));
    expect(out).toEqual([]);
  });

  it('starts an untracked execution at its first event', () => {
    const out: string[] = [];
    const seq = new EventSequencer((id, e) => out.push(`${id}:${e.seq}`));
    seq.push('b', ev(10));
    seq.push('b', ev(11));
    seq.push('c', ev(2));
    expect(out).toEqual(['b:10', 'b:11', 'c:2']);
  });

  it('keeps executions apart', () => {
    const out: string[] = [];
    const seq = new EventSequencer((id, e) => out.push(`${id}:${e.seq}`));
    seq.track('a', 0);
    seq.track('b', 0);
    seq.push('a', ev(1));
    seq.push('b', ev(2));
    seq.push('b', ev(1));
    expect(out).toEqual(['a:1', 'b:1', 'b:2']);
  });
});

describe('backoffDelay and websocketUrl', () => {
  it('grows exponentially up to the maximum', () => {
    const options = { initialDelay: 500, maxDelay: 4000, factor: 2, jitter: 0 };
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, options))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });

  it('randomises within the jitter fraction', () => {
    const options = { initialDelay: 1000, maxDelay: 4000, factor: 2, jitter: 0.2 };
    expect(backoffDelay(1, options, () => 0)).toBe(800);
    expect(backoffDelay(1, options, () => 1)).toBe(1200);
  });

  it('builds ws and wss URLs from the page', () => {
    expect(websocketUrl('/ws/inbox/', { protocol: 'http:', host: 'h:8000' })).toBe('ws://h:8000/ws/inbox/');
    expect(websocketUrl('/ws/inbox/', { protocol: 'https:', host: 'h' })).toBe('wss://h/ws/inbox/');
    expect(websocketUrl('ws://x/y', { protocol: 'https:', host: 'h' })).toBe('ws://x/y');
  });
});

describe('LiveStream', () => {
  it('subscribes after the last seq the page already has', () => {
    const { latest, statuses } = setup({ after: 4 });
    expect(latest().url).toBe('ws://localhost:3000/ws/executions/7/');
    latest().open();
    expect(latest().sent).toEqual([{ type: 'subscribe', after: 4 }]);
    expect(statuses).toEqual(['connecting', 'live']);
  });

  it('delivers pushed events in order without duplicates', () => {
    const { latest, delivered } = setup();
    latest().open();
    latest().event(ev(1));
    latest().event(ev(2));
    latest().event(ev(2));
    latest().event(ev(1));
    latest().event(ev(3));
    expect(delivered).toEqual([1, 2, 3]);
  });

  it('fetches missing events over REST before showing a later one', async () => {
    const log = [1, 2, 3, 4, 5, 6].map((n) => ev(n));
    const { latest, delivered, api } = setup({ log });
    latest().open();
    latest().event(ev(1));
    latest().event(ev(6));
    expect(delivered).toEqual([1]);
    await vi.runAllTimersAsync();
    expect(delivered).toEqual([1, 2, 3, 4, 5, 6]);
    expect(api.calls[0]).toBe('/api/executions/7/events?after=1');
    // Paged: 2 per page, so it asked again after the last one it received.
    expect(api.calls).toContain('/api/executions/7/events?after=3');
  });

  it('does not duplicate an event that arrives by socket while the gap is being filled', async () => {
    const log = [1, 2, 3, 4].map((n) => ev(n));
    const { latest, delivered } = setup({ log });
    latest().open();
    latest().event(ev(3));
    latest().event(ev(4));
    latest().event(ev(2));
    await vi.runAllTimersAsync();
    latest().event(ev(4));
    expect(delivered).toEqual([1, 2, 3, 4]);
  });

  it('passes execution and approval messages through', () => {
    const approvals: unknown[] = [];
    const stream = new LiveStream({
      path: '/ws/inbox/',
      socketFactory: (url) => (socket = new FakeSocket(url)),
      onApproval: (a) => approvals.push(a),
    });
    let socket: FakeSocket | undefined;
    stream.start();
    socket!.open();
    socket!.receive({ type: 'approval', approval: { id: 1 } });
    socket!.receive('not json');
    expect(approvals).toEqual([{ id: 1 }]);
    stream.close();
  });

  it('reports executions and the finished state', () => {
    const { latest, executions } = setup();
    latest().open();
    latest().receive({ type: 'execution', execution: { id: '7', status: 'completed' } });
    expect(executions).toEqual([{ id: '7', status: 'completed' }]);
  });

  it('reconnects with backoff and resubscribes after the last delivered seq', async () => {
    const { latest, sockets, statuses } = setup();
    latest().open();
    latest().event(ev(1));
    latest().event(ev(2));
    vi.advanceTimersByTime(5000); // a healthy connection
    latest().drop();
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(sockets).toHaveLength(2);
    latest().open();
    expect(latest().sent).toEqual([{ type: 'subscribe', after: 2 }]);
    expect(statuses.at(-1)).toBe('live');
  });

  it('refreshes the execution over REST after a reconnect', async () => {
    const { latest, executions } = setup();
    latest().open();
    vi.advanceTimersByTime(5000);
    latest().drop();
    await vi.advanceTimersByTimeAsync(600);
    latest().open();
    await vi.runOnlyPendingTimersAsync();
    expect(executions).toEqual([{ id: '7', workflow: 'w', status: 'running' }]);
  });

  it('falls back to polling after repeated failures, then goes live again', async () => {
    const log = [1, 2, 3].map((n) => ev(n));
    const { latest, sockets, statuses, delivered, api } = setup({ log });
    latest().drop(); // failure 1
    await vi.advanceTimersByTimeAsync(500);
    latest().drop(); // failure 2
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets).toHaveLength(3);
    latest().drop(); // failure 3 -> polling
    expect(statuses).toContain('polling');
    await vi.advanceTimersByTimeAsync(10);
    expect(delivered).toEqual([1, 2, 3]);
    expect(api.calls.some((u) => u === '/api/executions/7')).toBe(true);

    log.push(ev(4));
    await vi.advanceTimersByTimeAsync(2000);
    expect(delivered).toEqual([1, 2, 3, 4]);

    // It keeps probing the socket at the longest delay.
    await vi.advanceTimersByTimeAsync(15_000);
    latest().open();
    expect(statuses.at(-1)).toBe('live');
    expect(latest().sent).toEqual([{ type: 'subscribe', after: 4 }]);
    const before = api.calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(api.calls.length - before).toBeLessThanOrEqual(1); // polling stopped (one execution refresh at most)
  });

  it('counts a socket that closes right after opening as a failure', async () => {
    const { latest, statuses } = setup();
    for (let i = 0; i < 3; i++) {
      latest().open();
      latest().drop();
      await vi.advanceTimersByTimeAsync(5000);
    }
    expect(statuses).toContain('polling');
  });

  it.each([4403, 4404])('stops for good when the server refuses the socket (%i)', async (code) => {
    const { latest, sockets, statuses, api } = setup();
    latest().open();
    latest().drop(code);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)).toBe('closed');
    expect(api.calls).toHaveLength(0);
  });

  it('reconnects and catches up when the server is temporarily unavailable (4503)', async () => {
    const { latest, sockets, statuses } = setup();
    latest().open();
    latest().event(ev(1));
    latest().event(ev(2));
    vi.advanceTimersByTime(5000);
    latest().drop(UNAVAILABLE_CODE); // the database went away
    expect(statuses.at(-1)).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(600);
    expect(sockets).toHaveLength(2);
    latest().open(); // the handshake is answered, then closed again: still down
    latest().drop(UNAVAILABLE_CODE);
    await vi.advanceTimersByTimeAsync(1100);
    expect(sockets).toHaveLength(3);
    latest().open(); // back
    expect(latest().sent).toEqual([{ type: 'subscribe', after: 2 }]);
    expect(statuses.at(-1)).toBe('live');
  });

  it('stops everything on close', async () => {
    const { stream, latest, sockets, statuses } = setup();
    latest().open();
    stream.close();
    expect(latest().closed).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)).toBe('closed');
  });

  it('polls a list endpoint for list streams', async () => {
    const seen: unknown[] = [];
    const fetch = vi.fn(async (_url: string) => new Response(JSON.stringify({ items: [{ id: 2 }, { id: 1 }], next: null })));
    const stream = LiveStream.forExecutions({
      socketFactory: (url) => new FakeSocket(url),
      fetch,
      onExecution: (e) => seen.push(e),
    });
    await stream.pollOnce();
    expect(fetch.mock.calls[0]![0]).toBe('/api/executions/?limit=50');
    expect(seen).toEqual([{ id: 1 }, { id: 2 }]);
  });
});
