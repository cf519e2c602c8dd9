import type { CarriedJoin } from '../engine-state';
import type { Scope } from './types';

/** A scope's parallel-join arrivals as a continue-as-new carries them (only joins someone reached). */
export function carryJoins(scope: Scope): CarriedJoin[] | undefined {
  const joins = [...scope.joins.entries()]
    .map(([gatewayId, arrivals]) => ({ gatewayId, arrivals: [...arrivals.entries()].filter(([, count]) => count > 0) }))
    .filter((join) => join.arrivals.length > 0);
  return joins.length > 0 ? joins : undefined;
}

export function restoreJoins(scope: Scope, joins: CarriedJoin[]): void {
  for (const join of joins) scope.joins.set(join.gatewayId, new Map(join.arrivals));
}
