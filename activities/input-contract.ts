import { z } from 'zod';

/** One variable a service task's input takes, as a process designer needs to know it. */
export interface InputField {
  name: string;
  /** string, number, integer, boolean, enum, array, object, date or any. */
  type: string;
  required: boolean;
  /** The values an enum takes. */
  values?: string[];
  /** Whether a default applies when the input leaves it out. */
  hasDefault?: boolean;
  description?: string;
}

/**
 * The fields of a service task's input schema (a zod object), read for the designer: the mapping a
 * designer writes (`kf:input target`) must give each required one. Wrappers (defaults, optionals,
 * refinements, preprocessing) are looked through; a schema that is not an object has no fields.
 */
export function inputContract(schema: z.ZodTypeAny): InputField[] {
  const object = unwrap(schema).schema;
  if (!(object instanceof z.ZodObject)) return [];
  return Object.entries(object.shape as Record<string, z.ZodTypeAny>).map(([name, field]) => {
    const { schema: inner, optional, hasDefault } = unwrap(field);
    const description = field.description ?? inner.description;
    return {
      name,
      ...typeOf(inner),
      required: !optional && !hasDefault,
      ...(hasDefault ? { hasDefault: true } : {}),
      ...(description ? { description } : {}),
    };
  });
}

function unwrap(schema: z.ZodTypeAny): { schema: z.ZodTypeAny; optional: boolean; hasDefault: boolean } {
  let current = schema;
  let optional = false;
  let hasDefault = false;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      optional = true;
      current = current.unwrap();
    } else if (current instanceof z.ZodDefault) {
      hasDefault = true;
      current = current.removeDefault();
    } else if (current instanceof z.ZodEffects) {
      current = current.innerType();
    } else if (current instanceof z.ZodPipeline) {
      current = current._def.in;
    } else if (current instanceof z.ZodBranded) {
      current = current.unwrap();
    } else if (current instanceof z.ZodReadonly || current instanceof z.ZodCatch) {
      current = current._def.innerType;
    } else {
      return { schema: current, optional, hasDefault };
    }
  }
}

function typeOf(schema: z.ZodTypeAny): Pick<InputField, 'type' | 'values'> {
  if (schema instanceof z.ZodString) return { type: 'string' };
  if (schema instanceof z.ZodNumber) return { type: schema.isInt ? 'integer' : 'number' };
  if (schema instanceof z.ZodBigInt) return { type: 'integer' };
  if (schema instanceof z.ZodBoolean) return { type: 'boolean' };
  if (schema instanceof z.ZodDate) return { type: 'date' };
  if (schema instanceof z.ZodEnum) return { type: 'enum', values: [...schema.options] as string[] };
  if (schema instanceof z.ZodLiteral) return { type: 'enum', values: [String(schema.value)] };
  if (schema instanceof z.ZodArray) return { type: 'array' };
  if (schema instanceof z.ZodObject || schema instanceof z.ZodRecord) return { type: 'object' };
  return { type: 'any' };
}
