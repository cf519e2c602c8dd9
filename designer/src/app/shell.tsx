import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { language, setLanguage, t } from '../i18n';
import { TasksBadge, TasksNotices } from '../rooms/tasks/tasks-badge';
import { mayEnter, rooms } from './rooms';
import { signOut, type Staff } from './session';

/** The frame around every room: brand, the rooms this staff member may enter, language, sign-out. */
export function Shell({ staff, children }: { staff: Staff; children: ComponentChildren }) {
  const { path, route } = useLocation();
  const visible = rooms.filter((room) => mayEnter(room, staff.roles));
  const inTasks = visible.some((room) => room.id === 'tasks');
  return (
    <div class="kf-shell">
      <a class="kf-skip-link" href="#main">
        {t('shell.skipToContent')}
      </a>
      <header class="kf-topbar">
        <a class="kf-brand" href="/" aria-label={t('shell.home')}>
          <img src="/favicon.svg" alt="" width="22" height="22" />
          <span>Keyflow</span>
        </a>
        <nav class="kf-rooms" aria-label={t('shell.rooms')}>
          {visible.map((room) => {
            const current = path === room.path || path.startsWith(`${room.path}/`);
            return (
              <a key={room.id} href={room.path} class={current ? 'kf-room kf-room--current' : 'kf-room'} aria-current={current ? 'page' : undefined}>
                {t(`rooms.${room.id}`)}
                {room.id === 'tasks' && <TasksBadge />}
              </a>
            );
          })}
        </nav>
        <div class="kf-topbar-end">
          <button
            type="button"
            class="kf-button kf-button--quiet"
            // The accessible name starts with the visible text (WCAG 2.5.3), then says what it does.
            aria-label={`${language.value === 'en' ? '中文' : 'English'} (${t('shell.switchLanguage')})`}
            title={t('shell.switchLanguage')}
            onClick={() => setLanguage(language.value === 'en' ? 'zh' : 'en')}
          >
            {language.value === 'en' ? '中文' : 'English'}
          </button>
          <span class="kf-user" title={staff.orgPath}>
            <span class="kf-user-name">{staff.displayName}</span>
            <span class="kf-user-roles">{staff.roles.map((role) => t(`roles.${role}`)).join(' · ')}</span>
          </span>
          <button
            type="button"
            class="kf-button kf-button--quiet"
            onClick={() => {
              void signOut().then(() => route('/login', true));
            }}
          >
            {t('shell.signOut')}
          </button>
        </div>
      </header>
      <main id="main" class="kf-main" tabIndex={-1}>
        {children}
      </main>
      {inTasks && <TasksNotices />}
    </div>
  );
}
