import { activityCatalog } from '../../../activities/catalog';
import { createActivities } from '../../../activities';
import { loadConfig } from '../../../runtime/config';
import { createLogger } from '../../../runtime/logger';
import { engineActivityNames } from '../../../workflows/contracts';

describe('the activity catalog', () => {
  // Building the activities only closes over their dependencies; the pool is never touched here.
  const registered = Object.keys(
    createActivities({ config: loadConfig({}), logger: createLogger('silent'), pool: {} as never, now: () => new Date() }),
  );
  // The interpreter calls these itself; a model may not name them in kf:type.
  const internal = new Set<string>(Object.values(engineActivityNames));

  it('lists exactly the service-task activities the worker registers under dotted names', () => {
    const serviceTaskTypes = registered.filter((name) => name.includes('.') && !internal.has(name)).sort();

    expect(Object.keys(activityCatalog).sort()).toEqual(serviceTaskTypes);
  });

  it('describes each type in one line of plain words', () => {
    for (const [type, description] of Object.entries(activityCatalog)) {
      expect(type).toMatch(/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$/);
      expect(description.trim().length).toBeGreaterThan(10);
      expect(description).not.toMatch(/\n/);
    }
  });
});
