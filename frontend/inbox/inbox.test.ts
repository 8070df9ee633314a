// @vitest-environment happy-dom
// The inbox's decide form: fields generated from the pause's schema, the
// edit-as-JSON toggle carrying the value both ways, and the server's 422
// `errors` (the engine's validator) shown at their fields.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wireDecideForm } from './decide';
import { describeErrors, fieldOf, inputErrors } from './errors';
import { matchesFilters, renderItem, type InboxApproval } from './page';
import { buildSchemaForm, renderable, type JsonSchema } from './schema-form';

const SCHEMA: JsonSchema = {
  type: 'object',
  required: ['carrier', 'note'],
  properties: {
    carrier: { type: 'string', enum: ['ups', 'dhl'] },
    express: { type: 'boolean', default: true },
    count: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
    note: { type: 'string', minLength: 3, description: 'For the driver' },
  },
};

const field = (id: string, name: string) => document.querySelector<HTMLInputElement>(`[data-testid="field-${id}-${name}"]`)!;

describe('the generated fields', () => {
  it('renders only schemas made of simple values', () => {
    expect(renderable(SCHEMA)).toBe(true);
    expect(renderable({ type: ['integer', 'null'] })).toBe(true);
    expect(renderable({ type: 'object', properties: { deep: { type: 'object' } } })).toBe(false);
    expect(renderable(null)).toBe(false);
  });

  it('reads typed values and writes them back, defaults for what is missing', () => {
    document.body.innerHTML = '<div id="box"></div>';
    const form = buildSchemaForm('7', SCHEMA, document.getElementById('box')!);
    form.write({ carrier: 'dhl', count: 3, tags: ['a', 'b'] });
    expect(field('7', 'express').checked).toBe(true); // the schema's default
    field('7', 'note').value = 'fragile';
    expect(form.read()).toEqual({ carrier: 'dhl', express: true, count: 3, tags: ['a', 'b'], note: 'fragile' });
    field('7', 'count').value = '';
    expect(form.read()).not.toHaveProperty('count');
    expect(document.getElementById('box')!.textContent).toContain('For the driver');
  });

  it('renders one field for a schema of one value', () => {
    document.body.innerHTML = '<div id="box"></div>';
    const form = buildSchemaForm('8', { type: 'number', title: 'Amount' }, document.getElementById('box')!);
    form.write(2.5);
    expect(form.read()).toBe(2.5);
  });
});

describe("the server's errors", () => {
  const body = {
    detail: 'Input does not match',
    code: 'invalid_input',
    errors: [
      { path: ['note'], message: "'ok' is too short" },
      { path: [], message: "'carrier' is a required property" },
      { path: ['tags', 1], message: '3 is not of type string' },
    ],
  };

  it('names the field of each problem', () => {
    const errors = inputErrors(body);
    expect(errors.map(fieldOf)).toEqual(['note', 'carrier', 'tags']);
    expect(describeErrors(errors)).toBe("note: 'ok' is too short; input: 'carrier' is a required property; tags/1: 3 is not of type string");
    expect(inputErrors({ detail: 'x' })).toEqual([]);
    expect(inputErrors(null)).toEqual([]);
  });
});

describe('an inbox card', () => {
  it('shows its times as every page does: <time datetime=ISO> in the clock format', () => {
    const card = renderItem(document, {
      id: 9, status: 'pending', title: 'Pay?', workflow: 'orders', execution_id: 'e'.repeat(32), pause_name: 'pay',
      requested_at: '2026-03-27T08:00:00.250000+00:00', deadline: '2026-03-28T08:30:00+00:00', on_deadline: 'reject',
    }, Date.parse('2026-03-27T09:00:00Z'));
    const times = [...card.querySelectorAll('time')].map((t) => [t.getAttribute('datetime'), t.textContent]);
    expect(times).toEqual([
      ['2026-03-27T08:00:00.250000+00:00', '2026-03-27 08:00:00'],
      ['2026-03-28T08:30:00+00:00', '2026-03-28 08:30:00'],
    ]);
  });
});

describe('a decide form', () => {
  afterEach(() => vi.unstubAllGlobals());

  function mount(schema: unknown, answer: () => Response) {
    const item: InboxApproval = {
      id: 5, status: 'pending', title: 'Ship?', workflow: 'orders', execution_id: 'e'.repeat(32), pause_name: 'ship',
      requested_at: '2026-03-01T10:00:00+00:00', schema, default: { carrier: 'ups' }, may_decide: true,
    };
    document.body.innerHTML = '';
    const card = renderItem(document, item);
    document.body.append(card);
    const calls: { url: string; body: unknown }[] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, body: JSON.parse(String(init.body)) });
      return answer();
    });
    const decided = vi.fn();
    const form = card.querySelector<HTMLFormElement>('.decide-form')!;
    wireDecideForm(form, { schema, onDecided: decided });
    const raw = document.querySelector<HTMLTextAreaElement>('[data-testid="raw-input-5"]')!;
    const toggle = document.querySelector<HTMLButtonElement>('[data-testid="json-toggle-5"]');
    const approve = async () => {
      form.dispatchEvent(Object.assign(new Event('submit', { cancelable: true }), { submitter: document.querySelector('[data-testid="approve-5"]') }));
      await vi.waitFor(() => expect(calls.length + (document.querySelector('[data-testid="error-5"]')!.textContent ? 1 : 0)).toBeGreaterThan(0));
      await new Promise((r) => setTimeout(r, 0));
    };
    return { form, raw, toggle, calls, decided, approve, fields: document.querySelector<HTMLElement>('.schema-fields')! };
  }
  const ok = () => new Response('{"id": 5, "status": "approved"}');

  it('shows the form or the JSON box, never both, and carries the value across', () => {
    const { raw, toggle, fields } = mount(SCHEMA, ok);
    expect(fields.hidden).toBe(false);
    expect(raw.closest('label')!.hidden).toBe(true);
    expect(field('5', 'carrier').value).toBe('"ups"'); // from the default
    field('5', 'note').value = 'fragile';
    toggle!.click();
    expect(fields.hidden).toBe(true);
    expect(raw.closest('label')!.hidden).toBe(false);
    expect(toggle!.getAttribute('aria-pressed')).toBe('true');
    expect(toggle!.textContent).toBe('Edit as a form');
    expect(JSON.parse(raw.value)).toEqual({ carrier: 'ups', express: true, note: 'fragile' });
    raw.value = '{"carrier": "dhl", "note": "by hand"}';
    toggle!.click();
    expect(fields.hidden).toBe(false);
    expect(field('5', 'carrier').value).toBe('"dhl"');
    expect(field('5', 'note').value).toBe('by hand');
    expect(field('5', 'express').checked).toBe(true);
  });

  it('stays on the JSON box while it does not parse', () => {
    const { raw, toggle, fields } = mount(SCHEMA, ok);
    toggle!.click();
    raw.value = '{"carrier": ';
    toggle!.click();
    expect(fields.hidden).toBe(true);
    expect(raw.getAttribute('aria-invalid')).toBe('true');
    expect(document.querySelector('[data-testid="error-5"]')!.textContent).toMatch(/not valid JSON/);
  });

  it('sends what the visible one holds and leaves on success', async () => {
    const { raw, toggle, calls, decided, approve } = mount(SCHEMA, ok);
    toggle!.click();
    raw.value = '{"carrier": "dhl", "note": "from JSON"}';
    await approve();
    expect(calls).toEqual([{ url: '/api/approvals/5/approve', body: { input: { carrier: 'dhl', note: 'from JSON' }, comment: '' } }]);
    expect(decided).toHaveBeenCalledOnce();
  });

  it("marks the fields the server's 422 names and says what is wrong", async () => {
    const answer = () =>
      new Response(JSON.stringify({ detail: 'no', code: 'invalid_input', errors: [{ path: ['note'], message: "'ok' is too short" }] }), { status: 422 });
    const { calls, decided, approve } = mount(SCHEMA, answer);
    field('5', 'note').value = 'ok';
    await approve();
    expect(calls[0]!.body).toEqual({ input: { carrier: 'ups', express: true, note: 'ok' }, comment: '' });
    expect(decided).not.toHaveBeenCalled();
    expect(field('5', 'note').getAttribute('aria-invalid')).toBe('true');
    expect(document.querySelector('[data-testid="error-5"]')!.textContent).toBe("note: 'ok' is too short");
    expect(document.querySelector<HTMLButtonElement>('[data-testid="approve-5"]')!.disabled).toBe(false);
  });

  it('refuses JSON that does not parse before asking the server', async () => {
    const { raw, calls, approve } = mount({ type: 'object', properties: { deep: { type: 'object' } } }, ok);
    expect(document.querySelector('[data-testid="json-toggle-5"]')).toBeNull(); // only the JSON box
    expect(raw.closest('label')!.hidden).toBe(false);
    raw.value = '{nope';
    await approve();
    expect(calls).toEqual([]);
    expect(raw.getAttribute('aria-invalid')).toBe('true');
  });
});

describe('live items', () => {
  const approval = { id: 1, status: 'pending', title: 't', workflow: 'orders', execution_id: 'x', pause_name: 'p', requested_at: '' };

  it('appear only under matching filters', () => {
    expect(matchesFilters(approval, {})).toBe(true);
    expect(matchesFilters(approval, { filters: { workflow: 'other' } })).toBe(false);
    expect(matchesFilters({ ...approval, approvers: ['ann'] }, { filters: { assigned: 'me' }, username: 'ann' })).toBe(true);
    expect(matchesFilters(approval, { filters: { assigned: 'me' }, username: 'ann' })).toBe(false);
    expect(matchesFilters({ ...approval, deadline: '2026-01-01T00:00:00Z' }, { filters: { overdue: '1' } }, Date.parse('2026-02-01T00:00:00Z'))).toBe(true);
  });
});
