import type { FormProblem, Variables } from './contracts';
import type { FormField } from './model';

const isoDate = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The keys of `data` that no field of the form declares, each as a problem. A start or a completion
 * may write only what its form asks for: anything else could overwrite a variable the process
 * relies on (an id, a decision, a total).
 */
export function undeclaredFields(fields: readonly FormField[] | undefined, data: Variables): FormProblem[] {
  const declared = new Set((fields ?? []).map((field) => field.id));
  return Object.keys(data)
    .filter((key) => !declared.has(key))
    .map((key) => ({ field: key, message: 'is not a field of this form' }));
}

/**
 * Checks a user task's completion against the task's form fields; returns every problem at once
 * (empty when the data fits). Fields the form does not declare are not checked here
 * (`undeclaredFields` names them).
 */
export function validateFormData(fields: readonly FormField[] | undefined, data: Variables): FormProblem[] {
  const problems: FormProblem[] = [];
  for (const field of fields ?? []) {
    const value = Object.hasOwn(data, field.id) ? data[field.id] : undefined;
    if (value === undefined || value === null || value === '') {
      if (field.required) problems.push({ field: field.id, message: 'is required' });
      continue;
    }
    switch (field.type) {
      case 'string':
        if (typeof value !== 'string') problems.push({ field: field.id, message: 'must be a string' });
        else if (field.maxLength !== undefined && value.length > field.maxLength) problems.push({ field: field.id, message: `must be at most ${field.maxLength} characters` });
        break;
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) problems.push({ field: field.id, message: 'must be a number' });
        else if (field.min !== undefined && value < field.min) problems.push({ field: field.id, message: `must be at least ${field.min}` });
        else if (field.max !== undefined && value > field.max) problems.push({ field: field.id, message: `must be at most ${field.max}` });
        break;
      case 'boolean':
        if (typeof value !== 'boolean') problems.push({ field: field.id, message: 'must be true or false' });
        break;
      case 'date':
        if (typeof value !== 'string' || !isoDate.test(value) || Number.isNaN(Date.parse(value))) problems.push({ field: field.id, message: 'must be an ISO-8601 date' });
        break;
      case 'enum':
        if (typeof value !== 'string' || !(field.values ?? []).includes(value)) problems.push({ field: field.id, message: `must be one of ${(field.values ?? []).join(', ')}` });
        break;
    }
  }
  return problems;
}
