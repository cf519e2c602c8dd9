import { sql } from 'slonik';
import { z } from 'zod';
import { closeRetentionCase, retentionReasons } from '../db/retention';
import type { ActivityDependencies } from './context';
import { defineServiceTask } from './external/service-task';

/** processes/retention.bpmn's side: the outcome of a case, fed back to its row (once). */
export function createRetentionActivities(deps: ActivityDependencies) {
  const { pool } = deps;
  return {
    'retention.record': defineServiceTask(
      'retention.record',
      z.object({
        reason: z.enum(retentionReasons),
        counterOfferMinor: z.number().int().min(0),
        offerApproved: z.boolean().nullish(),
        outcome: z.enum(['retained', 'lost']),
        note: z.string().max(2000).nullish(),
        outcomeNote: z.string().max(2000).nullish(),
      }),
      deps,
      async (input, call) => {
        // Who approved: the supervisor who completed this instance's approval task (the inbox knows).
        const approvedBy = await pool.maybeOneFirst(sql.type(z.object({ completed_by: z.string().nullable() }))`
          SELECT completed_by FROM human_tasks WHERE workflow_id = ${call.workflowId} AND node_id = 'approve' AND status = 'completed' ORDER BY closed_at DESC LIMIT 1`);
        const note = [input.note, input.outcomeNote].filter((part): part is string => Boolean(part)).join('\n') || null;
        const closed = await closeRetentionCase(pool, { actor: 'system:retention' }, call.workflowId, {
          reason: input.reason,
          counterOfferMinor: input.counterOfferMinor,
          offerApproved: input.offerApproved ?? null,
          approvedBy: input.offerApproved === null || input.offerApproved === undefined ? null : approvedBy,
          outcome: input.outcome,
          note: note && note.length > 2000 ? note.slice(0, 2000) : note,
        });
        return { caseStatus: closed?.status ?? 'missing' };
      },
    ),
  };
}
