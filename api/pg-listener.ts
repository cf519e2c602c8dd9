import pg from 'pg';
import type { Logger } from '../runtime/logger';

/**
 * One connection LISTENing on a PostgreSQL channel, for the pushed streams (the inbox, bill runs).
 * A lost connection is retried after `reconnectDelayMs`, doubling up to 30 s while attempts fail;
 * once it is back, `onReconnect` says that notifications may have been missed meanwhile.
 */
export class ChannelListener {
  private client: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private everListened = false;
  /** Resolves once the channel is listened to (or this attempt gave up): tests and benches wait for it. */
  ready: Promise<void> = Promise.resolve();

  private constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly logger: Logger,
    private readonly handlers: { onNotification: (payload: string | undefined) => void; onReconnect: () => void },
    private readonly reconnectDelayMs: number,
  ) {}

  static start(
    databaseUrl: string,
    channel: string,
    logger: Logger,
    handlers: { onNotification: (payload: string | undefined) => void; onReconnect: () => void },
    options: { reconnectDelayMs?: number } = {},
  ): ChannelListener {
    const listener = new ChannelListener(databaseUrl, channel, logger, handlers, options.reconnectDelayMs ?? 500);
    void listener.listen();
    return listener;
  }

  get listening(): boolean {
    return this.client !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private listen(attempt = 0): Promise<void> {
    this.ready = (async () => {
      const client = new pg.Client({ connectionString: this.databaseUrl, application_name: `keyflow-listen-${this.channel}` });
      const lost = (error?: Error) => {
        if (this.client !== client) return;
        this.client = null;
        void client.end().catch(() => undefined);
        if (this.closed) return;
        this.logger.warn({ err: error, channel: this.channel }, 'lost the connection that listens for changes; reconnecting');
        this.scheduleReconnect(0);
      };
      client.on('error', lost);
      client.on('end', () => lost());
      client.on('notification', (message) => this.handlers.onNotification(message.payload));
      try {
        await client.connect();
        await client.query(`LISTEN ${this.channel}`);
      } catch (error) {
        void client.end().catch(() => undefined);
        if (this.closed) return;
        this.logger.warn({ err: error, channel: this.channel }, 'cannot listen for changes; retrying');
        this.scheduleReconnect(attempt + 1);
        return;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
      if (this.everListened) this.handlers.onReconnect();
      this.everListened = true;
    })();
    return this.ready;
  }

  private scheduleReconnect(attempt: number): void {
    const delayMs = Math.min(30_000, this.reconnectDelayMs * 2 ** Math.min(attempt, 6));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) void this.listen(attempt);
    }, delayMs);
    this.reconnectTimer.unref();
  }
}
