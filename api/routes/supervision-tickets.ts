import { z } from 'zod';
import { getSupervisionTicket, listSupervisionTickets, supervisionTicket, supervisionTicketStatuses } from '../../db/crm/tickets';
import type { Role } from '../auth';
import type { ApiDependencies } from '../dependencies';
import { ApiRoutes } from '../routing';
import { badCursor, booleanQuery, cursor, entityId, idParams, limit, notFoundError, pageOf } from '../schemas';

export const supervisionReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'dispatcher'];

/** The read side of supervision tickets (issuing and working them: supervision.ts). */
export function createSupervisionTicketRoutes({ pool }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/supervision-tickets',
        summary: 'Supervision tickets addressed to or issued by units in your scope, newest first',
        tags: ['tickets'],
        access: supervisionReaders,
        query: z
          .object({ status: z.enum(supervisionTicketStatuses).optional(), accountId: entityId.optional(), overdue: booleanQuery.optional(), limit, cursor: cursor.optional() })
          .strict(),
        response: { status: 200, description: 'a page of supervision tickets', schema: pageOf(supervisionTicket) },
      },
      async ({ staff, query }) => (await listSupervisionTickets(pool, staff, query)) ?? Promise.reject(badCursor()),
    )
    .add(
      {
        method: 'get',
        path: '/api/supervision-tickets/:id',
        summary: 'A supervision ticket',
        tags: ['tickets'],
        access: supervisionReaders,
        params: idParams,
        response: { status: 200, description: 'the supervision ticket', schema: supervisionTicket },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) =>
        (await getSupervisionTicket(pool, staff, params.id)) ?? Promise.reject(notFoundError('supervision ticket', params.id)),
    );
}
