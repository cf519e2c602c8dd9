import type { Request } from 'express';
import { z } from 'zod';
import { findDefinition, listDefinitions, type DefinitionRow } from '../../db/definitions';
import { maxBpmnBytes, processKeyPattern, summariseModel } from '../../workflows/bpmn';
import type { ApiDependencies } from '../app';
import { deployBpmn } from '../engine/definitions';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';

/** Who may deploy: designers model processes, admins may ship them. */
export const deployRoles = ['designer', 'admin'] as const;

const keyParam = z.string().regex(processKeyPattern, 'a process key: letters, digits, _ . - (a letter or _ first)');
const definitionSummary = z.object({
  key: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  name: z.string().nullable(),
  deployedBy: z.string(),
  deployedAt: z.string(),
});
const deployResponse = definitionSummary.extend({
  created: z.boolean().describe('false when identical XML was deployed before: this is that version'),
  startSchedule: z.enum(['created', 'updated', 'removed']).optional().describe('what happened to the Temporal schedule of a timer start event'),
});
const definitionDetail = definitionSummary.extend({
  xml: z.string(),
  summary: z.object({ nodes: z.array(z.record(z.unknown())), tasks: z.array(z.record(z.unknown())), messages: z.array(z.record(z.unknown())) }).passthrough(),
});

const xmlTypes = ['application/xml', 'text/xml', 'application/bpmn+xml', 'application/octet-stream'];

/**
 * Process definitions: deploy BPMN XML (validated, stored immutably as key + version), list them,
 * read one with its XML and a parsed summary. The XML body is read here, not by the app's JSON
 * parser, with a hard limit: a larger upload is cut off at the limit (413), never buffered whole.
 */
export function createProcessDefinitionRoutes({ pool, temporal, config }: ApiDependencies): ApiRoutes {
  const routes = new ApiRoutes();
  routes.router.post('/api/process-definitions', (req, _res, next) => {
    if (!req.is(xmlTypes)) return next(new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the BPMN document as application/xml or text/xml'));
    next();
  });
  routes.router.post('/api/process-definitions', (req, res, next) => {
    readLimitedText(req, maxBpmnBytes).then(
      (text) => {
        req.body = text;
        next();
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.code === 'PAYLOAD_TOO_LARGE') {
          // The rest of the upload is not wanted: answer, then drop the connection rather than
          // read (even to discard) up to the client's last byte.
          res.setHeader('connection', 'close');
          res.once('finish', () => setImmediate(() => req.socket.destroy()));
        }
        next(error);
      },
    );
  });

  return routes
    .add(
      {
        method: 'post',
        path: '/api/process-definitions',
        summary: 'Deploy a BPMN process model',
        description:
          'Body: BPMN 2.0 XML (application/xml or text/xml, at most 2 MB, no DOCTYPE). A timer start event becomes a Temporal schedule (`kf-start:<key>`) on the latest version. Answers 201 with the new version, or 200 with the existing version when identical XML was deployed before. A model with problems is refused with 400 and `details` listing every problem as { elementId, code, message }.',
        tags: ['process definitions'],
        access: deployRoles,
        response: { status: 201, description: 'deployed (200 when the identical version existed)', schema: deployResponse },
        errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      async ({ req, res, staff }) => {
        const xml: unknown = req.body;
        if (typeof xml !== 'string' || xml.trim() === '') throw new ApiError('BAD_REQUEST', 'the request body must be a BPMN XML document');
        const { definition, created, schedule } = await deployBpmn(pool, xml, staff.username, { client: temporal, taskQueue: config.KEYFLOW_TASK_QUEUE });
        res.status(created ? 201 : 200).json({ ...toSummary(definition), created, ...(schedule && schedule !== 'none' ? { startSchedule: schedule } : {}) });
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/process-definitions',
        summary: 'List deployed process definitions (every version, newest first per key)',
        tags: ['process definitions'],
        access: 'authenticated',
        query: z.object({ key: keyParam.optional() }).strict(),
        response: { status: 200, description: 'the definitions', schema: z.object({ items: z.array(definitionSummary) }) },
      },
      async ({ query }) => ({ items: (await listDefinitions(pool, query.key)).map(toSummary) }),
    )
    .add(
      {
        method: 'get',
        path: '/api/process-definitions/:key',
        summary: 'The latest version of a definition: XML and parsed summary',
        tags: ['process definitions'],
        access: 'authenticated',
        params: z.object({ key: keyParam }),
        response: { status: 200, description: 'the latest version', schema: definitionDetail },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => toDetail(await findDefinition(pool, params.key), params.key),
    )
    .add(
      {
        method: 'get',
        path: '/api/process-definitions/:key/versions/:version',
        summary: 'One version of a definition: XML and parsed summary (nodes, tasks, messages)',
        tags: ['process definitions'],
        access: 'authenticated',
        params: z.object({ key: keyParam, version: z.coerce.number().int().min(1).max(2_147_483_647) }),
        response: { status: 200, description: 'that version', schema: definitionDetail },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => toDetail(await findDefinition(pool, params.key, params.version), `${params.key} version ${params.version}`),
    );
}

function toSummary(row: Omit<DefinitionRow, 'xml' | 'model'>) {
  return { key: row.key, version: row.version, sha256: row.sha256, name: row.name, deployedBy: row.deployed_by, deployedAt: row.deployed_at };
}

function toDetail(row: DefinitionRow | null, what: string) {
  if (!row) throw new ApiError('NOT_FOUND', `no process definition ${what}`);
  return { ...toSummary(row), xml: row.xml, summary: summariseModel({ ...row.model, version: row.version }) };
}

/**
 * Reads a request body as UTF-8 text, refusing it as soon as it passes `limit` bytes (by its
 * Content-Length up front, or while it streams), so an oversized upload never sits in memory.
 * Compressed bodies are refused: a small gzip can inflate past any limit before it is checked.
 */
function readLimitedText(req: Request, limit: number): Promise<string> {
  const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', `the BPMN document is larger than ${limit / 1024 / 1024} MB`);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') return Promise.reject(new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the BPMN document uncompressed'));
  const charset = /charset=([^;]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.trim().replace(/"/g, '').toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return Promise.reject(new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the BPMN document as UTF-8'));
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        cleanup();
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ApiError('BAD_REQUEST', `the upload failed: ${error.message}`));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
