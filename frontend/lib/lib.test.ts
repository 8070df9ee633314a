// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { ApiError, apiRequest, readCookie } from './api';
import { readProps } from './props';

describe('apiRequest', () => {
  it('sends the CSRF token and same-origin credentials on writes', async () => {
    document.cookie = 'csrftoken=abc%3D1';
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response('{"ok": true}', { status: 201 }));
    expect(await apiRequest('/api/x', { method: 'POST', body: { a: 1 }, fetch })).toEqual({ ok: true });
    const init = fetch.mock.calls[0]![1]!;
    expect(init.credentials).toBe('same-origin');
    expect((init.headers as Record<string, string>)['X-CSRFToken']).toBe('abc=1');
    expect(init.body).toBe('{"a":1}');
  });

  it('sends no CSRF header on reads', async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response('{}'));
    await apiRequest('/api/x', { fetch });
    expect((fetch.mock.calls[0]![1]!.headers as Record<string, string>)['X-CSRFToken']).toBeUndefined();
  });

  it('turns error answers into ApiError with the server detail and code', async () => {
    const fetch = vi.fn(async () => new Response('{"detail": "Someone else saved first", "code": "version_conflict"}', { status: 409 }));
    const error = await apiRequest('/api/graphs/1', { method: 'PUT', body: {}, fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(409);
    expect((error as ApiError).code).toBe('version_conflict');
    expect((error as ApiError).message).toBe('Someone else saved first');
  });

  it('copes with a non-JSON error page', async () => {
    const fetch = vi.fn(async () => new Response('<h1>Bad gateway</h1>', { status: 502 }));
    const error = (await apiRequest('/api/x', { fetch }).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe('http_502');
  });

  it('reads cookies', () => {
    expect(readCookie('b', 'a=1; b=two; c=3')).toBe('two');
    expect(readCookie('d', 'a=1')).toBeNull();
  });
});

describe('readProps', () => {
  it("reads Django's json_script output named by data-props", () => {
    document.body.innerHTML = '<div id="el" data-props="p1"></div><script id="p1" type="application/json">{"graphId": 3}</script>';
    expect(readProps(document.getElementById('el')!, 'graph-editor')).toEqual({ graphId: 3 });
  });

  it('falls back to <island>-props and explains a missing script', () => {
    document.body.innerHTML = '<div id="el"></div><script id="graph-view-props" type="application/json">{"a": 1}</script>';
    expect(readProps(document.getElementById('el')!, 'graph-view')).toEqual({ a: 1 });
    expect(() => readProps(document.getElementById('el')!, 'live')).toThrow(/live-props/);
  });
});
