import { z } from 'zod';
import { severities } from '../../db/crm/common';
import { getTroubleTicket, listTroubleTickets, troubleTicket, troubleTicketStatuses } from '../../db/crm/tickets';
import type { Role } from '../auth';
import type { ApiDependencies } from '../dependencies';
import { ApiRoutes } from '../routing';
import { badCursor, booleanQuery, cursor, entityId, idParams, limit, notFoundError, pageOf } from '../schemas';

export const ticketReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'dispatcher', 'ops'];

/** The read side of trouble tickets, complaints and faults (their lifecycle is the complaint process: trouble-tickets.ts). */
export function createTicketRoutes({ pool }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/tickets',
        summary: 'Trouble tickets (complaints and faults) in your org scope, newest first',
        tags: ['tickets'],
        access: ticketReaders,
        query: z
          .object({
            accountId: entityId.optional(),
            kind: z.enum(['complaint', 'fault']).optional(),
            status: z.enum(troubleTicketStatuses).optional(),
            severity: z.enum(severities).optional(),
            open: booleanQuery.optional(),
            overdue: booleanQuery.optional().describe('open tickets past their SLA'),
            limit,
            cursor: cursor.optional(),
          })
          .strict(),
        response: { status: 200, description: 'a page of tickets', schema: pageOf(troubleTicket) },
      },
      async ({ staff, query }) => (await listTroubleTickets(pool, staff, query)) ?? Promise.reject(badCursor()),
    )
    .add(
      {
        method: 'get',
        path: '/api/tickets/:id',
        summary: 'A trouble ticket',
        tags: ['tickets'],
        access: ticketReaders,
        params: idParams,
        response: { status: 200, description: 'the ticket', schema: troubleTicket },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => (await getTroubleTicket(pool, staff, params.id)) ?? Promise.reject(notFoundError('trouble ticket', params.id)),
    );
}
