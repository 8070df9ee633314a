// LiveStream: one websocket to the server's live channel, with the promises
// the dashboard makes: events arrive in `seq` order with no gap and no
// duplicate (missing ones are fetched over REST first), the socket
// reconnects with backoff, and after repeated failures the stream falls back
// to polling the REST API while it keeps probing the socket.
//
// Wire format (server -> browser):
//   {"type": "event", "execution_id": ID, "event": EVENT}
//   {"type": "execution", "execution": EXECUTION}
//   {"type": "approval", "approval": APPROVAL}
// Browser -> server, on every (re)connect: {"type": "subscribe", "after": lastSeq}

import { apiRequest, type FetchLike } from '../lib/api';
import { TERMINAL_STATUSES, type Approval, type Execution, type FluxEvent, type Page } from '../lib/types';
import { EventSequencer } from './sequencer';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'polling' | 'closed';

/** The part of the browser's WebSocket that LiveStream uses (tests pass a fake). */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export interface BackoffOptions {
  /** First reconnect delay, in ms. */
  initialDelay: number;
  /** Longest delay between attempts, in ms (also the probe interval while polling). */
  maxDelay: number;
  factor: number;
  /** 0..1: each delay is randomised by up to this fraction. */
  jitter: number;
}

export interface LiveStreamOptions {
  /** Websocket path, e.g. `/ws/executions/42/`, or a full ws:// URL. */
  path: string;
  /** Set for a one-execution stream: enables gap filling and event polling. */
  executionId?: string | null;
  /** The last seq the page already shows (0 when none). */
  after?: number;
  apiBase?: string;
  /** For list and inbox streams: a REST list (`{"items", "next"}`) polled as the fallback. */
  pollPath?: string | null;
  pollKind?: 'execution' | 'approval';
  onEvent?: (event: FluxEvent, executionId: string) => void;
  onExecution?: (execution: Execution) => void;
  onApproval?: (approval: Approval) => void;
  onStatus?: (status: LiveStatus) => void;
  /** Consecutive failed connects before polling starts. */
  failuresBeforePolling?: number;
  /** Poll interval in ms (slowed down five times once the execution has finished). */
  pollInterval?: number;
  /** A socket that closes sooner than this after opening counts as a failure. */
  minHealthyMs?: number;
  backoff?: Partial<BackoffOptions>;
  socketFactory?: SocketFactory;
  fetch?: FetchLike;
  random?: () => number;
}

/** Close codes the server refuses a socket with (docs/frontend.md): the stream stops. */
export const REFUSED_CODES: ReadonlySet<number> = new Set([4403, 4404]);
/** The server cannot answer now (its database or Redis is down): the stream reconnects
 * with backoff, like after any other lost socket, and catches up from its last seq. */
export const UNAVAILABLE_CODE = 4503;

const DEFAULT_BACKOFF: BackoffOptions = { initialDelay: 500, maxDelay: 15_000, factor: 2, jitter: 0.2 };

/** The delay before reconnect attempt number `failures` (1-based). */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxDelay, options.initialDelay * options.factor ** Math.max(0, failures - 1));
  const spread = base * options.jitter;
  return Math.max(0, Math.round(base - spread + 2 * spread * random()));
}

/** Turns `/ws/...` into an absolute ws:// or wss:// URL for the current page. */
export function websocketUrl(path: string, location: { protocol: string; host: string } = globalThis.location): string {
  if (/^wss?:\/\//.test(path)) return path;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

function defaultSocketFactory(url: string): SocketLike {
  return new WebSocket(url) as unknown as SocketLike;
}

export class LiveStream {
  readonly options: LiveStreamOptions;
  private readonly sequencer: EventSequencer;
  private readonly backoff: BackoffOptions;
  private readonly apiBase: string;
  private socket: SocketLike | null = null;
  private status: LiveStatus | null = null;
  private stopped = false;
  private started = false;
  private everOpened = false;
  private failures = 0;
  private openedAt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private polling = false;
  private finished = false;
  private readonly filling = new Map<string, Promise<void>>();
  private readonly refill = new Set<string>();

  constructor(options: LiveStreamOptions) {
    this.options = options;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.apiBase = (options.apiBase ?? '/api').replace(/\/$/, '');
    this.sequencer = new EventSequencer((executionId, event) => this.options.onEvent?.(event, executionId));
    if (options.executionId) this.sequencer.track(options.executionId, options.after ?? 0);
  }

  /** A stream of one execution's events and status (`/ws/executions/<id>/`). */
  static forExecution(executionId: string, options: Omit<LiveStreamOptions, 'path' | 'executionId'> = {}): LiveStream {
    return new LiveStream({ ...options, path: `/ws/executions/${encodeURIComponent(executionId)}/`, executionId });
  }

  /** Execution summaries for lists and the overview (`/ws/executions/`). */
  static forExecutions(options: Omit<LiveStreamOptions, 'path'> = {}): LiveStream {
    const apiBase = (options.apiBase ?? '/api').replace(/\/$/, '');
    return new LiveStream({ pollPath: `${apiBase}/executions/?limit=50`, pollKind: 'execution', ...options, path: '/ws/executions/' });
  }

  /** Approvals for the inbox (`/ws/inbox/`). */
  static forInbox(options: Omit<LiveStreamOptions, 'path'> = {}): LiveStream {
    const apiBase = (options.apiBase ?? '/api').replace(/\/$/, '');
    return new LiveStream({ pollPath: `${apiBase}/approvals/?status=pending`, pollKind: 'approval', ...options, path: '/ws/inbox/' });
  }

  /** The last event seq delivered for the stream's execution (0 when none). */
  get lastSeq(): number {
    const id = this.options.executionId;
    return id ? (this.sequencer.lastSeq(id) ?? 0) : 0;
  }

  get currentStatus(): LiveStatus | null {
    return this.status;
  }

  start(): this {
    if (this.started) return this;
    this.started = true;
    this.connect();
    return this;
  }

  close(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onerror = socket.onopen = null;
      socket.close(1000, 'page closed the stream');
    }
    this.setStatus('closed');
  }

  /** Feeds events from elsewhere (e.g. a REST page) through the same ordering. */
  ingest(events: FluxEvent[], executionId: string | null = this.options.executionId ?? null): void {
    if (!executionId) return;
    const sorted = [...events].sort((a, b) => a.seq - b.seq);
    for (const event of sorted) this.sequencer.push(executionId, event);
    if (this.sequencer.hasGap(executionId)) void this.fillGap(executionId);
  }

  // -- websocket ----------------------------------------------------------

  private connect(): void {
    if (this.stopped) return;
    this.reconnectTimer = null;
    if (!this.polling) this.setStatus(this.everOpened || this.failures > 0 ? 'reconnecting' : 'connecting');
    let socket: SocketLike;
    try {
      socket = (this.options.socketFactory ?? defaultSocketFactory)(websocketUrl(this.options.path));
    } catch {
      this.onSocketLost(false);
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.openedAt = Date.now();
      const reconnected = this.everOpened || this.polling;
      this.everOpened = true;
      this.stopPolling();
      this.setStatus('live');
      socket.send(JSON.stringify({ type: 'subscribe', after: this.lastSeq }));
      if (reconnected) void this.refreshExecution();
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      this.handleMessage(message.data);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (REFUSED_CODES.has((event as { code?: number } | null)?.code ?? 0)) {
        // Refused (4403: no permission or logged out; 4404: no such execution or path):
        // retrying cannot help, and neither can polling the same data over REST.
        this.stopped = true;
        this.clearTimers();
        this.setStatus('closed');
        return;
      }
      const healthy = opened && Date.now() - this.openedAt >= (this.options.minHealthyMs ?? 2000);
      this.onSocketLost(healthy);
    };
  }

  private onSocketLost(wasHealthy: boolean): void {
    if (this.stopped) return;
    this.failures = wasHealthy ? 0 : this.failures + 1;
    if (this.failures >= (this.options.failuresBeforePolling ?? 3) && !this.polling) this.startPolling();
    if (!this.polling) this.setStatus('reconnecting');
    const delay = this.polling ? this.backoff.maxDelay : backoffDelay(Math.max(1, this.failures), this.backoff, this.options.random);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private handleMessage(data: unknown): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    switch (message.type) {
      case 'event': {
        const event = message.event as FluxEvent | undefined;
        const executionId = String(message.execution_id ?? this.options.executionId ?? '');
        if (event && executionId) this.ingest([event], executionId);
        break;
      }
      case 'events': {
        const events = message.events as FluxEvent[] | undefined;
        const executionId = String(message.execution_id ?? this.options.executionId ?? '');
        if (events && executionId) this.ingest(events, executionId);
        break;
      }
      case 'execution':
        if (message.execution) this.receiveExecution(message.execution as Execution);
        break;
      case 'approval':
        if (message.approval) this.options.onApproval?.(message.approval as Approval);
        break;
    }
  }

  private receiveExecution(execution: Execution): void {
    if (this.options.executionId && String(execution.id) === String(this.options.executionId)) {
      this.finished = TERMINAL_STATUSES.has(execution.status);
    }
    this.options.onExecution?.(execution);
  }

  // -- REST: gap filling and polling ----------------------------------------

  /** Fetches the events after the last delivered one until the gap closes. */
  fillGap(executionId: string): Promise<void> {
    const running = this.filling.get(executionId);
    if (running) {
      this.refill.add(executionId);
      return running;
    }
    const work = (async () => {
      try {
        do {
          this.refill.delete(executionId);
          await this.fetchEventsAfter(executionId);
        } while (this.refill.has(executionId) && this.sequencer.hasGap(executionId));
      } catch {
        // The next event, reconnect or poll tries again; nothing is lost.
        if (!this.stopped && this.sequencer.hasGap(executionId)) {
          setTimeout(() => {
            if (!this.stopped && this.sequencer.hasGap(executionId)) void this.fillGap(executionId);
          }, 1000);
        }
      } finally {
        this.filling.delete(executionId);
      }
    })();
    this.filling.set(executionId, work);
    return work;
  }

  private async fetchEventsAfter(executionId: string): Promise<void> {
    for (let pages = 0; pages < 1000 && !this.stopped; pages++) {
      const after = this.sequencer.lastSeq(executionId) ?? 0;
      const url = `${this.apiBase}/executions/${encodeURIComponent(executionId)}/events?after=${after}`;
      const page = await apiRequest<Page<FluxEvent>>(url, { fetch: this.options.fetch });
      const items = [...(page.items ?? [])].sort((a, b) => a.seq - b.seq);
      for (const event of items) this.sequencer.push(executionId, event);
      const progressed = (this.sequencer.lastSeq(executionId) ?? 0) > after;
      if (!page.next || items.length === 0 || !progressed) return;
    }
  }

  private async refreshExecution(): Promise<void> {
    const id = this.options.executionId;
    if (!id) return;
    try {
      const execution = await apiRequest<Execution>(`${this.apiBase}/executions/${encodeURIComponent(id)}`, {
        fetch: this.options.fetch,
      });
      if (!this.stopped) this.receiveExecution(execution);
    } catch {
      // A later poll or message brings it.
    }
  }

  /** One round of polling (exposed for tests). */
  async pollOnce(): Promise<void> {
    const id = this.options.executionId;
    if (id) {
      await this.fillGap(id);
      await this.fetchEventsAfter(id).catch(() => {});
      await this.refreshExecution();
      return;
    }
    if (!this.options.pollPath) return;
    try {
      const page = await apiRequest<Page<Execution | Approval>>(this.options.pollPath, { fetch: this.options.fetch });
      for (const item of [...page.items].reverse()) {
        if (this.options.pollKind === 'approval') this.options.onApproval?.(item as Approval);
        else this.receiveExecution(item as Execution);
      }
    } catch {
      // Try again next round.
    }
  }

  private startPolling(): void {
    this.polling = true;
    this.setStatus('polling');
    const round = async () => {
      if (!this.polling || this.stopped) return;
      await this.pollOnce();
      if (!this.polling || this.stopped) return;
      const interval = (this.options.pollInterval ?? 2000) * (this.finished ? 5 : 1);
      this.pollTimer = setTimeout(round, interval);
    };
    void round();
  }

  private stopPolling(): void {
    this.polling = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  private clearTimers(): void {
    this.stopPolling();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.options.onStatus?.(status);
  }
}
