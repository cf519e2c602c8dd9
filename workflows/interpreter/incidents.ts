import { condition, log } from '@temporalio/workflow';
import type { Incident } from '../contracts';
import type { Engine } from './engine';
import { describeFailure } from './failures';
import type { IncidentEntry, IncidentResolution, Token } from './types';
import { nowIso } from './values';

/** A failure parks its token here until ops retries (run again) or resolves (go on) it. */
export class Incidents {
  constructor(private readonly engine: Engine) {}

  async park(token: Token, nodeId: string, error: unknown, attempts: number): Promise<IncidentResolution> {
    const { state } = this.engine;
    const { errorType, message, errorCode } = describeFailure(error);
    const incident: Incident = {
      id: `${nodeId}:${++state.incidentSeq}`,
      nodeId,
      tokenId: token.id,
      errorType,
      message,
      ...(errorCode !== undefined ? { errorCode } : {}),
      attempts,
      createdAt: nowIso(),
    };
    const entry: IncidentEntry = { incident };
    state.incidents.set(incident.id, entry);
    log.info('incident', { ...incident });
    try {
      await this.engine.tokens.waiting(token, undefined, () => condition(() => entry.resolution !== undefined));
      return entry.resolution!;
    } finally {
      state.incidents.delete(incident.id);
      this.engine.index.mark();
    }
  }
}
