import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { useVirtualList } from '../../ui/virtual-list';
import { readSla, shortDuration } from './sla';
import type { HumanTask } from './tasks-api';

/** Height of one row of the list, in pixels: rows are fixed so the list can be virtualised. */
export const rowHeight = 58;

/**
 * The open tasks of one view as a listbox, most urgent first, with each task's time left; only the
 * rows in view are rendered. The listbox keeps the selection (`j`/`k` or the arrows move it,
 * Enter opens, a double click too); actions on the selection sit in the toolbar above, since an
 * option may not hold buttons of its own.
 */
export function TaskList({
  tasks,
  selectedId,
  openId,
  onSelect,
  onOpen,
  label,
}: {
  tasks: readonly HumanTask[];
  selectedId: string | null;
  openId: string | null;
  onSelect: (task: HumanTask) => void;
  onOpen: (task: HumanTask) => void;
  label: string;
}) {
  const { scrollRef, items, totalSize, scrollToIndex } = useVirtualList<HTMLDivElement>({ count: tasks.length, rowHeight });
  const now = useNow(30_000);
  const selectedIndex = selectedId === null ? -1 : tasks.findIndex((task) => task.id === selectedId);
  useEffect(() => {
    if (selectedIndex >= 0) scrollToIndex(selectedIndex);
  }, [selectedIndex]);

  return (
    <div
      ref={scrollRef}
      class="kf-task-list"
      role="listbox"
      aria-label={label}
      tabIndex={0}
      aria-activedescendant={selectedIndex >= 0 ? optionId(tasks[selectedIndex]!) : undefined}
      data-count={tasks.length}
    >
      <div style={{ height: `${totalSize}px`, position: 'relative' }}>
        {items.map((item) => {
          const task = tasks[item.index]!;
          const sla = readSla(task, now);
          const classes = ['kf-task-row', `kf-task-row--${sla.urgency}`];
          if (task.id === selectedId) classes.push('kf-task-row--selected');
          if (task.id === openId) classes.push('kf-task-row--open');
          return (
            <div
              key={task.id}
              id={optionId(task)}
              role="option"
              aria-selected={task.id === selectedId}
              aria-setsize={tasks.length}
              aria-posinset={item.index + 1}
              class={classes.join(' ')}
              style={{ position: 'absolute', top: 0, left: 0, right: 0, height: `${rowHeight}px`, transform: `translateY(${item.start}px)` }}
              data-task-id={task.id}
              onClick={() => onSelect(task)}
              onDblClick={() => onOpen(task)}
            >
              <div class="kf-task-row-main">
                <span class="kf-task-name">{task.name}</span>
                <span class="kf-task-meta">
                  <code>{task.processKey}</code> · {task.businessKey}
                  {task.assignee ? ` · ${t('tasks.heldBy', { who: task.assignee })}` : ''}
                </span>
              </div>
              <SlaBadge urgency={sla.urgency} leftMs={sla.leftMs} />
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** Time left, coloured by urgency: red once breached, amber from the reminder on. */
export function SlaBadge({ urgency, leftMs }: { urgency: string; leftMs: number | null }) {
  if (leftMs === null) return <span class="kf-sla kf-sla--none">{t('tasks.sla.none')}</span>;
  const text = urgency === 'breached' ? t('tasks.sla.overdue', { time: shortDuration(leftMs) }) : t('tasks.sla.left', { time: shortDuration(leftMs) });
  return <span class={`kf-sla kf-sla--${urgency}`}>{text}</span>;
}

function optionId(task: HumanTask): string {
  return `task-option-${task.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** The current time, refreshed every `everyMs`, so the time left counts down. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
