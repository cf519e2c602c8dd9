import { api } from '../../api/client';

/**
 * The app's one connection to the pushed task changes (`GET /api/tasks/events`, Server-Sent
 * Events fed by PostgreSQL LISTEN/NOTIFY): opened by the first subscriber, shared by the
 * navigation's badge and the task list, closed with the last. EventSource reconnects by itself;
 * after any reconnect the lists reload, since changes may have been missed while it was down.
 */
export interface InboxEvent {
  taskId: string;
  change: 'created' | 'assigned' | 'closed' | 'updated';
  mine: boolean;
  at: number;
}

type Listener = (event: InboxEvent | { resync: true }) => void;

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let opened = false;

function emit(event: InboxEvent | { resync: true }): void {
  for (const listener of listeners) listener(event);
}

function open(): void {
  source = new EventSource('/api/tasks/events', { withCredentials: true });
  source.addEventListener('ready', () => {
    // A reconnect: whatever happened while the stream was down was not heard.
    if (opened) emit({ resync: true });
    opened = true;
  });
  source.addEventListener('resync', () => emit({ resync: true }));
  // A refused reconnect closes the stream for good: most often the session has ended, which any
  // request then tells the app (it sends the user to the login page).
  source.addEventListener('error', () => {
    if (source?.readyState === EventSource.CLOSED) void api('/api/auth/me').catch(() => undefined);
  });
  source.addEventListener('inbox', (message) => {
    try {
      emit(JSON.parse((message as MessageEvent<string>).data) as InboxEvent);
    } catch {
      emit({ resync: true });
    }
  });
}

/** Listens for task changes that concern the signed-in staff member; returns the unsubscribe. */
export function subscribeInbox(listener: Listener): () => void {
  listeners.add(listener);
  if (!source) open();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && source) {
      source.close();
      source = null;
      opened = false;
    }
  };
}
