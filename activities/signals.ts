import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { waitingForSignal, type MessageInput } from '../workflows/contracts';
import { messageSignal } from '../workflows/handles';
import type { SignalPageInput, SignalPageResult } from '../workflows/signal-broadcast-contract';
import { matchesWaitingFilter, waitingInstancesQuery, type WaitingFilter } from '../workflows/visibility-query';

/** Instances handed the signal per activity: one visibility page. */
const signalPageSize = 200;

export function createSignalActivities() {
  return {
    /**
     * Hands the signal to one page of the instances waiting for it. Idempotent: every copy carries
     * the broadcast's id, which an instance takes once, so a retried page changes nothing twice.
     * Visibility's page token orders by start time, so instances that stop waiting as they take
     * the signal do not move the next page.
     */
    async deliverSignalPage(input: SignalPageInput): Promise<SignalPageResult> {
      const { client } = Context.current();
      const filter: WaitingFilter = {
        waitingFor: waitingForSignal(input.name),
        ...(input.processKey !== undefined ? { processKey: input.processKey } : {}),
        ...(input.orgUnitIds !== undefined ? { orgUnitIds: input.orgUnitIds } : {}),
      };
      const response = await client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query: waitingInstancesQuery(filter),
        pageSize: signalPageSize,
        nextPageToken: input.pageToken ? Buffer.from(input.pageToken, 'base64') : undefined,
      });
      const signal: MessageInput = { name: input.name, signal: true, messageId: `signal:${input.signalId}`, variables: input.variables };
      let delivered = 0;
      let gone = 0;
      for (const execution of response.executions ?? []) {
        const workflowId = execution.execution?.workflowId;
        if (!workflowId || !matchesWaitingFilter(execution, filter)) continue;
        try {
          await client.workflow.getHandle(workflowId).signal(messageSignal, signal);
          delivered += 1;
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          gone += 1;
        }
        Context.current().heartbeat();
      }
      const next = response.nextPageToken && response.nextPageToken.length > 0 ? Buffer.from(response.nextPageToken).toString('base64') : undefined;
      return { delivered, gone, ...(next ? { nextPageToken: next } : {}) };
    },
  };
}
