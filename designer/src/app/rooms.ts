/**
 * The web app's rooms, who may enter each, and where each lives. Pure data: the API imports it too,
 * so a page request for a room the caller's roles do not admit answers 403 before any script runs.
 */
export const rooms = [
  { id: 'designer', path: '/designer', roles: ['designer', 'admin'] },
  { id: 'tasks', path: '/tasks', roles: ['supervisor', 'customer_manager', 'dispatcher', 'billing_clerk', 'admin'] },
  { id: 'accounts', path: '/accounts', roles: ['supervisor', 'customer_manager', 'dispatcher', 'billing_clerk', 'ops', 'admin'] },
  { id: 'billing', path: '/billing', roles: ['billing_clerk', 'admin'] },
  { id: 'ops', path: '/ops', roles: ['ops', 'admin'] },
] as const;

export type RoomId = (typeof rooms)[number]['id'];
export type Room = (typeof rooms)[number];

/** The room a path belongs to, or undefined for paths that are not a room's (login, the root). */
export function roomOfPath(path: string): Room | undefined {
  return rooms.find((room) => path === room.path || path.startsWith(`${room.path}/`));
}

export function mayEnter(room: Room, roles: readonly string[]): boolean {
  return room.roles.some((role) => roles.includes(role));
}

/** Where a login lands: the first room the roles admit. */
export function homeRoom(roles: readonly string[]): Room | undefined {
  return rooms.find((room) => mayEnter(room, roles));
}
