import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { createApp } from '../../../api/app';
import { startApi, type RunningApi } from '../../../api/server';
import { projectRoot } from '../../../runtime/config';
import { loginAs, seedOrgTree, testOrg } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

interface MountedRoute {
  method: string;
  path: string;
}

/** Every route express would dispatch to, with its full path (mount prefixes included). */
function mountedRoutes(app: Express): MountedRoute[] {
  const routes: MountedRoute[] = [];
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        // One route may be mounted on several paths; a RegExp path is the web app's pages and
        // assets (api/web-app.ts), which are not API routes and not in the document.
        const paths = (Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]).filter((path: unknown) => typeof path === 'string');
        for (const method of Object.keys(layer.route.methods)) for (const path of paths) routes.push({ method, path: `${prefix}${path}` });
      } else if (Array.isArray(layer.handle?.stack)) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as any).router.stack, '');
  return routes;
}

/** A mounted `:param` segment stands for any value: the document may list each value's path on its own. */
const pattern = (route: MountedRoute) => new RegExp(`^${route.method} ${route.path.replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`);
const toOpenApi = (route: MountedRoute) => `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;

describe('the OpenAPI document', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let document: any;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    const session = await loginAs(api.url, database.pool, ['designer'], testOrg.province);
    const response = await fetch(`${api.url}/api/openapi.json`, { headers: session.headers });
    expect(response.status).toBe(200);
    document = await response.json();
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('is a valid OpenAPI 3.0 document', () => {
    const file = path.join(os.tmpdir(), `keyflow-openapi-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(document));
    // The validator is ESM-only; it runs in a plain node process rather than in jest's module system.
    const script = `import { Validator } from '@seriousme/openapi-schema-validator';
      const result = await new Validator().validate(${JSON.stringify(file)});
      console.log(JSON.stringify(result));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot, encoding: 'utf8' });
    fs.rmSync(file, { force: true });

    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ valid: true });
  });

  it('documents every route the API mounts, and mounts every route it documents', () => {
    const app = createApp({ config: testConfig(database), logger: testLogger, pool: api.pool, reads: api.reads, directory: api.directory, temporal: api.temporal });
    const mounted = mountedRoutes(app);
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([route, operations]) =>
      Object.keys(operations).map((method) => `${method} ${route}`),
    );
    const covers = (route: MountedRoute, documentedRoute: string) => documentedRoute === toOpenApi(route) || pattern(route).test(documentedRoute);

    expect(mounted.filter((route) => !documented.some((entry) => covers(route, entry))).map(toOpenApi).sort()).toEqual([]);
    expect(documented.filter((entry) => !mounted.some((route) => covers(route, entry))).sort()).toEqual([]);
    expect(mounted.length).toBeGreaterThan(30);
  });

  it('names the roles of every restricted route, marks only login and health as public, and the callbacks as signed', () => {
    const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([route, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({ route: `${method} ${route}`, operation })),
    );
    const publicRoutes = operations.filter(({ operation }) => Array.isArray(operation.security) && operation.security.length === 0).map(({ route }) => route);
    // Callbacks carry no session: partners sign them (HMAC), checked by the route itself.
    const signedRoutes = operations.filter(({ operation }) => operation.security?.[0]?.callbackSignature !== undefined).map(({ route }) => route);

    expect(publicRoutes.sort()).toEqual(['get /health', 'post /api/auth/login']);
    expect(signedRoutes.sort()).toEqual(['post /api/callbacks/alarms', 'post /api/callbacks/bank', 'post /api/callbacks/provisioning']);
    expect(document.components.securitySchemes.callbackSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'Keyflow-Signature' });
    for (const { operation } of operations) {
      expect(operation.responses).toBeDefined();
      expect(typeof operation.summary).toBe('string');
    }
    expect(document.paths['/api/accounts'].get['x-roles']).toEqual(['admin', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk', 'ops']);
  });

  it('describes request bodies, query parameters and error responses', () => {
    const list = document.paths['/api/accounts'].get;
    expect(list.parameters.map((parameter: any) => parameter.name)).toEqual(
      expect.arrayContaining(['q', 'tier', 'status', 'creditList', 'industry', 'orgUnitId', 'limit', 'cursor']),
    );
    expect(list.responses['400'].content['application/json'].schema.$ref).toBe('#/components/schemas/Error');
    const create = document.paths['/api/accounts'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['name', 'industry', 'tier']));
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409', '413', '422']));
  });
});
