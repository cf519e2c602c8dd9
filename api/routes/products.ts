import { z } from 'zod';
import { addTariff, createProduct, getProduct, listProducts, listTariffs, product, productCategories, tariff, updateProduct } from '../../db/crm/catalogue';
import type { ApiDependencies } from '../dependencies';
import { requireOperatorScope, type Role } from '../auth';
import { ApiRoutes } from '../routing';
import { currency, idParams, money, notFoundError, optionalText, text, version } from '../schemas';

export const catalogueKeepers: Role[] = ['admin'];
export const tariffKeepers: Role[] = ['admin', 'billing_clerk'];

const productId = z.string().min(2).max(64).regex(/^[A-Z0-9][A-Z0-9-]*$/, 'upper-case catalogue code such as DIA-100M');

/** The product catalogue and its versioned tariffs: readable by all staff, kept by admins. */
export function createProductRoutes({ pool }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/products',
        summary: 'The product catalogue, each product with the tariff in force now',
        tags: ['catalogue'],
        access: 'authenticated',
        query: z.object({ category: z.enum(productCategories).optional(), status: z.enum(['active', 'retired']).optional() }).strict(),
        response: { status: 200, description: 'products', schema: z.object({ items: z.array(product) }) },
      },
      async ({ query }) => ({ items: await listProducts(pool, query) }),
    )
    .add(
      {
        method: 'post',
        path: '/api/products',
        summary: 'Add a product to the catalogue',
        tags: ['catalogue'],
        access: catalogueKeepers,
        body: z.object({ id: productId, name: text(200), category: z.enum(productCategories), description: optionalText(4000) }).strict(),
        response: { status: 201, description: 'the new product', schema: product },
        errors: ['CONFLICT'],
      },
      async ({ req, staff, body }) => createProduct(pool, { actor: staff.username, requestId: String(req.id) }, body),
    )
    .add(
      {
        method: 'get',
        path: '/api/products/:id',
        summary: 'A product with every version of its tariff',
        tags: ['catalogue'],
        access: 'authenticated',
        params: idParams,
        response: { status: 200, description: 'the product', schema: product.extend({ tariffs: z.array(tariff) }) },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const found = await getProduct(pool, params.id);
        if (!found) throw notFoundError('product', params.id);
        return { ...found, tariffs: await listTariffs(pool, params.id) };
      },
    )
    .add(
      {
        method: 'patch',
        path: '/api/products/:id',
        summary: 'Rename, describe or retire a product (optimistic: send the version you read)',
        tags: ['catalogue'],
        access: catalogueKeepers,
        params: idParams,
        body: z
          .object({ version, name: text(200).optional(), description: optionalText(4000), status: z.enum(['active', 'retired']).optional() })
          .strict()
          .refine((body) => Object.keys(body).length > 1, { message: 'change at least one field besides version' }),
        response: { status: 200, description: 'the product as changed', schema: product },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params, body }) => {
        const { version: expected, ...changes } = body;
        return updateProduct(pool, { actor: staff.username, requestId: String(req.id) }, params.id, expected, changes);
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/products/:id/tariffs',
        summary: 'Give a product a new price from a date on (the next tariff version; the previous one ends there)',
        tags: ['catalogue'],
        access: tariffKeepers,
        params: idParams,
        body: z
          .object({
            name: text(200),
            validFrom: z.string().datetime({ offset: true }),
            currency: currency.default('CNY'),
            monthlyFeeMinor: money,
            oneOffFeeMinor: money.default(0),
            plan: z.record(z.unknown()).default({}).describe('rating rules (see activities/rating/)'),
          })
          .strict()
          .refine((body) => JSON.stringify(body.plan).length <= 64 * 1024, { message: 'plan is larger than 64 KiB', path: ['plan'] }),
        response: { status: 201, description: 'the new tariff version', schema: tariff },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params, body }) => {
        requireOperatorScope(staff, 'price changes');
        return addTariff(pool, { actor: staff.username, requestId: String(req.id) }, params.id, body);
      },
    );
}
