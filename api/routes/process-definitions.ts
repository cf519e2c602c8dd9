import type { Request } from 'express';
import { z } from 'zod';
import { findDefinition, listDefinitions, type DefinitionRow } from '../../db/definitions';
import { knownTaskTypes } from '../../activities/catalog';
import { versionImpact } from '../../ops/replay';
import { maxBpmnBytes, parseBpmn, processKeyPattern, summariseModel } from '../../workflows/bpmn';
import type { ApiDependencies } from '../dependencies';
import { decisionLookup, pinDecisions } from '../engine/decisions';
import { deployBpmn } from '../engine/definitions';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { acceptXmlBody } from '../xml-body';

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
  note: z.string().nullable().describe('why this version was deployed'),
});
const processDeployment = definitionSummary.extend({
  created: z.boolean().describe('false when identical XML was deployed before: this is that version'),
  startSchedule: z.enum(['created', 'updated', 'removed']).optional().describe('what happened to the Temporal schedule of a timer start event'),
});
const deployResponse = processDeployment.extend({
  processes: z.array(processDeployment).describe('every process the document deployed, this one first: one per executable pool of a collaboration'),
  skipped: z.array(z.object({ processId: z.string(), name: z.string().optional(), reason: z.string() })).describe('pools not deployed (not marked executable)'),
});
const definitionDetail = definitionSummary.extend({
  xml: z.string(),
  summary: z.object({ nodes: z.array(z.record(z.unknown())), tasks: z.array(z.record(z.unknown())), messages: z.array(z.record(z.unknown())) }).passthrough(),
});

const modelProblem = z.object({ elementId: z.string(), code: z.string(), message: z.string() });

/**
 * Process definitions: deploy BPMN XML (validated, stored immutably as key + version), list them,
 * read one with its XML and a parsed summary. The XML body is read here, not by the app's JSON
 * parser, with a hard limit: a larger upload is cut off at the limit (413), never buffered whole.
 */
export function createProcessDefinitionRoutes({ pool, temporal, config }: ApiDependencies): ApiRoutes {
  const routes = new ApiRoutes();
  const xmlPaths = ['/api/process-definitions', '/api/process-definitions/check'];
  acceptXmlBody(routes, xmlPaths, deployRoles, maxBpmnBytes, 'the BPMN document', ['application/bpmn+xml']);

  return routes
    .add(
      {
        method: 'post',
        path: '/api/process-definitions',
        summary: 'Deploy a BPMN process model',
        description:
          'Body: BPMN 2.0 XML (application/xml or text/xml, at most 2 MB, no DOCTYPE); `note` says why this version is deployed (shown in the version history). A timer start event becomes a Temporal schedule (`kf-start:<key>`) on the latest version. Answers 201 with the new version, or 200 with the existing version when identical XML was deployed before. A collaboration deploys each pool marked isExecutable="true" as its own key, all or none (`processes`; the others are listed in `skipped`); it is refused only when none is executable. A model with problems is refused with 400 and `details` listing every problem as { elementId, code, message }.',
        tags: ['process definitions'],
        access: deployRoles,
        query: z.object({ note: z.string().trim().min(1).max(1000).optional() }).strict(),
        response: { status: 201, description: 'deployed (200 when the identical version existed)', schema: deployResponse },
        errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      async ({ req, res, staff, query }) => {
        const xml = xmlBody(req);
        const deployment = await deployBpmn(pool, xml, staff.username, { client: temporal, taskQueue: config.KEYFLOW_TASK_QUEUE }, query.note);
        const view = ({ definition, created, schedule }: (typeof deployment.processes)[number]) => ({ ...toSummary(definition), created, ...(schedule && schedule !== 'none' ? { startSchedule: schedule } : {}) });
        const anyCreated = deployment.processes.some((entry) => entry.created);
        res.status(anyCreated ? 201 : 200).json({ ...view(deployment), processes: deployment.processes.map(view), skipped: deployment.skipped });
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/process-definitions/check',
        summary: 'Check a BPMN model as a deploy would, without deploying it',
        description: 'Body as for deploy. Answers 200 with every problem a deploy would refuse the model for (an empty list: it would deploy), so the designer can mark them on the diagram.',
        tags: ['process definitions'],
        access: deployRoles,
        response: { status: 200, description: 'the problems', schema: z.object({ key: z.string().nullable(), problems: z.array(modelProblem) }) },
        errors: ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      async ({ req }) => {
        const { model, problems } = await parseBpmn(xmlBody(req), { knownTaskTypes: knownTaskTypes() });
        // As deploy does: a business rule task whose decision is not deployed would be refused.
        if (model && problems.length === 0) problems.push(...(await pinDecisions(model, decisionLookup(pool))));
        return { key: model?.key ?? null, problems };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/process-definitions/:key/impact',
        summary: 'Before a deploy: where the running instances of a process wait, and which of those nodes the new model drops',
        tags: ['process definitions'],
        access: deployRoles,
        params: z.object({ key: keyParam }),
        body: z.object({ nodeIds: z.array(z.string().min(1).max(200)).max(50_000) }).strict(),
        response: {
          status: 200,
          description: 'running instances by version, with the nodes they wait at',
          schema: z.object({
            processKey: z.string(),
            runningInstances: z.number().int(),
            versions: z.array(z.object({ processVersion: z.number().int(), instances: z.number().int(), waitingAt: z.array(z.object({ nodeId: z.string(), instances: z.number().int(), removed: z.boolean() })) })),
          }),
        },
      },
      async ({ params, body }) => versionImpact(temporal, params.key, new Set(body.nodeIds)),
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
  return { key: row.key, version: row.version, sha256: row.sha256, name: row.name, deployedBy: row.deployed_by, deployedAt: row.deployed_at, note: row.note };
}

function xmlBody(req: Request): string {
  const xml: unknown = req.body;
  if (typeof xml !== 'string' || xml.trim() === '') throw new ApiError('BAD_REQUEST', 'the request body must be a BPMN XML document');
  return xml;
}

function toDetail(row: DefinitionRow | null, what: string) {
  if (!row) throw new ApiError('NOT_FOUND', `no process definition ${what}`);
  return { ...toSummary(row), xml: row.xml, summary: summariseModel({ ...row.model, version: row.version }) };
}
