import fs from 'node:fs';
import path from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { deployDmn } from '../../api/engine/decisions';
import { deployBpmn } from '../../api/engine/definitions';
import type { Role } from '../../api/auth';
import { openTroubleTicket, type NewTroubleTicket } from '../../db/crm/tickets';
import { processInstanceId } from '../../workflows/contracts';
import type { ProcessModel } from '../../workflows/model';
import { createTestStaff, testOrg, type TestStaff } from './auth';

const processes = path.join(__dirname, '..', '..', 'processes');
export const complaintDecisions = ['complaint-routing.dmn', 'complaint-sla.dmn', 'complaint-handling-group.dmn', 'complaint-compensation.dmn'];

/** The shipped complaint process and the decisions it pins, deployed into this database. */
export async function deployComplaint(pool: DatabasePool): Promise<ProcessModel> {
  for (const file of complaintDecisions) await deployDmn(pool, fs.readFileSync(path.join(processes, file), 'utf8'), 'test');
  const { definition } = await deployBpmn(pool, fs.readFileSync(path.join(processes, 'complaint.bpmn'), 'utf8'), 'test');
  return { ...definition.model, version: definition.version };
}

/** Staff with a mobile number, so reminders reach the simulator's SMS gateway. */
export async function createMobileStaff(pool: DatabasePool, roles: Role[], orgUnitId: string, mobile: string): Promise<TestStaff & { mobile: string }> {
  const staff = await createTestStaff(pool, { roles, orgUnitId });
  await pool.query(sql.type(z.object({}))`UPDATE staff SET mobile = ${mobile} WHERE id = ${staff.id}`);
  return { ...staff, mobile };
}

/** The people of the complaint tests: handlers and supervisors of Guangzhou, someone of Shenzhen, the province. */
export async function createComplaintStaff(pool: DatabasePool, tag: string) {
  const n = (i: number) => `139${tag.padStart(4, '0').slice(-4)}${String(i).padStart(4, '0')}`;
  return {
    gzDispatcher: await createMobileStaff(pool, ['dispatcher'], testOrg.guangzhou, n(1)),
    szDispatcher: await createMobileStaff(pool, ['dispatcher'], testOrg.shenzhen, n(2)),
    gzSupervisor: await createMobileStaff(pool, ['supervisor'], testOrg.guangzhou, n(3)),
    szSupervisor: await createMobileStaff(pool, ['supervisor'], testOrg.shenzhen, n(4)),
    provinceSupervisor: await createMobileStaff(pool, ['supervisor'], testOrg.province, n(5)),
    tianheManager: await createMobileStaff(pool, ['customer_manager'], testOrg.tianhe, n(6)),
  };
}

export function complaintInstanceId(ticketId: string): string {
  return processInstanceId('complaint', ticketId);
}

/** Opens a ticket row as the intake does (without starting the process). */
export async function insertTicket(pool: DatabasePool, ticket: Partial<NewTroubleTicket> & { accountId: string; orgUnitId: string }) {
  return pool.transaction((tx) =>
    openTroubleTicket(
      tx,
      { kind: 'complaint', channel: 'phone', category: 'network', severity: 'critical', priority: 2, title: '专线中断', createdBy: 'test', ...ticket },
      complaintInstanceId,
    ),
  );
}

const ticketRow = z.object({
  status: z.string(),
  sla_due_at: z.string(),
  sla_reminder_at: z.string().nullable(),
  sla_paused_seconds: z.coerce.number(),
  sla_reminded_at: z.string().nullable(),
  sla_breached_at: z.string().nullable(),
  escalation_level: z.number(),
  assignee: z.string().nullable(),
  reopen_count: z.number(),
  root_cause: z.string().nullable(),
});

export function ticketRowOf(pool: DatabasePool, id: string) {
  return pool.one(sql.type(ticketRow)`
    SELECT status, sla_due_at, sla_reminder_at, sla_paused_seconds, sla_reminded_at, sla_breached_at, escalation_level, assignee, reopen_count, root_cause
    FROM trouble_tickets WHERE id = ${id}`);
}

export function noticesOf(pool: DatabasePool, ticketId: string) {
  return pool.anyFirst(sql.type(z.object({ username: z.string() }))`SELECT username FROM staff_notices WHERE ticket_id = ${ticketId} ORDER BY username`);
}

export function ticketEventsOf(pool: DatabasePool, ticketId: string) {
  return pool.anyFirst(sql.type(z.object({ event: z.string() }))`SELECT event || ':' || status_after AS event FROM trouble_ticket_events WHERE ticket_id = ${ticketId} ORDER BY id`);
}

const openTask = z.object({ id: z.string(), node_id: z.string(), status: z.string(), candidate_groups: z.array(z.string()), assignee: z.string().nullable(), due_at: z.string().nullable(), org_unit_id: z.string().nullable() });

export function tasksOf(pool: DatabasePool, workflowId: string) {
  return pool.any(sql.type(openTask)`
    SELECT id, node_id, status, candidate_groups, assignee, due_at, org_unit_id FROM human_tasks WHERE workflow_id = ${workflowId} ORDER BY created_at, id`);
}

export { eventually } from './eventually';
