import fs from 'node:fs';
import path from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { deployBpmn } from '../../api/engine/definitions';
import type { ProcessModel } from '../../workflows/model';
import { testOrg } from './auth';
import { createMobileStaff } from './complaint';

const processes = path.join(__dirname, '..', '..', 'processes');
export const supervisionModels = ['supervision', 'supervision-node', 'supervision-weekly-plan', 'supervision-visits'] as const;

/** The shipped supervision models, deployed into this database (no schedules: nothing runs them on a timer here). */
export async function deploySupervision(pool: DatabasePool): Promise<Record<(typeof supervisionModels)[number], ProcessModel>> {
  const models = {} as Record<(typeof supervisionModels)[number], ProcessModel>;
  for (const key of supervisionModels) {
    const { definition } = await deployBpmn(pool, fs.readFileSync(path.join(processes, `${key}.bpmn`), 'utf8'), 'test');
    models[key] = { ...definition.model, version: definition.version };
  }
  return models;
}

/**
 * The chain a ticket walks: the province's, two cities' and two counties' supervisors, a county-level
 * and an area-level manager in Tianhe, a manager in Nanshan, and a Yuexiu manager outside it all.
 */
export async function createSupervisionStaff(pool: DatabasePool, tag: string) {
  const n = (i: number) => `137${tag.padStart(4, '0').slice(-4)}${String(i).padStart(4, '0')}`;
  return {
    province: await createMobileStaff(pool, ['supervisor'], testOrg.province, n(1)),
    guangzhou: await createMobileStaff(pool, ['supervisor'], testOrg.guangzhou, n(2)),
    shenzhen: await createMobileStaff(pool, ['supervisor'], testOrg.shenzhen, n(3)),
    tianhe: await createMobileStaff(pool, ['supervisor'], testOrg.tianhe, n(4)),
    nanshan: await createMobileStaff(pool, ['supervisor'], testOrg.nanshan, n(5)),
    tianheManager: await createMobileStaff(pool, ['customer_manager'], testOrg.tianhe, n(6)),
    areaManager: await createMobileStaff(pool, ['customer_manager'], testOrg.tianheArea, n(7)),
    nanshanManager: await createMobileStaff(pool, ['customer_manager'], testOrg.nanshan, n(8)),
    outsider: await createMobileStaff(pool, ['customer_manager'], testOrg.yuexiu, n(9)),
  };
}

export const nodeRowOf = z.object({ id: z.string(), kind: z.string(), org_unit_id: z.string(), assignee: z.string().nullable(), reviewer: z.string().nullable(), state: z.string(), parent_id: z.string().nullable() });

export function nodesOf(pool: DatabasePool, ticketId: string) {
  return pool.any(sql.type(nodeRowOf)`SELECT id, kind, org_unit_id, assignee, reviewer, state, parent_id FROM supervision_nodes WHERE ticket_id = ${ticketId} ORDER BY id`);
}

export function openTasksOf(pool: DatabasePool, nodeId: string) {
  return pool.any(sql.type(z.object({ id: z.string(), node_id: z.string(), assignee: z.string().nullable() }))`
    SELECT id, node_id, assignee FROM human_tasks WHERE workflow_id = ${`supervision-node:${nodeId}`} AND status = 'open'`);
}

export function supervisionNoticesOf(pool: DatabasePool, ticketId: string) {
  return pool.any(sql.type(z.object({ username: z.string(), kind: z.string() }))`
    SELECT username, kind FROM staff_notices WHERE supervision_ticket_id = ${ticketId} ORDER BY kind, username`);
}
