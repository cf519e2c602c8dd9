import { signal } from '@preact/signals';
import { api, ApiRequestError } from '../api/client';

export interface Staff {
  id: number;
  username: string;
  displayName: string;
  orgUnitId: string;
  orgPath: string;
  roles: string[];
}

/** Who is signed in: undefined while the first check runs, null when nobody is. */
export const currentStaff = signal<Staff | null | undefined>(undefined);
/** Why the user was sent back to the login page, shown there once. */
export const loginNotice = signal<'expired' | 'signedOut' | null>(null);

export async function loadSession(): Promise<void> {
  try {
    currentStaff.value = await api<Staff>('/api/auth/me');
  } catch (error) {
    if (error instanceof ApiRequestError && error.status === 401) currentStaff.value = null;
    else throw error;
  }
}

export async function signIn(username: string, password: string): Promise<Staff> {
  const { staff } = await api<{ staff: Staff }>('/api/auth/login', { method: 'POST', body: { username, password } });
  loginNotice.value = null;
  currentStaff.value = staff;
  return staff;
}

export async function signOut(): Promise<void> {
  try {
    await api('/api/auth/logout', { method: 'POST' });
  } finally {
    loginNotice.value = 'signedOut';
    currentStaff.value = null;
  }
}

/** The API said 401: the session expired or was revoked elsewhere. */
export function sessionEnded(): void {
  if (currentStaff.value) loginNotice.value = 'expired';
  currentStaff.value = null;
}
