import { activityCatalog } from '../../../activities/catalog';
import type { DatabasePool } from 'slonik';
import { createActivities } from '../../../activities';
import { loadConfig } from '../../../runtime/config';
import { createLogger } from '../../../runtime/logger';

describe('the activity catalog', () => {
  // Building the activities only closes over their dependencies: no query runs, so no database is needed.
  const registered = Object.keys(
    createActivities({ config: loadConfig({}), logger: createLogger('silent', 'test'), pool: {} as DatabasePool, now: () => new Date() }),
  );
  const serviceTaskTypes = registered.filter((name) => name.includes('.') && !name.startsWith('engine.')).sort();

  it('lists exactly the service-task activities the worker registers under dotted names (engine.* are the interpreter\'s own)', () => {
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
