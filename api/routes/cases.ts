import { z } from 'zod';
import { getOrder, listOrders, order, orderStatuses, orderTypes, orderWithItems } from '../../db/crm/orders';
import {
  getSupervisionTicket,
  getTroubleTicket,
  listSupervisionTickets,
  listTroubleTickets,
  supervisionTicket,
  supervisionTicketStatuses,
  troubleTicket,
  troubleTicketStatuses,
} from '../../db/crm/tickets';
import { severities } from '../../db/crm/common';
import type { ApiDependencies } from '../dependencies';
import type { Role } from '../auth';
import { ApiRoutes } from '../routing';
import { badCursor, booleanQuery, cursor, entityId, idParams, limit, notFoundError, pageOf } from '../schemas';
import { customerReaders } from './accounts';

export const ticketReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'dispatcher', 'ops'];
export const supervisionReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'dispatcher'];

/** The read side of orders, trouble tickets and supervision tickets (their lifecycles are processes). */
export function createCaseRoutes({ pool }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/orders',
        summary: 'Orders in your org scope, newest first (keyset-paginated)',
        tags: ['orders'],
        access: customerReaders,
        query: z
          .object({ accountId: entityId.optional(), status: z.enum(orderStatuses).optional(), orderType: z.enum(orderTypes).optional(), limit, cursor: cursor.optional() })
          .strict(),
        response: { status: 200, description: 'a page of orders', schema: pageOf(order) },
      },
      async ({ staff, query }) => (await listOrders(pool, staff, query)) ?? Promise.reject(badCursor()),
    )
    .add(
      {
        method: 'get',
        path: '/api/orders/:id',
        summary: 'An order with its items',
        tags: ['orders'],
        access: customerReaders,
        params: idParams,
        response: { status: 200, description: 'the order', schema: orderWithItems },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => (await getOrder(pool, staff, params.id)) ?? Promise.reject(notFoundError('order', params.id)),
    )
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
    )
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
