import type { Request } from 'express';
import type { z } from 'zod';
import { validationError } from './errors';

/** Parses one part of a request with its zod schema; a failure becomes a 400 naming each field. */
export function parse<S extends z.ZodTypeAny>(schema: S, req: Request, where: 'body' | 'query' | 'params'): z.infer<S> {
  const result = schema.safeParse(req[where]);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}
