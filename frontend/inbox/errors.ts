// The server's answer to a decision, read for the form: the approvals API
// checks the input against the pause's schema (the engine's validator) and
// answers 422 {"detail", "code": "invalid_input", "errors": [{"path",
// "message"}]}, every problem at once.

export interface InputError {
  path: (string | number)[];
  message: string;
}

export function inputErrors(body: unknown): InputError[] {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is { path?: unknown; message?: unknown } => !!e && typeof e === 'object')
    .map((e) => ({
      path: Array.isArray(e.path) ? e.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number') : [],
      message: String(e.message ?? 'is not valid'),
    }));
}

/** The top-level field an error is about: its path's first part, or the property a `required` error names. */
export function fieldOf(error: InputError): string | null {
  if (error.path.length) return String(error.path[0]);
  const missing = /^'([^']+)' is a required property$/.exec(error.message);
  return missing ? missing[1]! : null;
}

/** "note: 'ok' is too short; input: 'carrier' is a required property". */
export function describeErrors(errors: readonly InputError[]): string {
  return errors.map((e) => `${e.path.join('/') || 'input'}: ${e.message}`).join('; ');
}
