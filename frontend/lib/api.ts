// fetch() wrappers for the JSON API: same-origin credentials, Django's CSRF
// header on non-GET requests, and errors as ApiError carrying the server's
// {"detail", "code", "errors"} answer.

export interface ApiErrorBody {
  detail?: string;
  code?: string;
  errors?: unknown[];
  [extra: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(body.detail ?? `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code ?? 'http_' + status;
    this.body = body;
  }
}

/** The value of a cookie, or null (Django's CSRF token lives in `csrftoken`). */
export function readCookie(name: string, cookies: string = globalThis.document?.cookie ?? ''): string | null {
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  fetch?: FetchLike;
}

/** Sends a JSON request and returns the parsed answer; throws ApiError on 4xx/5xx. */
export async function apiRequest<T>(url: string, options: RequestOptions = {}): Promise<T> {
  const method = (options.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const token = readCookie('csrftoken');
    if (token) headers['X-CSRFToken'] = token;
  }
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const response = await doFetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text.slice(0, 200) };
    }
  }
  if (!response.ok) {
    const body = (data && typeof data === 'object' ? data : {}) as ApiErrorBody;
    throw new ApiError(response.status, body);
  }
  return data as T;
}
