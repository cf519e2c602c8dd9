import type { Request, Response } from 'express';

/**
 * The pushed streams. Their reconnects do not slide the session's end (api/auth.ts): a tab left
 * open would otherwise keep its session alive for ever; once the session ends, the reconnect is
 * refused and the app sends the user to the login page.
 */
export const eventStreamPaths: ReadonlySet<string> = new Set(['/api/tasks/events', '/api/billing/runs/events']);

/** A pushed stream ends after this long and the browser reconnects (re-checking the session). */
export const streamLifetimeMs = 5 * 60_000;
/** A comment line this often keeps idle proxies from closing the stream. */
const heartbeatMs = 25_000;

/** What a stream's source is handed: send an event, or end the stream. */
export interface EventSink {
  send(event: string, data: unknown): void;
  end(): void;
}

/**
 * Answers the request with a Server-Sent Events stream: `ready` at once, then whatever the source
 * sends, a heartbeat comment every 25 s, until the client goes, the source ends it or five minutes
 * have passed (EventSource then reconnects by itself). `subscribe` returns the unsubscribe.
 */
export function streamEvents(req: Request, res: Response, subscribe: (sink: EventSink) => () => void): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`retry: 3000\n\nevent: ready\ndata: ${JSON.stringify({ at: Date.now() })}\n\n`);
  return new Promise<void>((resolve) => {
    let done = false;
    let unsubscribe: () => void = () => undefined;
    const finish = () => {
      if (done) return;
      done = true;
      unsubscribe();
      clearInterval(heartbeat);
      clearTimeout(lifetime);
      res.end();
      resolve();
    };
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    const lifetime = setTimeout(finish, streamLifetimeMs);
    req.on('close', finish);
    unsubscribe = subscribe({
      send: (event, data) => {
        if (!done) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      end: finish,
    });
  });
}
