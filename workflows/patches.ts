/**
 * Versioning convention of the interpreter. Running instances replay their history against the
 * current code, so every change to what the interpreter *does* (which commands it issues, in which
 * order) after this first version is guarded:
 *
 *   if (patched(patches.someChange)) { new behaviour } else { old behaviour }
 *
 * 1. Add a constant here, named for the change, value `kf-<yyyy-mm-dd>-<slug>`; never reuse or rename one.
 * 2. Guard the new behaviour with `patched(patches.x)`; keep the old branch until no instance that
 *    started before the change is running, then `deprecatePatch(patches.x)` and later remove both.
 * 3. Record a replay history of the changed element (test/replay/README.md) and keep the old ones:
 *    `npm test` replays them all, so an unguarded change fails the build.
 *
 */
export const patches = {
  /** Ops can re-pin a running instance to another model version (the `migrateInstance` update). */
  migrateInstance: 'kf-2026-11-25-migrate-instance',
  /** A BPMN error nothing catches parks its token as an incident instead of failing the instance (Camunda 8). */
  unhandledErrorIncident: 'kf-2026-11-25-unhandled-error-incident',
  /** Signal catch events, boundaries and throws take effect (before, a catch raised an incident and a throw did nothing). */
  signalEvents: 'kf-2026-11-25-signal-events',
  /**
   * Business rule tasks evaluate their decision (before, deploy refused them; an instance migrated
   * onto a version with one, replaying code without them, raised an incident there).
   */
  businessRuleTasks: 'kf-2026-12-20-business-rule-tasks',
  /** A completion of a task with a form writes only the form's fields (the validator refuses others; replayed updates skipped it). */
  completionFormFieldsOnly: 'kf-2026-12-20-completion-form-fields-only',
  /**
   * Instances list the signals and keyed messages they wait for in KfWaitingFor (the correlation
   * index behind `POST /api/signals` and messages by correlation key alone); before, nothing did.
   */
  subscriptionIndex: 'kf-2026-12-03-subscription-index',
  /** A signal that carries an id is taken once (a broadcast's retried delivery); before, every copy fired. */
  signalIds: 'kf-2026-12-03-signal-ids',
  /** Escalation throws reach escalation boundaries and event sub-processes (deploy refused escalations before). */
  escalationEvents: 'kf-2026-12-03-escalation-events',
  /** A message throw with message flows to other pools publishes its message (before, a message throw did nothing). */
  messageFlows: 'kf-2026-12-03-message-flows',
  /** Conditional catch and boundary events wait for their condition (deploy refused them before). */
  conditionalEvents: 'kf-2026-12-03-conditional-events',
  /**
   * Compensation is scoped (BPMN): a throw inside a sub-process compensates what completed in that
   * sub-process, and a completed sub-process is compensated as a whole — by its own handler if it
   * has one, else by its inner handlers, last first. Before, every throw compensated the whole instance.
   */
  scopedCompensation: 'kf-2026-12-04-scoped-compensation',
  /**
   * An instance continues as new also while tokens wait inside embedded sub-processes (not
   * multi-instance ones): before, only when every token waited at the process level.
   */
  continueAsNewInScopes: 'kf-2026-12-04-continue-as-new-in-scopes',
  /**
   * A multi-instance activity keeps its progress where a continue-as-new can carry it, and the
   * instance continues as new while iterations wait in user tasks, receive tasks or sub-processes.
   * Before, it did not while a multi-instance ran (a sequential receive task's wait was carried as
   * the activity's, restarting its iterations).
   */
  continueAsNewInMultiInstance: 'kf-2026-12-06-continue-as-new-in-multi-instance',
} as const satisfies Record<string, string>;
