import { activityCatalog } from '../../../activities/catalog';
import { createActivities, type ActivityDependencies } from '../../../activities';

describe('the activity catalog', () => {
  // Building the activities only closes over their dependencies; nothing here touches them.
  const registered = Object.keys(createActivities({} as ActivityDependencies));

  it('lists exactly the service-task activities the worker registers under dotted names', () => {
    const serviceTaskTypes = registered.filter((name) => name.includes('.')).sort();

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
