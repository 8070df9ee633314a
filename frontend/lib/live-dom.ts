// What every live page does to the DOM: status badges and the live indicator.

import type { LiveStatus } from '../live/stream';
import type { Execution } from './types';

export const LIVE_STATUS_LABELS: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  polling: 'Live (polling)',
  closed: 'Stopped',
};

/**
 * Every `[data-execution-id="ID"][data-status]` badge under `root` takes the
 * execution's status (and loses a worker-lost mark, which a status change ends).
 */
export function updateStatusBadges(root: ParentNode, execution: Pick<Execution, 'id' | 'status'>): void {
  const id = CSS.escape(String(execution.id));
  root.querySelectorAll<HTMLElement>(`[data-execution-id="${id}"][data-status]`).forEach((badge) => {
    if (badge.dataset.status === execution.status && !badge.dataset.workerLost) return;
    badge.dataset.status = execution.status;
    delete badge.dataset.workerLost;
    badge.classList.remove('badge-lost');
    if (!badge.children.length) badge.textContent = execution.status;
  });
}

/** Sets `data-live-status` on `element` and the label of its `[data-live-status-text]` nodes. */
export function showLiveStatus(element: HTMLElement, status: LiveStatus): void {
  element.dataset.liveStatus = status;
  element.querySelectorAll('[data-live-status-text]').forEach((node) => (node.textContent = LIVE_STATUS_LABELS[status]));
}
