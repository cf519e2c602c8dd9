import { sql } from 'slonik';
import { z } from 'zod';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';

describe('the chain API → Temporal → worker → activity → PostgreSQL', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let session: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startTestStack(testConfig(database), database);
    await seedOrgTree(database.pool);
    session = await loginAs(stack.api.url, database.pool, ['ops'], testOrg.province);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it('reports both services up with their versions on /health to a session', async () => {
    const response = await fetch(`${stack.api.url}/health`, { headers: session.headers });
    const body = (await response.json()) as any;

    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      status: 'up',
      postgres: { status: 'up', version: expect.stringMatching(/^\d+/) },
      temporal: { status: 'up', version: expect.any(String), namespace: stack.config.TEMPORAL_NAMESPACE },
    });
  });

  it('echoes a message through a workflow whose activity wrote it to PostgreSQL', async () => {
    // when
    const response = await fetch(`${stack.api.url}/api/echo`, {
      method: 'POST',
      headers: { ...session.headers, 'x-request-id': 'chain-test-1' },
      body: JSON.stringify({ message: '业务受理 → 开通' }),
    });
    const body = (await response.json()) as any;

    // then the API answered with what the activity stored
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ workflowId: `echo:${response.headers.get('x-request-id')}`, message: '业务受理 → 开通' });

    // and the row is really there, written by the worker
    const row = await database.pool.one(
      sql.type(z.object({ message: z.string(), written_at: z.string() }))`SELECT message, written_at FROM echo_messages WHERE workflow_id = ${body.workflowId}`,
    );
    expect(row.message).toBe('业务受理 → 开通');
    expect(row.written_at).toBe(body.writtenAt);

    // and Temporal recorded a completed workflow
    const description = await stack.api.temporal.workflow.getHandle(body.workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
  });

  it('refuses an echo without a session with 401, starting no workflow', async () => {
    const response = await fetch(`${stack.api.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'chain-test-anonymous' },
      body: JSON.stringify({ message: 'who am I' }),
    });

    expect(response.status).toBe(401);
    expect(((await response.json()) as any).error.code).toBe('UNAUTHENTICATED');
    await expect(stack.api.temporal.workflow.getHandle('echo:chain-test-anonymous').describe()).rejects.toThrow();
  });

  it('refuses a malformed body with 400 and the failing field, changing nothing', async () => {
    const response = await fetch(`${stack.api.url}/api/echo`, {
      method: 'POST',
      headers: session.headers,
      body: JSON.stringify({ message: 42 }),
    });
    const body = (await response.json()) as any;

    expect(response.status).toBe(400);
    expect(body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'body.message', message: expect.any(String) }] });
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('answers invalid JSON with 400 and an oversized body with 413, never a stack trace', async () => {
    const broken = await fetch(`${stack.api.url}/api/echo`, { method: 'POST', headers: session.headers, body: '{"message":' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as any).error.code).toBe('BAD_REQUEST');

    const huge = await fetch(`${stack.api.url}/api/echo`, {
      method: 'POST',
      headers: session.headers,
      body: JSON.stringify({ message: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as any).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await fetch(`${stack.api.url}/api/no-such-thing`, { headers: session.headers });
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe('NOT_FOUND');
  });
});
