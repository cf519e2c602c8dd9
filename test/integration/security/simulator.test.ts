import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type RunningSimulator } from '../../../sim/server';

/** A stand-in for an HTTP server that records what it is sent. */
async function recorder(): Promise<{ url: string; received: { url: string; headers: IncomingHttpHeaders; body: string }[]; close(): Promise<void> }> {
  const received: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The simulator signs bank and alarm callbacks with Keyflow's real secrets, so its control API is
 * a door into Keyflow: it takes only its token and sends only to the configured API.
 */
describe("the simulator's control API", () => {
  const token = randomBytes(24).toString('base64url');
  let simulator: RunningSimulator;
  let keyflow: Awaited<ReturnType<typeof recorder>>;
  let elsewhere: Awaited<ReturnType<typeof recorder>>;

  beforeAll(async () => {
    keyflow = await recorder();
    elsewhere = await recorder();
    simulator = await startSimulator({
      tokens: {},
      callbackSecrets: { bank: 'bank-secret-for-this-test-only', alarms: 'alarm-secret-for-this-test-only' },
      callbackBaseUrl: keyflow.url,
      controlToken: token,
      callbackDelayMs: 0,
    });
  });

  afterAll(async () => {
    await simulator?.stop();
    await keyflow?.close();
    await elsewhere?.close();
  });

  const control = (method: string, route: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${simulator.url}${route}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const withToken = { authorization: `Bearer ${token}` };
  const payment = (reference: string, extra: Record<string, unknown> = {}) => ({ reference, amountMinor: 100, ...extra });

  it('refuses every control route but /sim/health without the token, or with another one', async () => {
    // The routes as express holds them: one added later is checked without being listed here.
    const routes = (simulator.app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack
      .flatMap((layer) => (layer.route && layer.route.path.startsWith('/sim/') ? Object.keys(layer.route.methods).map((method) => [method.toUpperCase(), layer.route!.path] as const) : []))
      .filter(([, path]) => path !== '/sim/health');
    const answers: string[] = [];
    for (const [method, path] of routes) {
      for (const headers of [{}, { authorization: `Bearer ${'x'.repeat(token.length)}` }, { authorization: token }] as Record<string, string>[]) {
        const response = await control(method, path, headers, method === 'GET' || method === 'DELETE' ? undefined : payment('REFNOTOKEN1'));
        if (response.status !== 401) answers.push(`${method} ${path}: ${response.status}`);
        await response.arrayBuffer();
      }
    }

    expect(routes.length).toBeGreaterThanOrEqual(12);
    expect(answers).toEqual([]);
    expect((await control('GET', '/sim/health', {})).status).toBe(200);
    expect(keyflow.received).toEqual([]);
  });

  it('answers the ledger, and so customers’ phone numbers, only with the token', async () => {
    expect((await control('GET', '/sim/ledger', {})).status).toBe(401);
    expect((await control('GET', '/sim/ledger', withToken)).status).toBe(200);
  });

  it('refuses a callbackUrl other than the configured API, and sends it nothing', async () => {
    // when
    const foreign = await control('POST', '/sim/bank/payments', withToken, payment('REFFOREIGN1', { callbackUrl: `${elsewhere.url}/api/callbacks/bank` }));
    const alarm = await control('POST', '/sim/alarms', withToken, { serviceId: 'SVC-1', callbackUrl: `${elsewhere.url}/api/callbacks/alarms` });
    const ours = await control('POST', '/sim/bank/payments', withToken, payment('REFOURS0001', { callbackUrl: `${keyflow.url}/api/callbacks/bank` }));

    // then
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toMatch(/callbackUrl must be the configured Keyflow API/);
    expect(alarm.status).toBe(400);
    expect(ours.status).toBe(202);
    const deadline = Date.now() + 5_000;
    while (keyflow.received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(keyflow.received).toHaveLength(1);
    expect(keyflow.received[0]!.body).toContain('REFOURS0001');
    expect(elsewhere.received).toEqual([]);
  });
});
