import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { useLocation } from 'preact-iso';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../../api/client';
import { coalesce } from '../../api/coalesce';
import { currentStaff } from '../../app/session';
import { t } from '../../i18n';
import { Modal } from '../../ui/modal';
import { subscribeInbox } from './inbox-stream';
import { countsKey } from './tasks-badge';
import { TaskList } from './task-list';
import { TaskPage } from './task-page';
import { assignTask, claimTask, fetchTaskList, handOnTask, taskPath, unclaimTask, type HumanTask, type TaskCandidate, type TaskFilters, type TaskView } from './tasks-api';
import './tasks.css';

const supervisorRoles = ['supervisor', 'admin'];

/** Whether a key press belongs to a field being typed in (then the room's letter shortcuts stay out of it). */
function typing(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  if (!element) return false;
  return element.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName);
}

/**
 * The staff's inbox: my tasks, my groups' (within my org subtree) and, for supervisors, the team's;
 * filtered, most urgent first, refreshed by itself when tasks arrive or leave (pushed, never polled),
 * and beside the list the open task with its form and the customer. Keyboard first: `j`/`k`
 * move, `Enter` opens, `c` claims, `Ctrl+Enter` completes, `?` lists the shortcuts.
 */
export function TasksRoom() {
  const staff = currentStaff.value!;
  const location = useLocation();
  const client = useQueryClient();
  const overseesTeam = staff.roles.some((role) => supervisorRoles.includes(role));
  const [view, setView] = useState<TaskView>('inbox');
  const [filters, setFilters] = useState<TaskFilters>({ due: '' });
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [dialog, setDialog] = useState<null | 'shortcuts' | 'handOn' | 'assign'>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const completeRef = useRef<(() => void) | null>(null);
  const openId = location.path.startsWith('/tasks/') ? decodeURIComponent(location.path.slice('/tasks/'.length)) : null;

  const list = useQuery({ queryKey: ['tasks', 'list', view, filters], queryFn: ({ signal }) => fetchTaskList(view, filters, signal), staleTime: Infinity, placeholderData: (previous) => previous });
  const tasks = list.data ?? [];
  const selected = tasks.find((task) => task.id === selectedId) ?? null;

  // Pushed changes: reload the lists (a burst of changes costs one reload per 150 ms).
  useEffect(() => {
    const reload = coalesce(150, () => void client.invalidateQueries({ queryKey: ['tasks'] }));
    const unsubscribe = subscribeInbox(reload.poke);
    return () => {
      reload.cancel();
      unsubscribe();
    };
  }, []);

  const open = (task: HumanTask) => {
    setSelectedId(task.id);
    location.route(`/tasks/${encodeURIComponent(task.id)}`);
  };

  const act = async (action: () => Promise<unknown>, done: string) => {
    setNotice(null);
    try {
      await action();
      setNotice(done);
    } catch (error) {
      setNotice(error instanceof Error ? error.message : t('app.failed'));
    }
    await client.invalidateQueries({ queryKey: ['tasks'] });
  };

  const claim = (task: HumanTask | null) => {
    if (!task || task.assignee !== null) return;
    void act(() => claimTask(task), t('tasks.claimed', { name: task.name }));
  };

  const move = (step: number) => {
    if (tasks.length === 0) return;
    const index = selected ? tasks.indexOf(selected) : -1;
    const next = Math.min(tasks.length - 1, Math.max(0, index === -1 ? (step > 0 ? 0 : tasks.length - 1) : index + step));
    setSelectedId(tasks[next]!.id);
  };

  // The room's keys. Letters stay out of the fields being typed in; Ctrl+Enter works everywhere.
  const keys = useRef<(event: KeyboardEvent) => void>(() => undefined);
  keys.current = (event: KeyboardEvent) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      if (completeRef.current) {
        event.preventDefault();
        completeRef.current();
      }
      return;
    }
    if (event.key === 'Escape' && !dialog && (event.target as HTMLElement | null)?.closest?.('.kf-task-page')) {
      document.querySelector<HTMLElement>('.kf-task-list')?.focus();
      return;
    }
    if (dialog || typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
    if ((event.target as HTMLElement | null)?.closest?.('.kf-task-form, .kf-task-diagram')) return;
    switch (event.key) {
      case 'j':
      case 'ArrowDown':
        if (event.key === 'ArrowDown' && !(event.target as HTMLElement).closest?.('.kf-task-list')) return;
        event.preventDefault();
        move(1);
        break;
      case 'k':
      case 'ArrowUp':
        if (event.key === 'ArrowUp' && !(event.target as HTMLElement).closest?.('.kf-task-list')) return;
        event.preventDefault();
        move(-1);
        break;
      case 'Enter':
        if (selected && (event.target as HTMLElement).tagName !== 'BUTTON' && (event.target as HTMLElement).tagName !== 'A') {
          event.preventDefault();
          open(selected);
        }
        break;
      case 'c':
        event.preventDefault();
        claim(selected);
        break;
      case '?':
        event.preventDefault();
        setDialog('shortcuts');
        break;
    }
  };
  useEffect(() => {
    const listener = (event: KeyboardEvent) => keys.current(event);
    document.addEventListener('keydown', listener);
    return () => document.removeEventListener('keydown', listener);
  }, []);

  const processKeys = useMemo(() => [...new Set(tasks.map((task) => task.processKey))].sort(), [tasks]);
  const views: TaskView[] = overseesTeam ? ['inbox', 'mine', 'group', 'team'] : ['inbox', 'mine', 'group'];

  return (
    <div class="kf-tasks">
      <section class="kf-tasks-side" aria-labelledby="tasks-title">
        <header class="kf-tasks-head">
          <h1 id="tasks-title">{t('rooms.tasks')}</h1>
          <button type="button" class="kf-button kf-button--quiet kf-button--small" onClick={() => setDialog('shortcuts')} aria-keyshortcuts="?">
            {t('tasks.shortcuts.button')} <kbd>?</kbd>
          </button>
        </header>
        <div class="kf-tasks-views" role="group" aria-label={t('tasks.views')}>
          {views.map((name) => (
            <button
              key={name}
              type="button"
              class={name === view ? 'kf-button kf-button--small kf-button--pressed' : 'kf-button kf-button--small'}
              aria-pressed={name === view}
              onClick={() => {
                setView(name);
                setSelectedId(null);
              }}
            >
              {t(`tasks.view.${name}`)}
            </button>
          ))}
        </div>
        <div class="kf-tasks-filters" role="group" aria-label={t('tasks.filters')}>
          <label class="kf-field kf-field--inline">
            <span>{t('tasks.filter.process')}</span>
            <select value={filters.processKey ?? ''} onChange={(event) => setFilters({ ...filters, processKey: event.currentTarget.value || undefined })}>
              <option value="">{t('tasks.filter.any')}</option>
              {[...new Set([...processKeys, ...(filters.processKey ? [filters.processKey] : [])])].map((key) => (
                <option key={key} value={key}>
                  {key}
                </option>
              ))}
            </select>
          </label>
          <label class="kf-field kf-field--inline">
            <span>{t('tasks.filter.customer')}</span>
            <input type="text" value={filters.customerId ?? ''} placeholder={t('tasks.filter.customerHint')} onChange={(event) => setFilters({ ...filters, customerId: event.currentTarget.value.trim() || undefined })} />
          </label>
          <label class="kf-field kf-field--inline">
            <span>{t('tasks.filter.due')}</span>
            <select value={filters.due ?? ''} onChange={(event) => setFilters({ ...filters, due: event.currentTarget.value as TaskFilters['due'] })}>
              <option value="">{t('tasks.filter.any')}</option>
              <option value="overdue">{t('tasks.filter.overdue')}</option>
              <option value="today">{t('tasks.filter.today')}</option>
            </select>
          </label>
          <label class="kf-field kf-field--inline">
            <span>{t('tasks.filter.priority')}</span>
            <select value={String(filters.minPriority ?? '')} onChange={(event) => setFilters({ ...filters, minPriority: event.currentTarget.value ? Number(event.currentTarget.value) : undefined })}>
              <option value="">{t('tasks.filter.any')}</option>
              <option value="50">≥ 50</option>
              <option value="80">≥ 80</option>
            </select>
          </label>
        </div>
        <div class="kf-tasks-toolbar" role="toolbar" aria-label={t('tasks.actions')}>
          <button type="button" class="kf-button kf-button--small" disabled={!selected || selected.assignee !== null} onClick={() => claim(selected)} aria-keyshortcuts="c">
            {t('tasks.action.claim')} <kbd>c</kbd>
          </button>
          <button type="button" class="kf-button kf-button--small" disabled={!selected || selected.assignee !== staff.username} onClick={() => selected && void act(() => unclaimTask(selected), t('tasks.unclaimed', { name: selected.name }))}>
            {t('tasks.action.unclaim')}
          </button>
          <button type="button" class="kf-button kf-button--small" disabled={!selected || selected.assignee !== staff.username} onClick={() => setDialog('handOn')}>
            {t('tasks.action.handOn')}
          </button>
          {overseesTeam && (
            <button type="button" class="kf-button kf-button--small" disabled={!selected || view !== 'team'} onClick={() => setDialog('assign')}>
              {t('tasks.action.assign')}
            </button>
          )}
          <button type="button" class="kf-button kf-button--small" disabled={!selected} onClick={() => selected && open(selected)} aria-keyshortcuts="Enter">
            {t('tasks.action.open')}
          </button>
        </div>
        <p class="kf-tasks-count kf-muted" role="status" aria-live="polite">
          {list.isLoading ? t('app.loading') : t('tasks.count', { count: tasks.length })}
          {notice ? ` · ${notice}` : ''}
        </p>
        {list.error ? (
          <p class="kf-error" role="alert">
            {list.error instanceof Error ? list.error.message : t('app.failed')}
          </p>
        ) : (
          <TaskList tasks={tasks} selectedId={selectedId} openId={openId} onSelect={(task) => setSelectedId(task.id)} onOpen={open} label={t(`tasks.view.${view}`)} />
        )}
      </section>
      <div class="kf-tasks-main">
        {openId ? (
          <TaskPage
            key={openId}
            taskId={openId}
            staff={staff}
            registerComplete={(complete) => (completeRef.current = complete)}
            onCompleted={() => {
              setNotice(t('tasks.completed'));
              location.route('/tasks');
            }}
          />
        ) : (
          <div class="kf-tasks-empty">
            <h2>{t('tasks.emptyTitle')}</h2>
            <p class="kf-muted">{t('tasks.emptyBody')}</p>
          </div>
        )}
      </div>
      {dialog === 'shortcuts' && <ShortcutsDialog onClose={() => setDialog(null)} />}
      {(dialog === 'handOn' || dialog === 'assign') && selected && (
        <HandOnDialog
          task={selected}
          mode={dialog}
          onClose={() => setDialog(null)}
          onDone={(who) => {
            setDialog(null);
            setNotice(t('tasks.handedOn', { name: selected.name, who: who ?? t('tasks.backToGroups') }));
            void client.invalidateQueries({ queryKey: ['tasks'] });
            void client.invalidateQueries({ queryKey: countsKey });
          }}
        />
      )}
    </div>
  );
}

/** Hand a task on (the holder) or assign it (a supervisor, within their subtree): pick from those who may work on it. */
function HandOnDialog({ task, mode, onClose, onDone }: { task: HumanTask; mode: 'handOn' | 'assign'; onClose: () => void; onDone: (who: string | null) => void }) {
  const candidates = useQuery({ queryKey: ['tasks', 'candidates', task.id], queryFn: () => api<{ items: TaskCandidate[] }>(`${taskPath(task.id)}/candidates`) });
  const [choice, setChoice] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    try {
      if (mode === 'handOn') await handOnTask(task, choice);
      else await assignTask(task, choice === '' ? null : choice);
      onDone(choice === '' ? null : choice);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : t('app.failed'));
    }
  };
  return (
    <Modal
      title={t(mode === 'handOn' ? 'tasks.handOn.title' : 'tasks.assign.title', { name: task.name })}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button type="button" class="kf-button kf-button--primary" disabled={mode === 'handOn' && choice === ''} onClick={() => void submit()}>
            {t(mode === 'handOn' ? 'tasks.handOn.confirm' : 'tasks.assign.confirm')}
          </button>
        </>
      }
    >
      <label class="kf-field">
        <span>{t('tasks.handOn.to')}</span>
        <select value={choice} onChange={(event) => setChoice(event.currentTarget.value)}>
          <option value="">{mode === 'assign' ? t('tasks.backToGroups') : t('props.choose')}</option>
          {(candidates.data?.items ?? []).map((candidate) => (
            <option key={candidate.username} value={candidate.username}>
              {candidate.displayName} ({candidate.username}) · {candidate.orgUnitName}
            </option>
          ))}
        </select>
      </label>
      {candidates.isLoading && <p role="status">{t('app.loading')}</p>}
      {error && (
        <p class="kf-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}

function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const rows: [string[], string][] = [
    [['j'], 'tasks.shortcuts.next'],
    [['k'], 'tasks.shortcuts.previous'],
    [['Enter'], 'tasks.shortcuts.open'],
    [['c'], 'tasks.shortcuts.claim'],
    [['Ctrl', 'Enter'], 'tasks.shortcuts.complete'],
    [['?'], 'tasks.shortcuts.help'],
  ];
  return (
    <Modal title={t('tasks.shortcuts.title')} onClose={onClose}>
      <table class="kf-table">
        <caption class="kf-visually-hidden">{t('tasks.shortcuts.title')}</caption>
        <tbody>
          {rows.map(([combo, label]) => (
            <tr key={label}>
              <th scope="row">
                {combo.map((key, index) => (
                  <span key={key}>
                    {index > 0 && '+'}
                    <kbd>{key}</kbd>
                  </span>
                ))}
              </th>
              <td>{t(label)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}


