/**
 * Runs `action` at most once per `ms` while pokes keep coming: the first poke of a burst schedules
 * it, later ones ride along. (A debounce that restarts on every poke would never run while a
 * stream of pushed changes lasts — a bill run's batches, tasks arriving ten a second.)
 */
export function coalesce(ms: number, action: () => void): { poke(): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    poke() {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        action();
      }, ms);
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
