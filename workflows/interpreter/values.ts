import type { MessageInput, Variables } from '../contracts';
import { durationMs, instantMs } from '../timers';

export function messageMatches(message: MessageInput, name: string, correlationKey: string | undefined): boolean {
  return message.name === name && (correlationKey === undefined || message.correlationKey === correlationKey);
}

/** A correlation key as messages carry it: strings as they are, anything else as JSON. */
export function correlationString(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function isPlainObject(value: unknown): value is Variables {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** A configured duration, or the fallback when it is absent or not positive. */
export function safeDuration(text: string | undefined, fallbackMs: number): number {
  if (!text) return fallbackMs;
  const ms = durationMs(text);
  return ms > 0 ? ms : fallbackMs;
}

export function toStringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter((entry) => entry.length > 0);
  if (typeof value === 'string') return value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  return [];
}

export function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : String(value);
}

/** A due date is a duration from now (`P2D`) or an instant. */
export function dueInstant(value: unknown): string | undefined {
  const text = optionalString(value);
  if (!text) return undefined;
  if (/^P/i.test(text.trim())) return new Date(Date.now() + durationMs(text)).toISOString();
  return new Date(instantMs(text)).toISOString();
}
