import { randomBytes } from 'node:crypto';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { hashPassword } from '../../api/password';
import type { Role } from '../../api/auth';
import { createStaff } from '../../db/staff';

/**
 * A small org tree for tests: one province, two cities, three counties, one area.
 *
 *   GD (province)
 *   ├── GD-GZ (city)  ├── GD-GZ-TH (county) ── GD-GZ-TH-A1 (area)
 *   │                 └── GD-GZ-YX (county)
 *   └── GD-SZ (city)  └── GD-SZ-NS (county)
 */
export const testOrg = {
  province: 'GD',
  guangzhou: 'GD-GZ',
  tianhe: 'GD-GZ-TH',
  tianheArea: 'GD-GZ-TH-A1',
  yuexiu: 'GD-GZ-YX',
  shenzhen: 'GD-SZ',
  nanshan: 'GD-SZ-NS',
} as const;

const units: [id: string, parent: string | null, level: string, name: string, path: string][] = [
  ['GD', null, 'province', '广东省', '/GD/'],
  ['GD-GZ', 'GD', 'city', '广州市', '/GD/GD-GZ/'],
  ['GD-GZ-TH', 'GD-GZ', 'county', '天河区', '/GD/GD-GZ/GD-GZ-TH/'],
  ['GD-GZ-TH-A1', 'GD-GZ-TH', 'area', '天河北片区', '/GD/GD-GZ/GD-GZ-TH/GD-GZ-TH-A1/'],
  ['GD-GZ-YX', 'GD-GZ', 'county', '越秀区', '/GD/GD-GZ/GD-GZ-YX/'],
  ['GD-SZ', 'GD', 'city', '深圳市', '/GD/GD-SZ/'],
  ['GD-SZ-NS', 'GD-SZ', 'county', '南山区', '/GD/GD-SZ/GD-SZ-NS/'],
];

/** Inserts `testOrg` (idempotent: a second call changes nothing). */
export async function seedOrgTree(pool: DatabasePool): Promise<typeof testOrg> {
  for (const [id, parent, level, name, path] of units) {
    await pool.query(sql.type(z.object({}))`
      INSERT INTO org_units (id, parent_id, level, name, path) VALUES (${id}, ${parent}, ${level}, ${name}, ${path}) ON CONFLICT (id) DO NOTHING`);
  }
  return testOrg;
}

export const testPassword = 'correct horse battery staple';

// scrypt takes ~100 ms per hash by design; tests reuse one hash per password.
const hashes = new Map<string, Promise<string>>();
function cachedHash(password: string): Promise<string> {
  if (!hashes.has(password)) hashes.set(password, hashPassword(password));
  return hashes.get(password)!;
}

export interface TestStaff {
  id: number;
  username: string;
  password: string;
  orgUnitId: string;
  roles: Role[];
}

/** A staff member with these roles in this unit (username made unique unless given). */
export async function createTestStaff(
  pool: DatabasePool,
  options: { roles: Role[]; orgUnitId: string; username?: string; password?: string; displayName?: string },
): Promise<TestStaff> {
  const username = options.username ?? `${options.roles[0]!.replace(/_/g, '-')}-${randomBytes(4).toString('hex')}`;
  const password = options.password ?? testPassword;
  const row = await createStaff(pool, { actor: 'test' }, {
    username,
    displayName: options.displayName ?? username,
    orgUnitId: options.orgUnitId,
    roles: options.roles,
    passwordHash: await cachedHash(password),
  });
  return { id: row.id, username, password, orgUnitId: options.orgUnitId, roles: options.roles };
}

export interface Session {
  token: string;
  /** `Authorization` and `content-type` headers for fetch. */
  headers: Record<string, string>;
}

/** Logs in through the API; throws with the API's answer when the login is refused. */
export async function login(apiUrl: string, username: string, password: string = testPassword): Promise<Session> {
  const response = await fetch(`${apiUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await response.json()) as { token?: string };
  if (response.status !== 200 || !body.token) throw new Error(`login of ${username} refused: ${response.status} ${JSON.stringify(body)}`);
  return { token: body.token, headers: { authorization: `Bearer ${body.token}`, 'content-type': 'application/json' } };
}

/** Creates a staff member with these roles in this unit and logs them in. */
export async function loginAs(apiUrl: string, pool: DatabasePool, roles: Role[], orgUnitId: string): Promise<Session & { staff: TestStaff }> {
  const staff = await createTestStaff(pool, { roles, orgUnitId });
  return { ...(await login(apiUrl, staff.username, staff.password)), staff };
}
