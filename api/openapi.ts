import { z, type ZodTypeAny } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { errorStatus, type ErrorCode } from './errors';
import type { RouteSpec } from './routing';

const errorBody = z.object({
  error: z.object({
    code: z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.unknown().optional(),
    requestId: z.string().optional(),
  }),
});

function jsonSchema(schema: ZodTypeAny): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = zodToJsonSchema(schema, { target: 'openApi3', $refStrategy: 'none' }) as Record<string, unknown>;
  return rest;
}

/** Express `:id` → OpenAPI `{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const errorDescriptions: Partial<Record<number, string>> = {
  400: 'the request is malformed; `details` names each failing field',
  401: 'not logged in, or the session ended',
  403: 'the caller lacks a role this route needs, or the thing is outside their org scope',
  404: 'no such thing (or not visible to the caller)',
  409: 'conflict: a duplicate key, or a stale `version` (reload and retry)',
  413: 'the request body is too large',
  422: 'well-formed but refused by a business rule',
  429: 'too many attempts; retry later',
  503: 'a service the API needs is down',
};

/** The OpenAPI 3.0 document of every route the app mounts (a test keeps the two in step). */
export function buildOpenApiDocument(specs: RouteSpec[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const parameters = [
      ...objectParameters(spec.params, 'path'),
      ...objectParameters(spec.query, 'query'),
    ];
    const statuses = new Set<number>((spec.errors ?? []).map((code) => errorStatus[code]));
    if (spec.access !== 'public') statuses.add(401);
    if (Array.isArray(spec.access)) statuses.add(403);
    if (spec.params || spec.query || spec.body) statuses.add(400);
    if (spec.body) statuses.add(413);
    const responses: Record<string, unknown> = {
      [spec.response.status]: {
        description: spec.response.description,
        ...(spec.response.schema ? { content: { 'application/json': { schema: jsonSchema(spec.response.schema) } } } : {}),
      },
    };
    for (const status of [...statuses].sort()) {
      responses[status] = { description: errorDescriptions[status] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const path = openApiPath(spec.path);
    paths[path] ??= {};
    paths[path][spec.method] = {
      operationId: `${spec.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? '').toUpperCase())}`,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: spec.tags,
      ...(spec.access === 'public' ? { security: [] } : spec.access === 'signed' ? { security: [{ callbackSignature: [] }] } : {}),
      ...(Array.isArray(spec.access) ? { 'x-roles': spec.access } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Keyflow API',
      version: info.version,
      description:
        'The door to Keyflow for people and outside systems. Log in with POST /api/auth/login, then send `Authorization: Bearer <token>` ' +
        '(or the `kf_session` cookie). Every route names the roles it admits (`x-roles`); customer data is limited to the caller\'s org subtree. ' +
        'Errors are `{ error: { code, message, details? } }`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { cookie: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the token POST /api/auth/login returned' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'kf_session' },
        callbackSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Keyflow-Signature',
          description: 'v1=<hex HMAC-SHA256 over "<Keyflow-Timestamp>.<Keyflow-Nonce>.<raw body>"> with the secret shared with that system (sim/README.md)',
        },
      },
      schemas: { Error: jsonSchema(errorBody) },
    },
    paths,
  };
}

function objectParameters(schema: z.AnyZodObject | undefined, location: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) return [];
  return Object.entries(schema.shape as Record<string, ZodTypeAny>).map(([name, field]) => {
    const description = field.description;
    return {
      name,
      in: location,
      required: location === 'path' || !field.isOptional(),
      ...(description ? { description } : {}),
      schema: jsonSchema(field),
    };
  });
}
