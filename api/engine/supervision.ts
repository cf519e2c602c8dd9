import type { Client } from '@temporalio/client';
import type { CommonQueryMethods } from 'slonik';
import { findDefinition } from '../../db/definitions';
import { processInstanceId } from '../../workflows/contracts';
import { ApiError } from '../errors';
import { startInstance } from './instances';

/** The processes a supervision ticket runs: the ticket (processes/supervision.bpmn) and each branch (supervision-node.bpmn). */
export const supervisionProcessKey = 'supervision';
export const supervisionNodeKey = 'supervision-node';
export const supervisionInstanceId = (ticketId: string) => processInstanceId(supervisionProcessKey, ticketId);
export const supervisionNodeInstanceId = (nodeId: string) => processInstanceId(supervisionNodeKey, nodeId);

/**
 * Starts the process of a ticket whose rows (ticket and first nodes) are written.
 * @throws ApiError UNAVAILABLE when the supervision process is not deployed; CONFLICT when it runs already (unless `ignoreExisting`)
 */
export async function startSupervisionInstance(
  client: Client,
  db: CommonQueryMethods,
  taskQueue: string,
  input: { ticketId: string; orgUnitId: string; customerId?: string; startedBy: string },
  options: { ignoreExisting?: boolean } = {},
): Promise<string> {
  const definition = await findDefinition(db, supervisionProcessKey);
  if (!definition) throw new ApiError('UNAVAILABLE', 'the supervision process is not deployed');
  try {
    const started = await startInstance(client, taskQueue, {
      definition: { ...definition.model, version: definition.version },
      businessKey: input.ticketId,
      variables: { ticketId: input.ticketId },
      orgUnitId: input.orgUnitId,
      ...(input.customerId ? { customerId: input.customerId } : {}),
      startedBy: input.startedBy,
    });
    return started.processInstanceId;
  } catch (error) {
    if (options.ignoreExisting && error instanceof ApiError && error.code === 'CONFLICT') return supervisionInstanceId(input.ticketId);
    throw error;
  }
}
