import { readSla, shortDuration } from '../../../designer/src/rooms/tasks/sla';

describe("a task's SLA as the task list shows it", () => {
  const created = '2026-12-01T08:00:00Z';
  const due = '2026-12-01T12:00:00Z';
  const at = (iso: string) => Date.parse(iso);

  it('is on time until three quarters of the time are gone, a reminder after, and breached once due', () => {
    expect(readSla({ createdAt: created, dueAt: due }, at('2026-12-01T10:59:00Z'))).toEqual({ urgency: 'onTime', leftMs: 61 * 60_000 });
    expect(readSla({ createdAt: created, dueAt: due }, at('2026-12-01T11:00:00Z')).urgency).toBe('reminder');
    expect(readSla({ createdAt: created, dueAt: due }, at('2026-12-01T12:00:00Z')).urgency).toBe('breached');
    expect(readSla({ createdAt: created, dueAt: due }, at('2026-12-01T13:30:00Z'))).toEqual({ urgency: 'breached', leftMs: -90 * 60_000 });
  });

  it('has no urgency without a due time', () => {
    expect(readSla({ createdAt: created, dueAt: null }, at(due))).toEqual({ urgency: 'none', leftMs: null });
  });

  it('says the time left in its two largest units', () => {
    expect(shortDuration(2 * 86_400_000 + 3 * 3_600_000 + 59_000)).toBe('2d 3h');
    expect(shortDuration(45 * 60_000 + 5_000)).toBe('45m 5s');
    expect(shortDuration(-90 * 60_000)).toBe('1h 30m');
    expect(shortDuration(3 * 3_600_000)).toBe('3h');
    expect(shortDuration(400)).toBe('0s');
  });
});
