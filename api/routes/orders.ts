import { z } from 'zod';
import { getOrder, listOrders, order, orderStatuses, orderTypes, orderWithItems } from '../../db/crm/orders';
import type { ApiDependencies } from '../dependencies';
import { ApiRoutes } from '../routing';
import { badCursor, cursor, entityId, idParams, limit, notFoundError, pageOf } from '../schemas';
import { customerReaders } from './accounts';

/** The read side of orders (their lifecycle is the order fulfilment process: product-orders.ts). */
export function createOrderRoutes({ pool }: ApiDependencies): ApiRoutes {
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
    );
}
