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
  'provisioning.reserve': 'Reserve network resources for a subscription in the provisioning system (网管)',
  'provisioning.activate': 'Ask the provisioning system to activate a service; completion arrives later as a callback message',
  'provisioning.suspend': 'Suspend a subscription\'s service in the provisioning system (e.g. for dunning)',
  'provisioning.resume': 'Resume a suspended service in the provisioning system',
  'provisioning.release': 'Release reserved or active network resources (cancellation, compensation)',
  'provisioning.queryStatus': 'Read the provisioning state of a service order',
  'accounting.openBillingAccount': 'Open a billing account in the accounting system (综合营帐)',
  'accounting.closeBillingAccount': 'Close a billing account in the accounting system',
  'accounting.postAdjustment': 'Post a credit or debit adjustment (e.g. complaint compensation) to the accounting system',
  'accounting.postInvoice': 'Sync an issued bill to the accounting system',
  'notify.sendSms': 'Send an SMS notice from a template (Chinese or English)',
  'notify.sendEmail': 'Send an e-mail notice from a template (Chinese or English)',
  'bank.registerPaymentReference': 'Register a payment reference with the bank so incoming payments are reported back',
  'alarms.watch': 'Subscribe to the network alarm feed for a circuit, so faults are reported to this instance',
  'alarms.unwatch': 'End an alarm-feed subscription',

  // rating and billing

  // ops
};

/** The known `kf:type` values, for the validator. */
export function knownTaskTypes(): ReadonlySet<string> {
  return new Set(Object.keys(activityCatalog));
}
