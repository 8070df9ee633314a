// Entry point of the generic live island (the inbox uses it; the dashboard's
// pages have their own, dashboard.ts). No React. It exports LiveStream for
// page scripts
//   <script type="module">import { LiveStream } from "{% vite_asset_url 'frontend/live.ts' %}"</script>
// sets `window.Fluxweb.LiveStream`, and wires any `[data-island="live"]`
// element with props {"kind": "execution"|"executions"|"inbox",
// "executionId"?: ID, "after"?: SEQ, "apiBase"?: "/api"}:
//   - fires DOM events on that element: `live:event` (detail {event,
//     executionId}), `live:execution`, `live:approval`, `live:status`;
//   - sets its `data-live-status` attribute (live | reconnecting | polling);
//   - updates every `[data-execution-id="ID"][data-status]` badge on the page;
//   - appends one row per event (lib/events.ts, with `data-seq`) to a
//     `<tbody data-live-events>` inside it, unless the page cancels the
//     `live:event` event.

import { insertBySeq, renderEventRow } from './lib/events';
import { showLiveStatus, updateStatusBadges } from './lib/live-dom';
import { mountIslands } from './lib/props';
import type { Execution, FluxEvent } from './lib/types';
import { LiveStream, type LiveStatus } from './live/stream';

export { LiveStream, backoffDelay, websocketUrl } from './live/stream';
export type { LiveStatus, LiveStreamOptions, SocketLike } from './live/stream';
export { EventSequencer } from './live/sequencer';

interface LiveProps {
  kind?: 'execution' | 'executions' | 'inbox';
  executionId?: string | number | null;
  after?: number;
  apiBase?: string;
}

function mountLive(element: HTMLElement, raw: unknown): void {
  const props = (raw ?? {}) as LiveProps;
  const fire = (name: string, detail: unknown) =>
    element.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, cancelable: true }));
  const callbacks = {
    apiBase: props.apiBase,
    onEvent: (event: FluxEvent, executionId: string) => {
      if (!fire('live:event', { event, executionId })) return;
      const container = element.querySelector('[data-live-events]');
      if (container) insertBySeq(container, renderEventRow(document, event));
    },
    onExecution: (execution: Execution) => {
      if (fire('live:execution', { execution })) updateStatusBadges(document, execution);
    },
    onApproval: (approval: unknown) => fire('live:approval', { approval }),
    onStatus: (status: LiveStatus) => {
      showLiveStatus(element, status);
      fire('live:status', { status });
    },
  };
  const kind = props.kind ?? (props.executionId ? 'execution' : 'executions');
  const stream =
    kind === 'execution' && props.executionId != null
      ? LiveStream.forExecution(String(props.executionId), { ...callbacks, after: props.after ?? 0 })
      : kind === 'inbox'
        ? LiveStream.forInbox(callbacks)
        : LiveStream.forExecutions(callbacks);
  (element as HTMLElement & { liveStream?: LiveStream }).liveStream = stream;
  stream.start();
  window.addEventListener('pagehide', () => stream.close(), { once: true });
}

declare global {
  interface Window {
    Fluxweb?: { LiveStream: typeof LiveStream; [name: string]: unknown };
  }
}

if (typeof window !== 'undefined') {
  window.Fluxweb = { ...window.Fluxweb, LiveStream };
  mountIslands('live', mountLive);
}
