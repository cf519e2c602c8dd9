import { concerns, type InboxNotification } from '../../../api/inbox-feed';

describe('whom a change to a task concerns', () => {
  const dispatcher = { username: 'li', roles: ['dispatcher'], orgPath: '/GD/GD-GZ/GD-GZ-TH/', overseesTeam: false };
  const supervisor = { username: 'chen', roles: ['supervisor'], orgPath: '/GD/GD-GZ/', overseesTeam: true };
  const change = (fields: Partial<InboxNotification>): InboxNotification => ({ id: 't', change: 'created', at: 0, groups: ['dispatcher'], users: [], orgPath: '/GD/GD-GZ/GD-GZ-TH/GD-GZ-TH-A1/', ...fields });

  it("concerns the candidates of a group whose unit lies in their subtree, and no one else's", () => {
    expect(concerns(dispatcher, change({}))).toBe(true);
    expect(concerns(dispatcher, change({ orgPath: '/GD/GD-SZ/GD-SZ-NS/' }))).toBe(false);
    expect(concerns(dispatcher, change({ orgPath: '/GD/GD-GZ/' }))).toBe(false);
    expect(concerns(dispatcher, change({ groups: ['billing_clerk'] }))).toBe(false);
    expect(concerns(dispatcher, change({ orgPath: null }))).toBe(true);
  });

  it('concerns whoever holds or held it, and whom the process named, wherever they sit', () => {
    const elsewhere = { ...change({ groups: [], orgPath: '/GD/GD-SZ/' }) };
    expect(concerns(dispatcher, { ...elsewhere, assignee: 'li' })).toBe(true);
    expect(concerns(dispatcher, { ...elsewhere, previousAssignee: 'li' })).toBe(true);
    expect(concerns(dispatcher, { ...elsewhere, users: ['li'] })).toBe(true);
    expect(concerns(dispatcher, elsewhere)).toBe(false);
  });

  it("concerns a supervisor for every task of their subtree, whatever its groups, but not one without a unit", () => {
    expect(concerns(supervisor, change({ groups: ['customer_manager'] }))).toBe(true);
    expect(concerns(supervisor, change({ orgPath: '/GD/GD-SZ/GD-SZ-NS/' }))).toBe(false);
    expect(concerns(supervisor, change({ orgPath: null }))).toBe(false);
  });
});
