const durationPattern = /^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;

export function isIsoDuration(text: string): boolean {
  return durationPattern.test(text);
}

export function isIsoInstant(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text));
}

/** `R3/PT1H`, `R/PT10M`, `R2/2026-01-01T09:00:00Z/P1D`. */
export function isIsoCycle(text: string): boolean {
  const parts = text.split('/');
  if (!/^R\d*$/.test(parts[0] ?? '')) return false;
  if (parts.length === 2) return isIsoDuration(parts[1]!);
  if (parts.length === 3) return isIsoInstant(parts[1]!) && isIsoDuration(parts[2]!);
  return false;
}
