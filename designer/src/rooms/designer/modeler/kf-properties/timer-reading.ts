import { t } from '../../../../i18n';

const durationPattern = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const units = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'] as const;

/** "2 hours 30 minutes" for PT2H30M; null when the text is not an ISO-8601 duration. */
export function readDuration(text: string): string | null {
  const match = durationPattern.exec(text.trim());
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) return null;
  const parts = units.flatMap((unit, index) => {
    const value = match[index + 1];
    return value && Number(value) > 0 ? [t(`timer.unit.${unit}`, { count: Number(value) })] : [];
  });
  return parts.length ? parts.join(' ') : null;
}

/**
 * A designer's reading of a timer definition, e.g. "every 2 hours, 3 times" for R3/PT2H, or null
 * when the value is not one Keyflow accepts (the validator then says why).
 */
export function readTimer(kind: 'timeDuration' | 'timeDate' | 'timeCycle', value: string): string | null {
  const text = value.trim();
  if (!text) return null;
  if (text.startsWith('=')) return t('timer.expression');
  if (kind === 'timeDuration') {
    const duration = readDuration(text);
    return duration ? t('timer.after', { duration }) : null;
  }
  if (kind === 'timeDate') {
    const date = new Date(text);
    return Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(text) ? null : t('timer.at', { date: date.toLocaleString(document.documentElement.lang === 'zh-CN' ? 'zh-CN' : 'en-GB') });
  }
  const cycle = /^R(\d*)\/(?:([^/]+)\/)?(P[^/]+)$/.exec(text);
  if (!cycle) return null;
  const duration = readDuration(cycle[3]!);
  if (!duration) return null;
  const repeat = cycle[1] ? t('timer.times', { count: Number(cycle[1]) }) : t('timer.forever');
  return t('timer.every', { duration, repeat });
}
