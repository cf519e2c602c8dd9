import type { ActivityExecutions } from './activity-executions';
import type { Boundaries } from './boundaries';
import type { Compensation } from './compensation';
import type { ErrorCatching } from './error-catching';
import type { EventSubprocesses } from './event-subprocesses';
import type { Events } from './events';
import type { ModelGraph } from './graph';
import type { Incidents } from './incidents';
import type { MultiInstance } from './multi-instance';
import type { SearchAttributeIndex } from './search-attribute-index';
import type { InstanceState } from './state';
import type { Subscriptions } from './subscriptions';
import type { Tokens } from './tokens';
import type { VariableStore } from './variable-store';

/**
 * What an element's processor and every shared behaviour works through: the instance's state and
 * the behaviours, each a module of its own. `instance.ts` wires the real ones; element tests can
 * hand a processor a context with fakes.
 */
export interface Engine {
  readonly state: InstanceState;
  readonly graph: ModelGraph;
  readonly variables: VariableStore;
  readonly tokens: Tokens;
  readonly subscriptions: Subscriptions;
  readonly events: Events;
  readonly incidents: Incidents;
  readonly catching: ErrorCatching;
  readonly eventSubprocesses: EventSubprocesses;
  readonly boundaries: Boundaries;
  readonly multiInstance: MultiInstance;
  readonly executions: ActivityExecutions;
  readonly compensation: Compensation;
  readonly index: SearchAttributeIndex;
}
