/**
 * A task's SLA as the list shows it: the time left (or past) until it is due, and how urgent that
 * is — breached once due, a reminder once three quarters of its time are gone (the complaint
 * process's reminder threshold), otherwise on time.
 */
export type Urgency = 'breached' | 'reminder' | 'onTime' | 'none';

export interface SlaReading {
  urgency: Urgency;
  /** Milliseconds until due; negative once breached; null without a due time. */
  leftMs: number | null;
}

export const reminderShare = 0.75;

export function readSla(task: { dueAt: string | null; createdAt: string }, now: number): SlaReading {
  if (!task.dueAt) return { urgency: 'none', leftMs: null };
  const due = Date.parse(task.dueAt);
  const created = Date.parse(task.createdAt);
  const leftMs = due - now;
  if (leftMs <= 0) return { urgency: 'breached', leftMs };
  const span = due - created;
  if (span > 0 && (now - created) / span >= reminderShare) return { urgency: 'reminder', leftMs };
  return { urgency: 'onTime', leftMs };
}

/** "2d 3h", "45m", "30s": the two largest units of a duration. */
export function shortDuration(ms: number): string {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}
