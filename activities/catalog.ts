/**
 * The service-task types a model may name in `kf:type`, each with one line for the designer's
 * picker. The deploy validator refuses any other type, so a typo fails at deploy, not at run time.
 *
 * Every activity registered under a dotted name in `createActivities` (activities/index.ts) has its
 * line here, and only those: a unit test holds the two in step. Add yours as ONE line in your
 * area's block (keep the blocks apart, so parallel additions never touch the same lines).
 *
 * Pure data: the API and the designer import it; no I/O.
 */
export const activityCatalog: Readonly<Record<string, string>> = {
  // engine (built-in helpers)

  // crm

  // inbox

  // external systems (provisioning, accounting, sms, bank)

  // rating and billing

  // ops
};

/** The known `kf:type` values, for the validator. */
export function knownTaskTypes(): ReadonlySet<string> {
  return new Set(Object.keys(activityCatalog));
}
