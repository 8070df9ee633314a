// How values, times and durations read on the pages. The server renders the
// same text for a fresh load (executions/views/common.py human_duration,
// executions/views/executions.py _summary, executions/views/render.py), so a
// live page and a reloaded one agree.

/** "850 ms", "1.2 s", "42.0 s", "4 min 05 s", "2 h 03 min"; '' when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * An event value on one line: strings as they are, the rest as JSON spaced as
 * Python's json.dumps writes it (`{"a": 1, "b": [1, 2]}`), cut at `limit`.
 */
export function summarize(value: unknown, limit = 160): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : spacedJson(value);
  return text.length > limit ? text.slice(0, limit - 1) + '…' : text;
}

function spacedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const items = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${items.map(([k, v]) => `${JSON.stringify(k)}: ${spacedJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * An ISO 8601 moment in epoch ms, keeping microseconds as a fraction (as the
 * server's `timestamp() * 1000`; Date.parse drops them). NaN when unreadable.
 */
export function parseTime(iso: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(iso);
  if (!match) return Date.parse(iso);
  const whole = Date.parse(match[1]! + (match[3] || 'Z'));
  return match[2] ? whole + Number(match[2]) * 1000 : whole;
}

/** "14:03:07.250": the UTC time of day of an ISO 8601 moment, to the millisecond. */
export function clockTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : iso;
}

/**
 * A moment as every page shows it: "2026-03-27 08:00:00", in the site's timezone (UTC:
 * fluxweb/settings.py TIME_ZONE), as the server's `time_tag` filter renders it
 * (executions/templatetags/times.py); the text itself when it is not ISO 8601.
 */
export function formatMoment(iso: string): string {
  const ms = parseTime(iso);
  return Number.isFinite(ms) ? new Date(Math.floor(ms)).toISOString().slice(0, 19).replace('T', ' ') : iso;
}

/** `<time datetime="ISO">2026-03-27 08:00:00</time>`: a moment on a page, as `time_tag` renders it. */
export function timeElement(doc: Document, iso: string): HTMLTimeElement {
  const node = doc.createElement('time');
  node.dateTime = iso;
  node.textContent = formatMoment(iso);
  return node;
}
