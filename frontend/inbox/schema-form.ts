// The inbox's decide form: input fields generated from a pause's JSON schema
// (simple types, enums, objects of those, arrays of simple items). The
// server validates what is sent against the schema (422 with `errors`, read
// by errors.ts); the fields only shape and type the value.

export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  title?: string;
  description?: string;
  default?: unknown;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  [keyword: string]: unknown;
};

const SIMPLE = new Set(['string', 'number', 'integer', 'boolean']);

/** The schema's main type (a nullable type counts as its other type). */
export function typeOf(schema: JsonSchema | undefined): string | undefined {
  if (!schema) return undefined;
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  if (!t && Array.isArray(schema.enum)) return typeof schema.enum[0] === 'number' ? 'number' : 'string';
  return t;
}

/** Whether a schema renders as fields (else only the JSON box is offered). */
export function renderable(schema: unknown): schema is JsonSchema {
  if (!schema || typeof schema !== 'object') return false;
  const s = schema as JsonSchema;
  const t = typeOf(s);
  if (t && SIMPLE.has(t)) return true;
  if (t !== 'object' || !s.properties) return false;
  return Object.values(s.properties).every((p) => {
    const pt = typeOf(p);
    return (pt !== undefined && SIMPLE.has(pt)) || (pt === 'array' && SIMPLE.has(typeOf(p.items ?? {}) ?? ''));
  });
}

type Field = HTMLInputElement | HTMLSelectElement;

function fieldFor(doc: Document, id: string, name: string, schema: JsonSchema, required: boolean): { label: HTMLLabelElement; input: Field } {
  const t = typeOf(schema);
  const label = doc.createElement('label');
  label.className = 'schema-field';
  const title = schema.title ?? (name || 'Value');
  let input: Field;
  if (t === 'boolean') {
    input = doc.createElement('input');
    input.type = 'checkbox';
    label.append(input, ' ', title);
  } else {
    if (Array.isArray(schema.enum)) {
      const select = doc.createElement('select');
      const option = (text: string, value: string) => {
        const node = doc.createElement('option');
        node.value = value;
        node.textContent = text;
        return node;
      };
      // Nothing chosen until someone chooses (a required one: the server says so).
      select.append(option(required ? 'Choose…' : '—', ''));
      for (const value of schema.enum) select.append(option(String(value), JSON.stringify(value)));
      input = select;
    } else {
      const text = doc.createElement('input');
      if (t === 'array') {
        text.type = 'text';
        text.placeholder = 'comma-separated';
      } else if (t === 'number' || t === 'integer') {
        text.type = 'number';
        text.step = t === 'integer' ? '1' : 'any';
      } else {
        text.type = schema.format === 'email' ? 'email' : schema.format === 'date' ? 'date' : 'text';
      }
      input = text;
    }
    label.append(title + (required ? ' *' : ''), input);
  }
  input.dataset.testid = `field-${id}-${name || 'value'}`;
  input.dataset.field = name;
  if (schema.description) {
    const note = doc.createElement('span');
    note.className = 'muted small';
    note.textContent = schema.description;
    label.append(note);
  }
  return { label, input };
}

function writeField(input: Field, schema: JsonSchema, value: unknown): void {
  const t = typeOf(schema);
  if (input instanceof HTMLInputElement && input.type === 'checkbox') {
    input.checked = value === true;
  } else if (input instanceof HTMLSelectElement) {
    input.value = value === undefined || value === null ? '' : JSON.stringify(value);
  } else if (t === 'array') {
    input.value = Array.isArray(value) ? value.join(', ') : '';
  } else {
    input.value = value === undefined || value === null ? '' : String(value);
  }
}

function readField(input: Field, schema: JsonSchema): unknown {
  const t = typeOf(schema);
  if (input instanceof HTMLInputElement && input.type === 'checkbox') return input.checked;
  if (input instanceof HTMLSelectElement) return input.value === '' ? undefined : JSON.parse(input.value);
  const raw = input.value.trim();
  if (raw === '') return undefined;
  if (t === 'array') {
    const itemType = typeOf(schema.items ?? {});
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => (itemType === 'number' || itemType === 'integer' ? Number(s) : s));
  }
  if (t === 'number' || t === 'integer') return Number(raw);
  return raw;
}

/** The fields of one decide form, and the value they hold. */
export interface SchemaForm {
  /** The value the fields describe (unset optional fields left out). */
  read(): unknown;
  /** Fills the fields from a value (missing parts: the schema's defaults). */
  write(value: unknown): void;
}

/** Builds the fields of `schema` into `container` (test ids `field-ID-NAME`). */
export function buildSchemaForm(id: string, schema: JsonSchema, container: HTMLElement): SchemaForm {
  const doc = container.ownerDocument;
  container.replaceChildren();
  if (typeOf(schema) !== 'object') {
    const { label, input } = fieldFor(doc, id, '', schema, true);
    container.append(label);
    return {
      read: () => readField(input, schema),
      write: (value) => writeField(input, schema, value === undefined ? schema.default : value),
    };
  }
  const required = new Set(schema.required ?? []);
  const fields: [string, JsonSchema, Field][] = [];
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const { label, input } = fieldFor(doc, id, name, sub, required.has(name));
    container.append(label);
    fields.push([name, sub, input]);
  }
  return {
    read() {
      const value: Record<string, unknown> = {};
      for (const [name, sub, input] of fields) {
        const v = readField(input, sub);
        if (v !== undefined) value[name] = v;
      }
      return value;
    },
    write(value) {
      const record = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
      for (const [name, sub, input] of fields) writeField(input, sub, name in record ? record[name] : sub.default);
    },
  };
}
