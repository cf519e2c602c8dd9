import type { FormField } from '../model';

/**
 * Forms designed with form-js: a user task or start event may carry a form-js schema (JSON, in a
 * `<kf:formDefinition>` extension) instead of `kf:formField`s. The engine does not render forms;
 * it needs the fields a completion may write and their rules, so the schema is read down to the
 * same `FormField` list the completion validator already checks. Both directions live here so the
 * designer (which starts a new schema from existing fields) and the parser agree on the mapping.
 */

/** form-js component types that only show something and submit nothing. */
const displayOnly = new Set(['text', 'html', 'image', 'spacer', 'separator', 'button', 'iframe', 'table', 'documentPreview']);
/** form-js component types that lay other components out. */
const containers = new Set(['group', 'default']);

export interface FormSchemaReading {
  fields: FormField[];
  /** What makes the schema unusable as a Keyflow form, in the designer's words. */
  problems: string[];
}

type Component = Record<string, unknown>;

function isObject(value: unknown): value is Component {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Reads a form-js schema (parsed JSON or its text) into the fields a completion may carry. */
export function formFieldsFromSchema(schema: unknown): FormSchemaReading {
  const problems: string[] = [];
  let root = schema;
  if (typeof schema === 'string') {
    try {
      root = JSON.parse(schema);
    } catch (error) {
      return { fields: [], problems: [`the form definition is not JSON (${(error as Error).message})`] };
    }
  }
  if (!isObject(root) || !Array.isArray(root.components)) return { fields: [], problems: ['the form definition is not a form-js schema: it has no "components" list'] };

  const fields: FormField[] = [];
  const seen = new Set<string>();
  const visit = (components: unknown[]): void => {
    for (const component of components) {
      if (!isObject(component)) {
        problems.push('the form has a component that is not an object');
        continue;
      }
      const type = text(component.type) ?? '';
      if (containers.has(type)) {
        if (Array.isArray(component.components)) visit(component.components);
        continue;
      }
      if (displayOnly.has(type)) continue;
      const field = fieldOf(type, component, problems);
      if (!field) continue;
      if (seen.has(field.id)) {
        problems.push(`two form fields write "${field.id}"`);
        continue;
      }
      seen.add(field.id);
      fields.push(field);
    }
  };
  visit(root.components);
  return { fields, problems };
}

function fieldOf(type: string, component: Component, problems: string[]): FormField | undefined {
  const key = text(component.key);
  const name = key ?? text(component.id) ?? type;
  const kind = ({ textfield: 'string', textarea: 'string', number: 'number', checkbox: 'boolean', datetime: 'date', select: 'enum', radio: 'enum' } as const)[type];
  if (!kind) {
    problems.push(`form component "${name}" is a "${type || '(no type)'}": Keyflow forms take textfield, textarea, number, checkbox, datetime (date), select and radio`);
    return undefined;
  }
  if (!key) {
    problems.push(`a ${type} in the form has no key: the key names the variable it writes`);
    return undefined;
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    problems.push(`form field key "${key}" is not a variable name (letters, digits and _, not starting with a digit)`);
    return undefined;
  }
  if (type === 'datetime' && component.subtype !== undefined && component.subtype !== 'date') {
    problems.push(`form field "${key}" is a datetime of subtype "${String(component.subtype)}": Keyflow forms take dates only`);
    return undefined;
  }
  const validate = numericRules(isObject(component.validate) ? component.validate : {});
  // A rule the form shows but the completion validator would not check is worse than none.
  const checked = { string: ['required', 'maxLength'], number: ['required', 'min', 'max'], boolean: ['required'], date: ['required'], enum: ['required'] }[kind];
  const unchecked = Object.keys(validate).filter((rule) => validate[rule] !== undefined && validate[rule] !== '' && !checked.includes(rule));
  if (unchecked.length > 0) {
    problems.push(`form field "${key}" has the rule${unchecked.length > 1 ? 's' : ''} ${unchecked.join(', ')}, which Keyflow does not check at completion; it checks ${checked.join(', ')} here`);
    return undefined;
  }
  const literal = { required: 'boolean', min: 'number', max: 'number', maxLength: 'number' } as const;
  const computed = checked.filter((rule) => validate[rule] !== undefined && typeof validate[rule] !== literal[rule as keyof typeof literal]);
  if (computed.length > 0) {
    problems.push(`form field "${key}" computes ${computed.join(', ')} with an expression; Keyflow checks fixed rules only`);
    return undefined;
  }
  const field: FormField = { id: key, type: kind };
  const label = text(type === 'datetime' ? (component.dateLabel ?? component.label) : component.label);
  if (label) field.label = label;
  if (validate.required === true) field.required = true;
  if (kind === 'enum') {
    if (component.valuesKey !== undefined || component.valuesExpression !== undefined) {
      problems.push(`form field "${key}" takes its options from the process at run time; Keyflow needs them listed in the form so it can check a completion`);
      return undefined;
    }
    const values = (Array.isArray(component.values) ? component.values : []).map((option) => (isObject(option) ? text(String(option.value ?? '')) : undefined));
    if (values.length === 0 || values.some((value) => value === undefined)) {
      problems.push(`form field "${key}" has no options, or an option without a value`);
      return undefined;
    }
    field.values = values as string[];
  }
  if (kind === 'number') {
    const min = finite(validate.min);
    const max = finite(validate.max);
    if (min !== undefined) field.min = min;
    if (max !== undefined) field.max = max;
  }
  if (kind === 'string') {
    const maxLength = finite(validate.maxLength);
    if (maxLength !== undefined && Number.isInteger(maxLength) && maxLength > 0) field.maxLength = maxLength;
  }
  return field;
}

/**
 * form-js's number entries (min, max, maximum length) may hold the text as typed, "200", until the
 * field is left; that is the number 200, not an expression (form-js marks those with a leading "=").
 */
function numericRules(validate: Record<string, unknown>): Record<string, unknown> {
  const rules = { ...validate };
  for (const rule of ['min', 'max', 'maxLength']) {
    const value = rules[rule];
    if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) rules[rule] = Number(value);
  }
  return rules;
}

/** A form-js schema laying out `fields` one per row: where a designer starts from the `kf:formField`s a model has. */
export function schemaFromFormFields(fields: readonly FormField[], id = 'Form'): Record<string, unknown> {
  const components = fields.map((field) => {
    const validate: Record<string, unknown> = {};
    if (field.required) validate.required = true;
    if (field.min !== undefined) validate.min = field.min;
    if (field.max !== undefined) validate.max = field.max;
    if (field.maxLength !== undefined) validate.maxLength = field.maxLength;
    const label = field.label ?? field.id;
    const common = { id: `Field_${field.id}`, key: field.id, ...(Object.keys(validate).length > 0 ? { validate } : {}) };
    switch (field.type) {
      case 'number':
        return { ...common, type: 'number', label };
      case 'boolean':
        return { ...common, type: 'checkbox', label };
      case 'date':
        return { ...common, type: 'datetime', subtype: 'date', dateLabel: label };
      case 'enum':
        return { ...common, type: 'select', label, values: (field.values ?? []).map((value) => ({ label: value, value })) };
      default:
        return { ...common, type: 'textfield', label };
    }
  });
  return { type: 'default', id, components, schemaVersion: 19 };
}
