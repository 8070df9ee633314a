// What the dashboard's pages share: the live indicator, badges, fetching a
// fresh copy of the page, and a trailing-edge throttle.

import { showLiveStatus } from '../lib/live-dom';
import type { LiveStatus, LiveStream } from '../live/stream';

declare global {
  interface Window {
    /** The page's stream (browser tests drop its socket to check the catch-up). */
    fluxweb?: { stream?: LiveStream };
  }
}

/** Shows `status` on every `[data-live-indicator]` of the page. */
export function setLiveStatus(status: LiveStatus): void {
  document.querySelectorAll<HTMLElement>('[data-live-indicator]').forEach((el) => showLiveStatus(el, status));
}

export function exposeStream(stream: LiveStream): void {
  window.fluxweb = { ...window.fluxweb, stream };
  window.addEventListener('pagehide', () => stream.close(), { once: true });
}

/** Runs `fn` at most once per `ms`, `ms` after the first call of a burst. */
export function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return (...args: A) => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
}

/** The page at `url`, parsed (the server renders fragments for `X-Requested-With: fetch`). */
export async function fetchHtml(url: string): Promise<Document> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { 'X-Requested-With': 'fetch' } });
  if (!response.ok) throw new Error(`The server answered ${response.status}.`);
  return new DOMParser().parseFromString(await response.text(), 'text/html');
}

/** Elements marked `data-autosubmit` submit their form when changed (no inline handlers). */
export function wireAutosubmit(root: ParentNode): void {
  root.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-autosubmit]').forEach((field) => {
    field.addEventListener('change', () => field.form?.requestSubmit());
  });
}
