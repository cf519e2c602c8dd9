import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api/client';
import { t } from '../../i18n';
import { subscribeInbox } from './inbox-stream';
import { readSla, shortDuration, type Urgency } from './sla';
import { useNow } from './task-list';
import type { HumanTask } from './tasks-api';

const mineKey = ['tasks', 'sla-watch'] as const;

/**
 * Tells the signed-in staff member when a task of theirs nears its SLA (the reminder, at 75 % of
 * its time) or breaches it, wherever they are in the app. Their tasks are read again when the
 * pushed inbox stream says something changed; the clock does the rest.
 */
export function SlaNotices() {
  const client = useQueryClient();
  const mine = useQuery({ queryKey: mineKey, queryFn: () => api<{ items: HumanTask[] }>('/api/tasks/mine', { query: { order: 'urgency', limit: 50 } }), staleTime: Infinity });
  const now = useNow(15_000);
  const told = useRef(new Map<string, Urgency>());
  const [notices, setNotices] = useState<{ id: string; name: string; urgency: Urgency; leftMs: number }[]>([]);

  useEffect(() => subscribeInbox(() => void client.invalidateQueries({ queryKey: mineKey })), []);

  useEffect(() => {
    const fresh: typeof notices = [];
    for (const task of mine.data?.items ?? []) {
      const sla = readSla(task, now);
      if (sla.urgency !== 'reminder' && sla.urgency !== 'breached') continue;
      if (told.current.get(task.id) === sla.urgency) continue;
      told.current.set(task.id, sla.urgency);
      fresh.push({ id: task.id, name: task.name, urgency: sla.urgency, leftMs: sla.leftMs ?? 0 });
    }
    if (fresh.length > 0) setNotices((current) => [...current.filter((notice) => !fresh.some((next) => next.id === notice.id)), ...fresh].slice(-3));
  }, [mine.data, now]);

  if (notices.length === 0) return null;
  return (
    <div class="kf-sla-notices" role="status" aria-live="polite">
      {notices.map((notice) => (
        <p key={notice.id} class={`kf-sla-notice kf-sla-notice--${notice.urgency}`}>
          <a href={`/tasks/${encodeURIComponent(notice.id)}`}>
            {notice.urgency === 'breached'
              ? t('tasks.notice.breached', { name: notice.name, time: shortDuration(notice.leftMs) })
              : t('tasks.notice.reminder', { name: notice.name, time: shortDuration(notice.leftMs) })}
          </a>
          <button type="button" class="kf-button kf-button--quiet kf-button--small" aria-label={t('app.dismiss')} onClick={() => setNotices((current) => current.filter((other) => other.id !== notice.id))}>
            ×
          </button>
        </p>
      ))}
    </div>
  );
}
