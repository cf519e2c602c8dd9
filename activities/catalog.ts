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
  'provisioning.reserve': 'Reserve network resources for a service (provisioning/网管); returns serviceId and reservationId',
  'provisioning.activate': 'Ask the network to activate a service; the result arrives later as the message provisioning.result',
  'provisioning.suspend': 'Suspend an active service in the network (e.g. for non-payment)',
  'provisioning.resume': 'Resume a suspended service in the network',
  'provisioning.release': 'Release a service and its network resources',
  'provisioning.queryStatus': "Read a service's current status from the network",
  'accounting.openBillingAccount': 'Open a billing account in the accounting system (综合营帐)',
  'accounting.closeBillingAccount': 'Close a billing account whose balance is zero',
  'accounting.postAdjustment': 'Post a credit or debit adjustment in minor units to a billing account',
  'accounting.postInvoice': 'Post an issued invoice to a billing account in the accounting system',
  'notify.sendSms': 'Send an SMS from a template, in Chinese or English',
  'notify.sendEmail': 'Send an e-mail from a template, in Chinese or English',
  'bank.registerPaymentReference': 'Register a payment reference with the bank; payments arrive as the message bank.paymentReceived',
  'alarms.watch': "Deliver a service's network alarms to this instance as alarm.raised / alarm.cleared messages",
  'alarms.unwatch': "Stop delivering a service's network alarms to this instance",

  // rating and billing
  'billing.openRun': 'Open (or find) the bill run of a period and bill cycle day; without a period, the last full month',
  'billing.collectUsage': 'Collect usage: mediation files from the inbox and the usage feed, checked, guided, deduplicated, bad records to the error table',
  'billing.planRun': 'Fix the accounts of a bill run and cut them into batches (the list a multi-instance rating step runs over)',
  'billing.rateBatch': 'Rate one batch of accounts (first and second rating, discounts) and draft their bills, in one transaction',
  'billing.finishRating': 'Check conservation (every record rated once or rejected), total the drafts and decide whether a clerk must approve',
  'billing.recordDecision': 'Record the billing clerk\'s approval or rejection of a bill run (a rejected run discards its drafts)',
  'billing.issueBills': 'Issue the run\'s bills: gap-free numbers, validated, due date; returns when dunning should start',
  'billing.publishBatch': 'Publish one batch of issued bills: invoice to accounting, notice by SMS and e-mail, state sent',
  'billing.completeRun': 'Mark a bill run completed',
  'billing.startDunning': 'Start a dunning process for every bill of the run still unpaid',
  'billing.openDunning': 'Plan the dunning of one bill: when the reminders, grey list and suspension are due',
  'billing.dunningStep': 'One dunning step for a bill: reminder, grey list, suspension with black list, or restore after payment',
  'billing.dunningStatus': 'What is still owed on a bill, and whether it is settled',

  // trouble tickets (processes/complaint.bpmn)
  'tickets.acknowledge': "Acknowledge a trouble ticket; returns the account's tier and its contract's SLA terms",
  'tickets.record': "Record one step of a trouble ticket (dispatch, transfer, suspend, resume, resolve, reopen, close, …): its TMF621 state, SLA clock and audit row",
  'tickets.escalate': 'Escalate a trouble ticket past its SLA to the supervisors of the handling unit (level 1) or of the unit above (level 2)',
  'tickets.remind': 'Remind whoever holds a trouble ticket at 75% of its SLA: SMS and an inbox notice',
  'tickets.compensate': 'Propose, approve, reject or post the compensation of a trouble ticket (a credit is posted to the next bill)',

  // retention (processes/retention.bpmn)
  'retention.record': 'Record the outcome of a retention case (reason, counter-offer, approval, retained or lost) on its row, once',

  // campaigns (processes/campaign.bpmn)
  'care.sendGreetings': "Send the day's birthday and anniversary greetings to key contacts who did not opt out, once a year each",
  'campaign.send': "Record the supervisor's decision on a campaign and send its SMS to every opted-in contact of its segment, once each, at its rate",

  // order fulfilment (processes/order-fulfilment.bpmn)
  'orders.validate': "Validate an order against the catalogue and the account; returns the account's state, credit list and the items to fulfil",
  'orders.record': 'Record one step of an order (validated, held, rejected, contract pending, completed, cancelled, …): its TMF622 state, milestone and audit row',
  'orders.recordItem': 'Record what the network did for one order item: reserved (service and reservation ids), activated, failed',
  'orders.signContract': "Record the customer's signed contract for an order (the contract row, linked to the order)",
  'orders.recordBilling': 'Keep the billing account accounting opened for an order and a subscription per added item at today\'s tariff, for the rating engine',
  'orders.changeSubscription': 'A modify or delete order item: end the subscription it names (and start one on the ordered product)',
  'orders.withdraw': "Compensation of an order: end its new subscriptions and close the CRM's billing account of the order",
  'orders.notify': "Notify an order's customer (key contact) or customer manager by SMS (and the manager's inbox)",
  'orders.projectNotice': "Remind the group of an overdue project task of an order, or escalate it to the order unit's supervisors",

  // supervision tickets (processes/supervision.bpmn, supervision-node.bpmn, the recurring models)
  'supervision.open': 'Open a supervision ticket: in progress; returns its branches (the units and managers it was issued to), deadline and reminder time',
  'supervision.node': 'Start one branch of a supervision ticket: unit or manager, who holds it, who reviews it, when it is due',
  'supervision.passDown': 'Open the branches below a unit (units and customer managers named in the pass-down form, comma-separated)',
  'supervision.record': 'Record what came up from a branch (report), or the review: sent back with a reason, or accepted',
  'supervision.close': 'Close a supervision ticket once every branch is accepted',
  'supervision.remind': 'Remind whoever holds an open branch of a supervision ticket before its deadline: SMS and an inbox notice',
  'supervision.escalate': "Escalate a supervision ticket's overdue branches to the issuer and to each overdue unit's supervisor",
  'supervision.deadline': "Read a supervision ticket's deadline and reminder time after an extension",
  'supervision.openWeeklyPlans': 'Open a weekly work-plan ticket for every active customer manager (once per ISO week); returns the ticket ids',
  'supervision.openVisits': 'Open a visit ticket for every key account whose class is due (months by class, class by tier); returns the ticket ids',
  'supervision.revenueAlerts': "After a bill run: open an alert ticket for every account whose billed revenue fell beyond the threshold against its trailing average",

  // ops
};

/** The known `kf:type` values, for the validator. */
export function knownTaskTypes(): ReadonlySet<string> {
  return new Set(Object.keys(activityCatalog));
}
