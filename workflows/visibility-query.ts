import { decodeSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import type { temporal } from '@temporalio/proto';
import { bpmnProcessWorkflowType, waitingForSearchAttribute } from './contracts';

/** A string literal of Temporal's visibility query language: quoted and escaped, never spliced. */
export function visibilityLiteral(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Which running instances a signal or keyed message is for. */
export interface WaitingFilter {
  /** A KfWaitingFor entry (workflows/contracts.ts: waitingForSignal / waitingForMessage). */
  waitingFor: string;
  processKey?: string;
  /** Only instances of these units; an empty list matches none. */
  orgUnitIds?: readonly string[];
  /** Also the instances whose business key is this (a correlation key that is an order number). */
  orBusinessKey?: string;
}

/** The visibility query for the running process instances a `WaitingFilter` names. */
export function waitingInstancesQuery(filter: WaitingFilter): string {
  const waiting = `${waitingForSearchAttribute} = ${visibilityLiteral(filter.waitingFor)}`;
  const clauses = [
    `WorkflowType = ${visibilityLiteral(bpmnProcessWorkflowType)}`,
    `ExecutionStatus = "Running"`,
    filter.orBusinessKey !== undefined ? `(${waiting} OR KfBusinessKey = ${visibilityLiteral(filter.orBusinessKey)})` : waiting,
  ];
  if (filter.processKey !== undefined) clauses.push(`KfProcessKey = ${visibilityLiteral(filter.processKey)}`);
  if (filter.orgUnitIds !== undefined) {
    clauses.push(filter.orgUnitIds.length === 0 ? 'KfOrgUnit = "\u0000none"' : `KfOrgUnit IN (${filter.orgUnitIds.map(visibilityLiteral).join(', ')})`);
  }
  return clauses.join(' AND ');
}

/**
 * Whether a listed execution really is one `filter` names. SQLite visibility (the dev server)
 * matches a keyword list by full-text phrase, so `signal:a-b` also finds `signal:a-b-c`; the exact
 * test is made here, on the search attributes the list returned.
 */
export function matchesWaitingFilter(execution: temporal.api.workflow.v1.IWorkflowExecutionInfo, filter: WaitingFilter): boolean {
  const attributes = decodeSearchAttributes(execution.searchAttributes?.indexedFields) as Record<string, unknown[] | undefined>;
  if ((attributes[waitingForSearchAttribute] ?? []).includes(filter.waitingFor)) return true;
  return filter.orBusinessKey !== undefined && attributes.KfBusinessKey?.[0] === filter.orBusinessKey;
}
