// The bpmnProcess workflow's typed handles: its updates, signal and queries, and the search
// attributes it keeps. The interpreter sets handlers on these; callers (API, ops) can use the same
// definitions instead of names as strings.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import {
  completeTaskUpdateName,
  definitionQueryName,
  messageSignalName,
  migrateInstanceUpdateName,
  moveTokenUpdateName,
  resolveIncidentUpdateName,
  retryIncidentUpdateName,
  stateQueryName,
  waitingForSearchAttribute,
  type CompleteTaskInput,
  type MessageInput,
  type MigrateInstanceInput,
  type MigrateInstanceResult,
  type MoveTokenInput,
  type MoveTokenResult,
  type PinnedDefinition,
  type ProcessInstanceState,
  type ResolveIncidentInput,
  type RetryIncidentInput,
} from './contracts';

export const completeTaskUpdate = defineUpdate<void, [CompleteTaskInput]>(completeTaskUpdateName);
export const retryIncidentUpdate = defineUpdate<void, [RetryIncidentInput]>(retryIncidentUpdateName);
export const resolveIncidentUpdate = defineUpdate<void, [ResolveIncidentInput]>(resolveIncidentUpdateName);
export const moveTokenUpdate = defineUpdate<MoveTokenResult, [MoveTokenInput]>(moveTokenUpdateName);
export const migrateInstanceUpdate = defineUpdate<MigrateInstanceResult, [MigrateInstanceInput]>(migrateInstanceUpdateName);
export const messageSignal = defineSignal<[MessageInput]>(messageSignalName);
export const stateQuery = defineQuery<ProcessInstanceState>(stateQueryName);
export const definitionQuery = defineQuery<PinnedDefinition>(definitionQueryName);

export const searchAttributeKeys = {
  processKey: defineSearchAttributeKey('KfProcessKey', SearchAttributeType.KEYWORD),
  businessKey: defineSearchAttributeKey('KfBusinessKey', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('KfCustomerId', SearchAttributeType.KEYWORD),
  orgUnit: defineSearchAttributeKey('KfOrgUnit', SearchAttributeType.KEYWORD),
  incidentNode: defineSearchAttributeKey('KfIncidentNode', SearchAttributeType.KEYWORD),
  processVersion: defineSearchAttributeKey('KfProcessVersion', SearchAttributeType.INT),
  incident: defineSearchAttributeKey('KfIncident', SearchAttributeType.BOOL),
  activeNodes: defineSearchAttributeKey('KfActiveNodes', SearchAttributeType.KEYWORD_LIST),
  waitingFor: defineSearchAttributeKey(waitingForSearchAttribute, SearchAttributeType.KEYWORD_LIST),
};
