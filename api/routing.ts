import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z, ZodTypeAny } from 'zod';
import { requireRoles, requireStaff, type AuthenticatedStaff, type Role } from './auth';
import { ApiError, type ErrorCode } from './errors';
import { parse } from './validate';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route: anyone (login, health), any logged-in staff, holders of these roles, or an
 * outside system proving itself with an HMAC signature instead of a session (the callbacks).
 */
export type Access = 'public' | 'signed' | 'authenticated' | readonly Role[];

/**
 * One route as the OpenAPI document describes it. `path` is express syntax (`/api/accounts/:id`).
 * `params`, `query` and `body` are zod schemas: the same objects validate the request and document it.
 */
export interface RouteSpec {
  method: Method;
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  params?: z.AnyZodObject;
  query?: z.AnyZodObject;
  body?: ZodTypeAny;
  /** Success status and body; `schema` omitted for an empty body (204). */
  response: { status: number; description: string; schema?: ZodTypeAny };
  /** Error codes this route answers with beyond the ones every route may give. */
  errors?: ErrorCode[];
}

/**
 * A body that is already JSON text (the busiest list has PostgreSQL write most of it), in parts
 * that together make the document: sent as it is. The route's `response.schema` still documents
 * it, and its tests hold the text to that schema.
 */
export class JsonText {
  readonly parts: readonly string[];

  constructor(...parts: string[]) {
    this.parts = parts;
  }

  /**
   * The body's bytes, each part encoded straight into one buffer. Joining the parts as strings
   * first would cost a copy of the whole page: V8 flattens a joined string before encoding it.
   */
  toBuffer(): Buffer {
    let length = 0;
    for (const part of this.parts) length += Buffer.byteLength(part);
    const body = Buffer.allocUnsafe(length);
    let offset = 0;
    for (const part of this.parts) offset += body.write(part, offset);
    return body;
  }
}

type Infer<S> = S extends ZodTypeAny ? z.infer<S> : undefined;

export interface RouteContext<S extends RouteSpec> {
  req: Request;
  res: Response;
  params: Infer<S['params']>;
  query: Infer<S['query']>;
  body: Infer<S['body']>;
  /** The caller; on public routes a placeholder that must not be used. */
  staff: S['access'] extends 'public' | 'signed' ? undefined : AuthenticatedStaff;
}

/**
 * A group of documented routes: each is mounted on `router` with its role check and validation,
 * and its spec is kept for the OpenAPI document (api/openapi.ts). Routes mounted some other way
 * (plain express) are documented with `describe` so the document stays complete.
 */
export class ApiRoutes {
  readonly router = Router();
  readonly specs: RouteSpec[] = [];

  add<const S extends RouteSpec>(spec: S, handler: (context: RouteContext<S>) => Promise<unknown> | unknown): this {
    this.specs.push(spec);
    const guards = Array.isArray(spec.access) ? [requireRoles(...(spec.access as Role[]))] : [];
    this.router[spec.method](spec.path, ...guards, readJsonBody, async (req: Request, res: Response) => {
      refuseNulCharacters(req);
      const context = {
        req,
        res,
        staff: spec.access === 'public' || spec.access === 'signed' ? undefined : requireStaff(req),
        params: spec.params ? parse(spec.params, req, 'params') : undefined,
        query: spec.query ? parse(spec.query, req, 'query') : undefined,
        body: spec.body ? parse(spec.body, req, 'body') : undefined,
      } as RouteContext<S>;
      const result = await handler(context);
      if (res.headersSent) return;
      if (spec.response.schema === undefined) res.status(spec.response.status).end();
      else if (result instanceof JsonText) res.status(spec.response.status).type('application/json').send(result.toBuffer());
      else res.status(spec.response.status).json(result);
    });
    return this;
  }

  describe(spec: RouteSpec): this {
    this.specs.push(spec);
    return this;
  }
}

/** Where the app keeps its JSON body parser (`app.locals`), configured once with the body limit. */
export const jsonBodyParser = 'keyflowJsonBodyParser';

/** Reads a JSON body with the app's parser; mounted after a route's role check. */
export const readJsonBody: RequestHandler = (req, res, next) => {
  const parser = req.app.locals[jsonBodyParser] as RequestHandler | undefined;
  if (!parser) return next();
  parser(req, res, next);
};

/** Deepest nesting of a request's JSON accepted: real bodies nest a few levels. */
export const maxJsonDepth = 64;

/**
 * PostgreSQL cannot store U+0000 in text or jsonb; a string carrying one would fail deep in a
 * query. Refused up front, with the field, like any other invalid input.
 */
function refuseNulCharacters(req: Request): void {
  for (const where of ['params', 'query', 'body'] as const) {
    const problem = findNulOrDepth(req[where], where);
    if (problem) throw new ApiError('VALIDATION_FAILED', `invalid request ${where}`, [problem]);
  }
}

/**
 * The first string or key holding U+0000, or the first place nested deeper than `maxJsonDepth`.
 * Iterative: a deeply nested body must be refused, not overflow the stack.
 */
function findNulOrDepth(value: unknown, root: string): { field: string; message: string } | null {
  const pending: { value: unknown; path: string[] }[] = [{ value, path: [root] }];
  while (pending.length > 0) {
    const { value: current, path } = pending.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return { field: path.join('.'), message: 'must not contain the NUL character' };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (path.length > maxJsonDepth) return { field: path.slice(0, 4).join('.') + '…', message: `is nested deeper than ${maxJsonDepth} levels` };
    for (const [key, child] of Object.entries(current)) {
      if (key.includes('\u0000')) return { field: [...path, key.split('\u0000').join('')].join('.'), message: 'must not contain the NUL character' };
      pending.push({ value: child, path: [...path, key] });
    }
  }
  return null;
}
