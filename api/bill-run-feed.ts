import { z } from 'zod';
import type { Logger } from '../runtime/logger';
import { ChannelListener } from './pg-listener';

/** The channel migration 0871's trigger notifies on every change to a bill run. */
const channel = 'keyflow_bill_runs';

const notification = z.object({ id: z.coerce.number(), status: z.string(), at: z.number() });
export type BillRunEvent = z.infer<typeof notification>;

export interface BillRunListener {
  send(event: BillRunEvent): void;
  /** Changes may have been missed: reload. */
  resync(): void;
  end(): void;
}

/**
 * The pushed side of the billing room: bill runs are operator-wide, so every connected listener
 * (a province-level billing clerk; the route checks) hears every run's change as it is written.
 */
export class BillRunFeed {
  private readonly listeners = new Set<BillRunListener>();
  private readonly channel: ChannelListener;

  private constructor(databaseUrl: string, logger: Logger) {
    this.channel = ChannelListener.start(databaseUrl, channel, logger, {
      onNotification: (payload) => {
        const parsed = notification.safeParse(safeJson(payload));
        if (!parsed.success) return logger.warn({ payload }, 'bill-run feed: unreadable notification');
        for (const listener of this.listeners) listener.send(parsed.data);
      },
      onReconnect: () => {
        for (const listener of this.listeners) listener.resync();
      },
    });
  }

  static start(databaseUrl: string, logger: Logger): BillRunFeed {
    return new BillRunFeed(databaseUrl, logger);
  }

  get ready(): Promise<void> {
    return this.channel.ready;
  }

  subscribe(listener: BillRunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const listener of this.listeners) listener.end();
    this.listeners.clear();
    await this.channel.close();
  }
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}
