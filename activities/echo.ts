import { sql } from 'slonik';
import { z } from 'zod';
import { currentWorkflowId, type ActivityDependencies } from './context';

const echoRow = z.object({ workflow_id: z.string(), message: z.string(), written_at: z.string() });

/**
 * The foundation's proof that a workflow's activity reaches PostgreSQL. Keyed by workflow id, so a
 * retried attempt finds the row it wrote the first time instead of writing a second.
 */
export function createEchoActivities({ pool }: Pick<ActivityDependencies, 'pool'>) {
  return {
    async writeEcho(message: string): Promise<{ message: string; writtenAt: string }> {
      const workflowId = currentWorkflowId();
      const row = await pool.one(sql.type(echoRow)`
        INSERT INTO echo_messages (workflow_id, message) VALUES (${workflowId}, ${message})
        ON CONFLICT (workflow_id) DO UPDATE SET workflow_id = excluded.workflow_id
        RETURNING workflow_id, message, written_at`);
      return { message: row.message, writtenAt: row.written_at };
    },
  };
}
