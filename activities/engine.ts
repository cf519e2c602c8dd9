import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'slonik';
import { z } from 'zod';
import { findDecision } from '../db/decisions';
import { findDefinition } from '../db/definitions';
import type { CloseUserTaskInput, LoadDecisionInput, LoadDefinitionInput, OpenUserTaskInput } from '../workflows/contracts';
import type { DecisionGraph } from '../workflows/dmn/model';
import type { ProcessModel } from '../workflows/model';
import type { ActivityDependencies } from './context';

const taskRow = z.object({ id: z.string(), status: z.string() });

/** Failure type of `engine.loadDefinition` when the called process is not deployed (not retried: ops deploy, then retry the incident). */
export const definitionNotFoundType = 'DefinitionNotFound';
/** Failure type of `engine.loadDecision` when the decision is not deployed (not retried: deploy it, then retry the incident). */
export const decisionNotFoundType = 'DecisionNotFound';

/**
 * The interpreter's own side effects: the human-task inbox and loading called definitions. Each is
 * idempotent — the inbox row is keyed by the task id, so a retried open finds the row it wrote, and
 * closing a closed row changes nothing.
 */
export function createEngineActivities({ pool }: Pick<ActivityDependencies, 'pool'>) {
  return {
    async 'engine.openUserTask'(input: OpenUserTaskInput): Promise<{ taskId: string; created: boolean }> {
      const row = await pool.maybeOne(sql.type(taskRow)`
        INSERT INTO human_tasks (
          id, workflow_id, run_id, process_key, process_version, business_key, node_id, name,
          candidate_groups, assignee, org_unit_id, customer_id, priority, due_at, form_key, form_schema, context)
        VALUES (
          ${input.taskId}, ${input.workflowId}, ${input.runId}, ${input.processKey}, ${input.processVersion}, ${input.businessKey},
          ${input.nodeId}, ${input.name}, ${sql.array(input.candidateGroups, 'text')}, ${input.assignee ?? null},
          ${input.orgUnitId ?? null}, ${input.customerId ?? null}, ${input.priority ?? 50}, ${input.dueAt ?? null},
          ${input.formKey ?? null}, ${input.formSchema ? sql.jsonb(input.formSchema as never) : null}, ${sql.jsonb(input.context as never)})
        ON CONFLICT (id) DO NOTHING
        RETURNING id, status`);
      return { taskId: input.taskId, created: row !== null };
    },

    async 'engine.closeUserTask'(input: CloseUserTaskInput): Promise<{ closed: boolean }> {
      const row = await pool.maybeOne(sql.type(taskRow)`
        UPDATE human_tasks
        SET status = ${input.status}, closed_at = now(), completed_by = ${input.completedBy ?? null},
            outcome = ${input.outcome ? sql.jsonb(input.outcome as never) : null}, version = version + 1
        WHERE id = ${input.taskId} AND status = 'open'
        RETURNING id, status`);
      return { closed: row !== null };
    },

    async 'engine.loadDefinition'(input: LoadDefinitionInput): Promise<ProcessModel> {
      const row = await findDefinition(pool, input.key, input.version);
      if (!row) {
        throw ApplicationFailure.nonRetryable(
          `process definition ${input.key}${input.version === undefined ? '' : ` version ${input.version}`} is not deployed`,
          definitionNotFoundType,
        );
      }
      return { ...row.model, version: row.version };
    },

    /** The latest version of a decision, for a business rule task with `kf:decisionVersion="latest"`. */
    async 'engine.loadDecision'(input: LoadDecisionInput): Promise<DecisionGraph> {
      const row = await findDecision(pool, input.key);
      if (!row) throw ApplicationFailure.nonRetryable(`decision ${input.key} is not deployed`, decisionNotFoundType);
      return { ...row.model, version: row.version };
    },
  };
}

export type EngineActivities = ReturnType<typeof createEngineActivities>;
