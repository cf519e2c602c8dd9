import { z } from 'zod';
import { createActivities } from '../../activities';
import { activityCatalog } from '../../activities/catalog';
import { inputContract } from '../../activities/input-contract';
import { roles } from '../../db/staff';
import { defaultServiceTaskRetries, defaultServiceTaskTimeout } from '../../workflows/bpmn';
import type { ApiDependencies } from '../dependencies';
import { ApiRoutes } from '../routing';
import { deployRoles } from './process-definitions';

const inputField = z.object({
  name: z.string().describe('the variable the input mapping (`kf:input target`) gives'),
  type: z.string().describe('string, number, integer, boolean, enum, array, object, date or any'),
  required: z.boolean(),
  values: z.array(z.string()).optional().describe('the values of an enum'),
  hasDefault: z.boolean().optional(),
  description: z.string().optional(),
});

const activityType = z.object({
  type: z.string().describe('the `kf:type` a service task names'),
  description: z.string(),
  input: z.array(inputField).describe('what the activity reads from its input, checked when it runs (a bad input fails the task at once, never retried)'),
  defaultRetries: z.number().int().describe('attempts in all when the task sets no kf:retries'),
  defaultTimeout: z.string().describe('ISO-8601 duration of one attempt when the task sets no kf:timeout'),
});

/**
 * What a process designer picks from while modelling: the service-task types the worker runs, and
 * the candidate groups user tasks may name (the staff roles). The designer's properties panel and
 * its linter read these instead of free text, so a typo is caught while drawing.
 */
export function createModelingRoutes(deps: ApiDependencies): ApiRoutes {
  // Building the activities reads and connects nothing; it is how their input schemas are reached.
  const activities = createActivities({ pool: deps.pool, config: deps.config, logger: deps.logger, now: () => new Date() }) as Record<string, unknown>;
  const types = Object.entries(activityCatalog)
    .map(([type, description]) => {
      const schema = (activities[type] as { inputSchema?: Parameters<typeof inputContract>[0] } | undefined)?.inputSchema;
      return { type, description, input: schema ? inputContract(schema) : [], defaultRetries: defaultServiceTaskRetries, defaultTimeout: defaultServiceTaskTimeout };
    })
    .sort((a, b) => a.type.localeCompare(b.type));
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/activity-types',
        summary: 'The service-task types (`kf:type`) the worker runs, with the input each reads and their retry and timeout defaults',
        tags: ['modeling'],
        access: deployRoles,
        response: { status: 200, description: 'every registered type', schema: z.object({ items: z.array(activityType) }) },
      },
      () => ({ items: types }),
    )
    .add(
      {
        method: 'get',
        path: '/api/candidate-groups',
        summary: 'The groups a user task may offer its work to (`kf:candidateGroups`): the staff roles',
        tags: ['modeling'],
        access: deployRoles,
        response: { status: 200, description: 'the groups', schema: z.object({ items: z.array(z.string()) }) },
      },
      () => ({ items: [...roles] }),
    );
}
