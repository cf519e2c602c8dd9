import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { installRequestLogging } from '../../../api/request-log';
import { eventually } from '../../support/eventually';

describe('request logging', () => {
  const lines: Record<string, unknown>[] = [];
  let server: Server;
  let url: string;
  let level = 'info';

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: 'info' }, destination);
    const app = express();
    app.use((req, res, next) => {
      logger.level = level;
      next();
    });
    installRequestLogging(app, logger, { quietPaths: ['/health'] });
    app.get('/health', (_req, res) => void res.json({ ok: true }));
    app.get('/echo', (req, res) => void res.json({ id: req.id }));
    app.get('/warns', (req, res) => {
      req.log.warn('something to look at');
      res.status(202).end();
    });
    app.get('/fails', (_req, res) => void res.status(503).end());
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  beforeEach(() => {
    lines.length = 0;
    level = 'info';
  });

  /** A request read to its end: the server has finished it (and logged its completion, if it does) by then. */
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}${path}`, { headers });
    await response.arrayBuffer();
    return response;
  };

  /**
   * Waits for the line of one more request that is logged: the lines of every request before it
   * are in by then, so what is missing was not logged (no waiting for a fixed while). It is not kept.
   */
  const settled = async () => {
    const before = level;
    level = 'info';
    await get('/echo', { 'x-request-id': 'settled' });
    level = before;
    const marker = await eventually(async () => lines.findIndex((line) => line.clientRequestId === 'settled'), (index) => index >= 0, 'the marker request logged', 5_000);
    lines.splice(marker, 1);
  };

  it('gives every request an id of its own, keeps a sane caller id beside it, and logs the completed request with both', async () => {
    const response = await fetch(`${url}/echo?page=2`, { headers: { 'x-request-id': 'partner-7f3a:42' } });
    const body = await response.json();
    await settled();

    const id = response.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-client-request-id')).toBe('partner-7f3a:42');
    expect(body).toEqual({ id });
    expect(lines).toEqual([expect.objectContaining({ level: 30, reqId: id, clientRequestId: 'partner-7f3a:42', method: 'GET', url: '/echo?page=2', statusCode: 200, msg: 'request completed' })]);
  });

  it('writes tokens in query strings to the log redacted', async () => {
    await get('/echo?pageToken=c2VjcmV0&token=abc&page=2&cursor=9');
    await settled();

    expect(lines).toEqual([expect.objectContaining({ url: '/echo?pageToken=[redacted]&token=[redacted]&page=2&cursor=[redacted]' })]);
  });

  it('ignores a caller id that is not sane', async () => {
    for (const given of ['', 'x'.repeat(101), 'a b', 'id;drop', '../../etc']) {
      const response = await fetch(`${url}/echo`, { headers: { 'x-request-id': given } });
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get('x-client-request-id')).toBeNull();
    }
  });

  it('gives handlers a logger carrying the request id, and logs server errors at error level', async () => {
    await get('/warns', { 'x-request-id': 'w-1' });
    await get('/fails', { 'x-request-id': 'f-1' });
    await settled();

    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: 'something to look at' }),
      expect.objectContaining({ level: 30, clientRequestId: 'w-1', statusCode: 202 }),
      expect.objectContaining({ level: 50, clientRequestId: 'f-1', statusCode: 503 }),
    ]);
    expect(lines[0]!.reqId).toBe(lines[1]!.reqId);
  });

  it('does not log health checks, nor completions when info is off', async () => {
    await get('/health');
    level = 'warn';
    await get('/echo');
    await get('/warns', { 'x-request-id': 'w-2' });
    await settled();

    expect(lines).toEqual([expect.objectContaining({ level: 40, reqId: expect.stringMatching(/^[0-9a-f-]{36}$/), msg: 'something to look at' })]);
  });
});
