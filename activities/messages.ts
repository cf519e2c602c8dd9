import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { findDefinition } from '../db/definitions';
import { ApiError } from '../api/errors';
import { findWaitingInstances, startInstance } from '../api/engine/instances';
import { processInstanceId, waitingForMessage, type MessageInput, type PublishMessageInput, type PublishMessageResult } from '../workflows/contracts';
import { messageSignal } from '../workflows/handles';
import { hasMessageStart } from '../workflows/model';
import type { ActivityDependencies } from './context';

/** Failure type of `engine.publishMessage` while a target process has no receiver for the message. */
export const noMessageReceiverType = 'NoMessageReceiver';

/** Most instances of one target process a published message reaches (as `POST /api/messages`). */
const maxReceivers = 20;

/**
 * Message flows between pools, on the sending side. Idempotent: every copy carries the throw's
 * message id, which an instance takes once, and an instance the message starts has the id of
 * (target, correlation key) — a retry finds it there and starts no second one.
 */
export function createMessageActivities({ pool, config }: Pick<ActivityDependencies, 'pool' | 'config'>) {
  return {
    async 'engine.publishMessage'(input: PublishMessageInput): Promise<PublishMessageResult> {
      const { client } = Context.current();
      const message: MessageInput = { name: input.name, messageId: input.messageId, variables: input.variables, ...(input.correlationKey !== undefined ? { correlationKey: input.correlationKey } : {}) };
      const delivered: string[] = [];
      const started: string[] = [];
      const unreached: string[] = [];
      for (const target of input.targets) {
        const receivers = new Set<string>();
        if (input.correlationKey !== undefined) {
          // The instance named by (target, key) first — it keeps a message that comes before its catch —
          // then those the correlation index lists as waiting for this message with this key.
          receivers.add(processInstanceId(target, input.correlationKey));
          const waiting = await findWaitingInstances(client, { waitingFor: waitingForMessage(input.name, input.correlationKey), processKey: target }, maxReceivers);
          for (const id of waiting) receivers.add(id);
        }
        let reached = 0;
        for (const id of receivers) {
          try {
            const description = await client.workflow.getHandle(id).describe();
            if (description.status.name !== 'RUNNING') continue;
            await client.workflow.getHandle(id).signal(messageSignal, message);
            delivered.push(id);
            reached += 1;
          } catch (error) {
            if (!(error instanceof WorkflowNotFoundError)) throw error;
          }
        }
        if (reached > 0) continue;
        const definition = await findDefinition(pool, target);
        if (!definition || !hasMessageStart(definition.model, input.name)) {
          unreached.push(target);
          continue;
        }
        try {
          const instance = await startInstance(client, config.KEYFLOW_TASK_QUEUE, {
            definition: { ...definition.model, version: definition.version },
            businessKey: input.correlationKey ?? input.messageId,
            variables: input.variables,
            startedBy: input.sentBy,
            ...(input.orgUnitId ? { orgUnitId: input.orgUnitId } : {}),
            ...(input.customerId ? { customerId: input.customerId } : {}),
          });
          started.push(instance.processInstanceId);
        } catch (error) {
          // Started by an earlier attempt of this activity (or by another sender) and closed since.
          if (!(error instanceof ApiError && error.code === 'CONFLICT')) throw error;
        }
      }
      if (unreached.length > 0) {
        // A message flow promises a receiver: the receiving instance may not be waiting yet (or not be
        // visible yet), so the throw retries — copies already delivered are not taken twice — and
        // becomes an incident at the throw when none ever comes.
        throw ApplicationFailure.retryable(
          `no instance of ${unreached.join(', ')} waits for message ${JSON.stringify(input.name)}${input.correlationKey === undefined ? '' : ` with correlation key ${JSON.stringify(input.correlationKey)}`}, and it starts none`,
          noMessageReceiverType,
        );
      }
      Context.current().log.info('message published', { name: input.name, delivered: delivered.length, started: started.length });
      return { delivered, started };
    },
  };
}
