import { z } from 'zod';
import { findDecision, listDecisions, type DecisionRow } from '../../db/decisions';
import { processKeyPattern } from '../../workflows/bpmn';
import { DecisionEvaluationError, evaluateDecision } from '../../workflows/dmn/evaluate';
import type { ApiDependencies } from '../dependencies';
import { deployDmn } from '../engine/decisions';
import { maxDmnBytes } from '../engine/dmn';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { acceptXmlBody } from '../xml-body';

/** Who may deploy and test decisions: designers own the tables, admins may ship them. */
export const decisionRoles = ['designer', 'admin'] as const;

const keyParam = z.string().regex(processKeyPattern, 'a decision key: letters, digits, _ . - (a letter or _ first)');
const decisionSummary = z.object({
  key: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  name: z.string().nullable(),
  definitionsId: z.string().describe('the DMN document (`definitions` id) this version came from'),
  deployedBy: z.string(),
  deployedAt: z.string(),
});
const decisionDetail = decisionSummary.extend({
  xml: z.string(),
  model: z.record(z.unknown()).describe('the parsed decision graph: this decision and those it requires, as a business rule task pins it'),
});
const evaluatedDecision = z.object({
  decisionId: z.string(),
  name: z.string().optional(),
  kind: z.enum(['table', 'literal']),
  hitPolicy: z.string().optional(),
  matchedRuleIds: z.array(z.string()),
  resultRuleIds: z.array(z.string()),
  inputs: z.record(z.unknown()),
  result: z.unknown(),
});

/**
 * Decision definitions (DMN): deploy a document (each decision becomes a version of its key), list
 * and read them, and evaluate one against given variables to test a table before a process uses it.
 */
export function createDecisionDefinitionRoutes({ pool }: ApiDependencies): ApiRoutes {
  const routes = new ApiRoutes();
  acceptXmlBody(routes, '/api/decision-definitions', decisionRoles, maxDmnBytes, 'the DMN document', ['application/dmn+xml']);

  return routes
    .add(
      {
        method: 'post',
        path: '/api/decision-definitions',
        summary: 'Deploy a DMN decision model',
        description:
          'Body: DMN 1.3 XML (application/xml or text/xml, at most 2 MB, no DOCTYPE). Each decision of the document becomes the next version of its key (the decision id). Answers 201 when any decision got a new version, or 200 with the existing versions when the identical document was deployed before. A document with problems is refused with 400 and `details` listing every problem as { elementId, code, message }; nothing is stored.',
        tags: ['decision definitions'],
        access: decisionRoles,
        response: {
          status: 201,
          description: 'deployed (200 when the identical document existed)',
          schema: z.object({
            definitionsId: z.string(),
            decisions: z.array(decisionSummary.extend({ created: z.boolean().describe('false when this document was deployed before: this is that version') })),
          }),
        },
        errors: ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
      },
      async ({ req, res, staff }) => {
        const xml: unknown = req.body;
        if (typeof xml !== 'string' || xml.trim() === '') throw new ApiError('BAD_REQUEST', 'the request body must be a DMN XML document');
        const { definitionsId, decisions } = await deployDmn(pool, xml, staff.username);
        const created = decisions.some((entry) => entry.created);
        res.status(created ? 201 : 200).json({ definitionsId, decisions: decisions.map((entry) => ({ ...toSummary(entry.definition), created: entry.created })) });
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/decision-definitions',
        summary: 'List deployed decisions (every version, newest first per key)',
        tags: ['decision definitions'],
        access: 'authenticated',
        query: z.object({ key: keyParam.optional() }).strict(),
        response: { status: 200, description: 'the decisions', schema: z.object({ items: z.array(decisionSummary) }) },
      },
      async ({ query }) => ({ items: (await listDecisions(pool, query.key)).map(toSummary) }),
    )
    .add(
      {
        method: 'get',
        path: '/api/decision-definitions/:key',
        summary: 'The latest version of a decision: XML and parsed graph',
        tags: ['decision definitions'],
        access: 'authenticated',
        params: z.object({ key: keyParam }),
        response: { status: 200, description: 'the latest version', schema: decisionDetail },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => toDetail(await findDecision(pool, params.key), params.key),
    )
    .add(
      {
        method: 'get',
        path: '/api/decision-definitions/:key/versions/:version',
        summary: 'One version of a decision: XML and parsed graph',
        tags: ['decision definitions'],
        access: 'authenticated',
        params: z.object({ key: keyParam, version: z.coerce.number().int().min(1).max(2_147_483_647) }),
        response: { status: 200, description: 'that version', schema: decisionDetail },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => toDetail(await findDecision(pool, params.key, params.version), `${params.key} version ${params.version}`),
    )
    .add(
      {
        method: 'post',
        path: '/api/decision-definitions/:key/evaluate',
        summary: 'Evaluate a deployed decision against variables (to test a table before use)',
        description:
          'Body: `{ variables, version? }` (the latest version when omitted). Answers the result, the ids of the rules that matched, and every decision of the graph that ran (required ones first) with its input values. Nothing is stored. A cell that fails, or a hit policy that is violated (two rules under UNIQUE), is 422 naming the decision and the element.',
        tags: ['decision definitions'],
        access: decisionRoles,
        params: z.object({ key: keyParam }),
        body: z.object({ variables: z.record(z.unknown()).default({}), version: z.number().int().min(1).max(2_147_483_647).optional() }).strict(),
        response: {
          status: 200,
          description: 'the evaluation',
          schema: z.object({
            decisionKey: z.string(),
            version: z.number().int(),
            result: z.unknown(),
            matchedRuleIds: z.array(z.string()).describe('the rules of this decision that matched, in rule order'),
            decisions: z.array(evaluatedDecision),
          }),
        },
        errors: ['NOT_FOUND', 'UNPROCESSABLE'],
      },
      async ({ params, body }) => {
        const row = await findDecision(pool, params.key, body.version);
        if (!row) throw new ApiError('NOT_FOUND', `no decision ${params.key}${body.version === undefined ? '' : ` version ${body.version}`}`);
        try {
          const evaluation = evaluateDecision({ ...row.model, version: row.version }, body.variables);
          const own = evaluation.decisions.find((decision) => decision.decisionId === evaluation.decisionKey);
          return { ...evaluation, matchedRuleIds: own?.matchedRuleIds ?? [] };
        } catch (error) {
          if (error instanceof DecisionEvaluationError) {
            throw new ApiError('UNPROCESSABLE', error.message, { decisionId: error.decisionId, elementId: error.elementId });
          }
          throw error;
        }
      },
    );
}

function toSummary(row: Omit<DecisionRow, 'xml' | 'model'>) {
  return {
    key: row.key,
    version: row.version,
    sha256: row.sha256,
    name: row.name,
    definitionsId: row.definitions_id,
    deployedBy: row.deployed_by,
    deployedAt: row.deployed_at,
  };
}

function toDetail(row: DecisionRow | null, what: string) {
  if (!row) throw new ApiError('NOT_FOUND', `no decision ${what}`);
  return { ...toSummary(row), xml: row.xml, model: { ...row.model, version: row.version } };
}
