import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { Logger } from '../runtime/logger';
import { ChannelListener } from './pg-listener';

/** The channel migration 0870's trigger notifies on every change to a task someone may see. */
const channel = 'keyflow_inbox';

/** What the trigger says about a changed task: enough to decide whom it concerns, nothing more. */
const notification = z.object({
  id: z.string(),
  change: z.enum(['created', 'assigned', 'closed', 'updated']),
  assignee: z.string().nullable().optional(),
  previousAssignee: z.string().nullable().optional(),
  groups: z.array(z.string()).optional(),
  users: z.array(z.string()).optional(),
  orgPath: z.string().nullable().optional(),
  /** Milliseconds since the epoch when the change was made (the database's clock). */
  at: z.number(),
  /** The payload would not fit NOTIFY: the rest is read from the row. */
  partial: z.boolean().optional(),
});
export type InboxNotification = z.infer<typeof notification>;

/** What a connected client is told: which task changed and how. Its data it reads through the routes. */
export interface InboxEvent {
  taskId: string;
  change: InboxNotification['change'];
  /** Whether the task is now the listener's (assigned to them). */
  mine: boolean;
  at: number;
}

/** Who listens: the inbox's view of a caller. */
export interface InboxListener {
  username: string;
  roles: readonly string[];
  orgPath: string;
  /** Supervisors (and admins) also hear about every task of their subtree (their team view). */
  overseesTeam: boolean;
  send(event: InboxEvent): void;
  /** Notifications may have been missed (the listening connection was lost): reload everything. */
  resync(): void;
  /** The feed is closing: end the stream (the client reconnects). */
  end(): void;
}

const taskRow = z.object({ assignee: z.string().nullable(), groups: z.array(z.string()), users: z.array(z.string()), orgPath: z.string().nullable() });

/**
 * Whether a change concerns a listener: the task is or was theirs, they are a candidate (one of its
 * groups is a role of theirs and its unit lies in their subtree, or the process named them), or it
 * belongs to the subtree they oversee. The same rules as the inbox's own queries (db/tasks.ts).
 */
export function concerns(listener: Pick<InboxListener, 'username' | 'roles' | 'orgPath' | 'overseesTeam'>, change: InboxNotification): boolean {
  if (change.assignee === listener.username || change.previousAssignee === listener.username) return true;
  if ((change.users ?? []).includes(listener.username)) return true;
  const inSubtree = change.orgPath !== null && change.orgPath !== undefined && change.orgPath.startsWith(listener.orgPath);
  if ((change.groups ?? []).some((group) => listener.roles.includes(group)) && (change.orgPath === null || change.orgPath === undefined || inSubtree)) return true;
  return listener.overseesTeam && inSubtree;
}

/**
 * The pushed side of the task list: one connection per API process LISTENs on the inbox channel
 * and hands each change to the connected staff it concerns (Server-Sent Events, api/routes/tasks.ts).
 * Once a lost connection is back, every listener is told to reload, since changes made meanwhile
 * were not heard.
 */
export class InboxFeed {
  private readonly listeners = new Set<InboxListener>();
  private readonly channel: ChannelListener;

  private constructor(
    databaseUrl: string,
    private readonly db: CommonQueryMethods,
    private readonly logger: Logger,
    options: { reconnectDelayMs?: number },
  ) {
    this.channel = ChannelListener.start(
      databaseUrl,
      channel,
      logger,
      {
        onNotification: (payload) => void this.deliver(payload),
        // Changes made while no one listened were not heard: every open list reloads.
        onReconnect: () => {
          for (const listener of this.listeners) listener.resync();
        },
      },
      options,
    );
  }

  static start(databaseUrl: string, db: CommonQueryMethods, logger: Logger, options: { reconnectDelayMs?: number } = {}): InboxFeed {
    return new InboxFeed(databaseUrl, db, logger, options);
  }

  /** Resolves once the feed listens (or gave up this attempt): tests and benches wait for it. */
  get ready(): Promise<void> {
    return this.channel.ready;
  }

  get listening(): boolean {
    return this.channel.listening;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: InboxListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops listening and ends every listener's stream (their clients reconnect elsewhere). */
  async close(): Promise<void> {
    for (const listener of this.listeners) listener.end();
    this.listeners.clear();
    await this.channel.close();
  }

  private async deliver(payload: string | undefined): Promise<void> {
    let change: InboxNotification;
    try {
      change = notification.parse(JSON.parse(payload ?? ''));
    } catch (error) {
      this.logger.warn({ err: error }, 'inbox feed: unreadable notification');
      return;
    }
    if (this.listeners.size === 0) return;
    if (change.partial) {
      const row = await this.db
        .maybeOne(sql.type(taskRow)`
          SELECT t.assignee, t.candidate_groups AS groups, t.candidate_users AS users, u.path AS "orgPath"
          FROM human_tasks t LEFT JOIN org_units u ON u.id = t.org_unit_id WHERE t.id = ${change.id}`)
        .catch(() => null);
      if (!row) return;
      change = { ...change, ...row };
    }
    for (const listener of this.listeners) {
      if (!concerns(listener, change)) continue;
      listener.send({ taskId: change.id, change: change.change, mine: change.assignee === listener.username, at: change.at });
    }
  }
}
