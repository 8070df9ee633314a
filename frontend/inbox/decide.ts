// One decide form of the inbox: the generated fields or, after "Edit as JSON",
// the raw JSON box for the same value (one at a time, the value carried
// across); approve and reject through /api/approvals/, the server's errors
// shown at their fields.

import { ApiError, apiRequest } from '../lib/api';
import { describeErrors, fieldOf, inputErrors } from './errors';
import { buildSchemaForm, renderable, type SchemaForm } from './schema-form';

export interface DecideOptions {
  schema: unknown;
  /** Called once the decision was taken (the item leaves the page). */
  onDecided(): void;
  apiBase?: string;
}

function parseJson(text: string): unknown {
  return text.trim() ? JSON.parse(text) : null;
}

/** Wires a `.decide-form` (rendered by templates/inbox/_item.html or by the live list). */
export function wireDecideForm(form: HTMLFormElement, options: DecideOptions): void {
  if (form.dataset.wired) return;
  form.dataset.wired = 'true';
  const doc = form.ownerDocument;
  const id = form.dataset.approvalId ?? '';
  const raw = form.querySelector<HTMLTextAreaElement>('textarea[name="input"]');
  const rawLabel = raw?.closest('label') ?? null;
  const fieldsBox = form.querySelector<HTMLElement>('.schema-fields');
  const errorBox = form.querySelector<HTMLElement>(`[data-testid="error-${CSS.escape(id)}"]`);
  const showError = (message: string) => {
    if (errorBox) errorBox.textContent = message;
  };

  let fields: SchemaForm | null = null;
  let asJson = true;
  let toggle: HTMLButtonElement | null = null;
  if (raw && rawLabel && fieldsBox && renderable(options.schema)) {
    fields = buildSchemaForm(id, options.schema, fieldsBox);
    let initial: unknown;
    try {
      initial = raw.value.trim() ? JSON.parse(raw.value) : undefined;
    } catch {
      initial = undefined;
    }
    fields.write(initial);
    toggle = doc.createElement('button');
    toggle.type = 'button';
    toggle.className = 'secondary json-toggle';
    toggle.dataset.testid = `json-toggle-${id}`;
    toggle.textContent = 'Edit as JSON';
    toggle.setAttribute('aria-pressed', 'false');
    fieldsBox.after(toggle);
    asJson = false;
  }
  const show = (json: boolean) => {
    asJson = json;
    if (fieldsBox) fieldsBox.hidden = json || !fields;
    if (rawLabel) rawLabel.hidden = !json;
    if (toggle) {
      toggle.setAttribute('aria-pressed', String(json));
      toggle.textContent = json ? 'Edit as a form' : 'Edit as JSON';
    }
  };
  show(asJson);

  const clearMarks = () => form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));

  toggle?.addEventListener('click', () => {
    if (!fields || !raw) return;
    clearMarks();
    if (!asJson) {
      raw.value = JSON.stringify(fields.read(), null, 2);
      raw.rows = Math.min(16, Math.max(3, raw.value.split('\n').length));
      show(true);
      showError('');
      raw.focus();
      return;
    }
    let value: unknown;
    try {
      value = parseJson(raw.value);
    } catch (err) {
      raw.setAttribute('aria-invalid', 'true');
      showError(`The input is not valid JSON, so it cannot go back to the form: ${(err as Error).message}`);
      return;
    }
    fields.write(value);
    show(false);
    showError('');
  });

  /** The value to send, or undefined (with the reason shown) when there is none. */
  const inputValue = (): { value: unknown } | undefined => {
    if (!asJson && fields) return { value: fields.read() };
    if (!raw) return { value: null };
    try {
      return { value: parseJson(raw.value) };
    } catch (err) {
      raw.setAttribute('aria-invalid', 'true');
      showError(`The input is not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
  };

  const buttons = () => form.querySelectorAll<HTMLButtonElement>('button[type="submit"]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const action = (event.submitter as HTMLButtonElement | null)?.value === 'reject' ? 'reject' : 'approve';
    const comment = form.querySelector<HTMLTextAreaElement>('textarea[name="comment"]')?.value ?? '';
    clearMarks();
    let input: unknown = null;
    if (action === 'approve' && options.schema) {
      const read = inputValue();
      if (!read) return;
      input = read.value;
    }
    buttons().forEach((b) => (b.disabled = true));
    showError('');
    try {
      await apiRequest(`${options.apiBase ?? '/api'}/approvals/${encodeURIComponent(id)}/${action}`, {
        method: 'POST',
        body: { input, comment },
      });
      options.onDecided();
      return;
    } catch (err) {
      if (!(err instanceof ApiError)) {
        showError(`Could not reach the server: ${(err as Error).message}`);
        buttons().forEach((b) => (b.disabled = false));
        return;
      }
      const errors = inputErrors(err.body);
      for (const problem of errors) {
        const name = fieldOf(problem);
        const field = asJson ? raw : form.querySelector(`[data-field="${CSS.escape(name ?? '')}"]`);
        field?.setAttribute('aria-invalid', 'true');
      }
      showError(errors.length ? describeErrors(errors) : err.message);
      const decided = err.status === 409 && err.code === 'already_decided';
      if (decided) form.closest('.approval')?.setAttribute('data-status', 'decided');
      buttons().forEach((b) => (b.disabled = decided));
    }
  });
}
