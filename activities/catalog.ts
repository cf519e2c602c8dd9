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
  'provisioning.reserve': 'Reserve network resources for a product at the network management system (网管).',
  'provisioning.activate': 'Ask the network management system to activate a reserved product; the result arrives by callback.',
  'provisioning.queryStatus': 'Read the provisioning status of an earlier request from the network management system.',
  'provisioning.release': 'Release reserved or active network resources (the compensation of reserve/activate).',
  'provisioning.suspend': 'Suspend an active product at the network management system (e.g. for dunning).',
  'provisioning.resume': 'Resume a suspended product at the network management system.',
  'accounting.openBillingAccount': 'Open a billing account in the accounting system (综合营帐).',
  'accounting.closeBillingAccount': 'Close a billing account in the accounting system.',
  'accounting.postAdjustment': 'Post a credit or debit adjustment (integer minor units) to a billing account.',
  'accounting.postInvoice': 'Post an invoice (integer minor units) to the accounting system.',
  'alarms.watch': 'Subscribe to network alarms for a customer product, reported back by callback.',
  'alarms.unwatch': 'End a network alarm subscription.',
  'bank.registerPaymentReference': 'Register the reference a customer pays a bill with; payments are reported by callback.',
  'notify.sendSms': 'Send an SMS from a template through the SMS gateway.',
  'notify.sendEmail': 'Send an e-mail from a template through the mail gateway.',

  // rating and billing

  // ops
};

/** The known `kf:type` values, for the validator. */
export function knownTaskTypes(): ReadonlySet<string> {
  return new Set(Object.keys(activityCatalog));
}
