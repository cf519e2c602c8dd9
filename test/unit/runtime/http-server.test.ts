import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createHttpServer } from '../../../runtime/http-server';

describe('the HTTP server of an express app', () => {
  const seen: { requestPrototype: unknown; responsePrototype: unknown; isIncomingMessage: boolean; isServerResponse: boolean }[] = [];
  const app = express();
  app.get('/echo/:id', (req, res) => res.status(201).json({ id: req.params.id, q: req.query.q, path: req.path, accepts: req.accepts('json') }));
  const server = createHttpServer(app);
  // What each request and response were born with, before express sees them.
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({
      requestPrototype: Object.getPrototypeOf(req),
      responsePrototype: Object.getPrototypeOf(res),
      isIncomingMessage: req instanceof http.IncomingMessage,
      isServerResponse: res instanceof http.ServerResponse,
    });
  });
  let url: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("serves the app with express's request and response methods", async () => {
    const response = await fetch(`${url}/echo/KA1?q=${encodeURIComponent('物流')}`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: 'KA1', q: '物流', path: '/echo/KA1', accepts: 'json' });
  });

  it("creates every request and response with express's prototypes already, still Node's own kinds", async () => {
    seen.length = 0;
    for (let index = 0; index < 3; index += 1) await (await fetch(`${url}/echo/${index}`)).text();
    expect(seen).toEqual(
      Array.from({ length: 3 }, () => ({ requestPrototype: app.request, responsePrototype: app.response, isIncomingMessage: true, isServerResponse: true })),
    );
  });
});
