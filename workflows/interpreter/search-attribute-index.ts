import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { condition, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { waitingForMessage, waitingForSignal } from '../contracts';
import { searchAttributeKeys } from '../handles';
import { patches } from '../patches';
import type { Engine } from './engine';

/** KfWaitingFor's limits: Temporal caps a keyword at 2 KB and an instance's search attributes at 40 KB. */
const maxWaitingForEntryLength = 1_000;
const maxWaitingForEntries = 30;

/**
 * The search attributes an instance keeps about itself: who it is (process, business key,
 * customer, org unit), where its tokens wait, its incidents, and what it waits for (KfWaitingFor).
 * Token transitions only mark the index; one upsert per activation writes what changed.
 */
export class SearchAttributeIndex {
  private readonly enabled: boolean;
  private dirty = false;
  private indexed: { activeNodes: string; incident: boolean; incidentNode: string; waitingFor: string };
  /** Whether this run lists its subscriptions in KfWaitingFor (decided once, by patch, on first need). */
  private listsSubscriptions?: boolean;

  constructor(private readonly engine: Engine) {
    this.enabled = engine.state.input.indexSearchAttributes !== false;
    const current = workflowInfo().typedSearchAttributes;
    this.indexed = {
      activeNodes: (current.get(searchAttributeKeys.activeNodes) ?? []).join('\u0000'),
      incident: current.get(searchAttributeKeys.incident) ?? false,
      incidentNode: current.get(searchAttributeKeys.incidentNode) ?? '',
      waitingFor: (current.get(searchAttributeKeys.waitingFor) ?? []).join('\u0000'),
    };
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Who the instance is: written once (again after a migration), and only what the starter did not set. */
  indexIdentity(): void {
    if (!this.enabled) return;
    const { model, input } = this.engine.state;
    const current = workflowInfo().typedSearchAttributes;
    const wanted: SearchAttributeUpdatePair[] = [];
    const want = (pair: SearchAttributeUpdatePair) => {
      if (pair.value === undefined || pair.value === null || pair.value === '') return;
      if (current.get(pair.key as never) !== pair.value) wanted.push(pair);
    };
    want({ key: searchAttributeKeys.processKey, value: model.key });
    want({ key: searchAttributeKeys.businessKey, value: input.businessKey });
    want({ key: searchAttributeKeys.processVersion, value: model.version });
    want({ key: searchAttributeKeys.customerId, value: input.customerId ?? null });
    want({ key: searchAttributeKeys.orgUnit, value: input.orgUnitId ?? null });
    // Starters that set these already (the API does) cost no extra history event.
    if (wanted.length > 0) upsertSearchAttributes(wanted);
  }

  /** Something the index shows changed: the indexer looks again once this activation settles. */
  mark(): void {
    if (this.enabled) this.dirty = true;
  }

  /** Coalesces every change of one activation into at most one upsert, and only when a value changed. */
  async run(): Promise<void> {
    const { state } = this.engine;
    for (;;) {
      await condition(() => this.dirty);
      this.dirty = false;
      const active = [...new Set([...state.liveTokens.values()].filter((token) => token.waits > 0).map((token) => token.nodeId))].sort();
      const incidentEntries = [...state.incidents.values()];
      const incident = incidentEntries.length > 0;
      const incidentNode = incidentEntries[0]?.incident.nodeId ?? '';
      const updates: SearchAttributeUpdatePair[] = [];
      if (active.join('\u0000') !== this.indexed.activeNodes) {
        updates.push({ key: searchAttributeKeys.activeNodes, value: active.length > 0 ? active : null });
      }
      if (incident !== this.indexed.incident) updates.push({ key: searchAttributeKeys.incident, value: incident });
      if (incidentNode !== this.indexed.incidentNode) updates.push({ key: searchAttributeKeys.incidentNode, value: incidentNode || null });
      const waitingFor = this.waitingForEntries();
      if (waitingFor.join('\u0000') !== this.indexed.waitingFor) {
        updates.push({ key: searchAttributeKeys.waitingFor, value: waitingFor.length > 0 ? waitingFor : null });
      }
      if (updates.length === 0) continue;
      this.indexed = { activeNodes: active.join('\u0000'), incident, incidentNode, waitingFor: waitingFor.join('\u0000') };
      upsertSearchAttributes(updates);
    }
  }

  /**
   * The signals and keyed messages this instance waits for, as KfWaitingFor lists them: the
   * correlation index that `POST /api/signals` and messages by correlation key alone search.
   * Instances that started before the index (no patch marker) list nothing, as they always did.
   */
  private waitingForEntries(): string[] {
    const entries = new Set<string>();
    for (const subscription of this.engine.state.subscriptions) {
      if (subscription.signal) entries.add(waitingForSignal(subscription.name));
      else if (subscription.correlationKey !== undefined) entries.add(waitingForMessage(subscription.name, subscription.correlationKey));
    }
    if (entries.size === 0) return [];
    this.listsSubscriptions ??= patched(patches.subscriptionIndex);
    if (!this.listsSubscriptions) return [];
    // Temporal caps a keyword at 2 KB and an instance's attributes at 40 KB: an entry that would not
    // fit is left out (that wait is still reached by its instance id or business key).
    return [...entries].filter((entry) => entry.length <= maxWaitingForEntryLength).sort().slice(0, maxWaitingForEntries);
  }
}
