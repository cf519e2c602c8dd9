import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiRequestError } from '../../api/client';
import { t } from '../../i18n';
import { formatDateTime } from '../../ui/data-table';
import { schemaFromFormFields } from '../../../../workflows/bpmn/form-schema';
import { readSla } from './sla';
import { fieldProblems, TaskForm, type TaskFormHandle } from './task-form';
import { SlaBadge, useNow } from './task-list';
import { claimTask, completeTask, taskPath, unclaimTask, type HumanTask, type TaskStep } from './tasks-api';
import type { Staff } from '../../app/session';

const TaskDiagram = lazy(() => import('./task-diagram').then((module) => module.TaskDiagram));

interface Definition {
  key: string;
  version: number;
  name: string | null;
  xml: string;
}

export interface AccountDetail {
  id: string;
  name: string;
  tier: string;
  creditList: string;
  status: string;
  industry: string;
  customerManagerName: string | null;
  orgUnitName: string;
  version: number;
  contacts: { id: string; name: string; title: string | null; phone: string | null; isKeyPerson: boolean }[];
  openTickets: { id: string; title: string; status: string; severity: string; slaDueAt: string | null }[];
  recentOrders: { id: string; orderType: string; status: string; submittedAt: string | null }[];
  recentBills: { id: string; billNo: string; period: string; status: string; totalMinor: string | number; currency: string }[];
}

/** The form-js schema a user task was designed with (its `kf:formDefinition`), read from the model's XML. */
export function designedForm(xml: string, nodeId: string): Record<string, unknown> | null {
  const document = new DOMParser().parseFromString(xml, 'application/xml');
  const node = [...document.getElementsByTagName('*')].find((element) => element.getAttribute('id') === nodeId);
  const definition = node ? [...node.getElementsByTagName('*')].find((element) => element.localName === 'formDefinition') : undefined;
  if (!definition?.textContent) return null;
  try {
    return JSON.parse(definition.textContent) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function formatMoney(minor: string | number, currency: string): string {
  const value = Number(minor) / 100;
  return `${currency} ${value.toLocaleString(document.documentElement.lang === 'zh-CN' ? 'zh-CN' : 'en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * One task, to be done with the customer in view: its form, and beside it the account (tier, credit
 * list, contacts, open tickets, orders, recent bills), the process's diagram with this task
 * highlighted and the steps done before it. `Ctrl+Enter` completes (registered with `onComplete`).
 */
export function TaskPage({
  taskId,
  staff,
  registerComplete,
  onCompleted,
}: {
  taskId: string;
  staff: Staff;
  registerComplete: (complete: (() => void) | null) => void;
  onCompleted: (task: HumanTask) => void;
}) {
  const client = useQueryClient();
  const task = useQuery({ queryKey: ['tasks', 'detail', taskId], queryFn: () => api<HumanTask>(taskPath(taskId)) });
  const data = task.data;
  const definition = useQuery({
    queryKey: ['definition', data?.processKey, data?.processVersion],
    queryFn: () => api<Definition>(`/api/process-definitions/${encodeURIComponent(data!.processKey)}/versions/${data!.processVersion}`),
    enabled: Boolean(data),
    staleTime: Infinity,
  });
  const history = useQuery({ queryKey: ['tasks', 'history', taskId], queryFn: () => api<{ items: TaskStep[] }>(`${taskPath(taskId)}/history`), enabled: Boolean(data) });
  const account = useQuery({
    queryKey: ['accounts', 'detail', data?.customerId],
    queryFn: () => api<AccountDetail>(`/api/accounts/${encodeURIComponent(data!.customerId!)}`),
    enabled: Boolean(data?.customerId),
  });
  const now = useNow(30_000);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const formHandle = useRef<TaskFormHandle | null>(null);

  const schema = useMemo(() => {
    if (!data || !definition.data) return null;
    return designedForm(definition.data.xml, data.nodeId) ?? schemaFromFormFields(data.formSchema ?? [], `${data.nodeId}-form`);
  }, [data?.id, data?.nodeId, definition.data?.xml]);

  const mayAct = data?.status === 'open' && (data.assignee === null || data.assignee === staff.username);

  const refresh = () => client.invalidateQueries({ queryKey: ['tasks'] });

  const complete = async () => {
    if (!data || busy || !mayAct) return;
    const variables = formHandle.current?.collect();
    if (variables === null || variables === undefined) {
      setMessage({ kind: 'error', text: t('tasks.form.fixFields') });
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      await completeTask(data, variables);
      setMessage({ kind: 'ok', text: t('tasks.page.completed', { name: data.name }) });
      void refresh();
      onCompleted(data);
    } catch (error) {
      const problems = fieldProblems(error);
      if (problems.length > 0) {
        formHandle.current?.showServerErrors(problems);
        setMessage({ kind: 'error', text: t('tasks.form.serverRefused', { count: problems.length }) });
      } else setMessage({ kind: 'error', text: error instanceof ApiRequestError ? error.message : t('app.failed') });
    } finally {
      setBusy(false);
    }
  };

  const completeRef = useRef(complete);
  completeRef.current = complete;
  useEffect(() => {
    registerComplete(() => void completeRef.current());
    return () => registerComplete(null);
  }, []);

  const act = async (action: (task: HumanTask) => Promise<HumanTask>) => {
    if (!data) return;
    setMessage(null);
    try {
      await action(data);
      await refresh();
    } catch (error) {
      setMessage({ kind: 'error', text: error instanceof Error ? error.message : t('app.failed') });
    }
  };

  if (task.isLoading) return <p class="kf-table-state" role="status">{t('app.loading')}</p>;
  if (task.error || !data) {
    const missing = task.error instanceof ApiRequestError && task.error.status === 404;
    return (
      <div class="kf-task-page">
        <p class="kf-error" role="alert">
          {missing ? t('tasks.page.notFound') : task.error instanceof Error ? task.error.message : t('app.failed')}
        </p>
      </div>
    );
  }

  const sla = readSla(data, now);
  const steps = history.data?.items ?? [];
  const doneNodeIds = steps.filter((step) => step.status === 'completed').map((step) => step.nodeId);

  return (
    <article class="kf-task-page" aria-labelledby="task-title">
      <header class="kf-task-head">
        <div>
          <h2 id="task-title">{data.name}</h2>
          <p class="kf-muted">
            <code>{data.processKey}</code> v{data.processVersion} · {data.businessKey} · {t('tasks.page.created', { when: formatDateTime(data.createdAt) })}
            {data.dueAt ? ` · ${t('tasks.page.due', { when: formatDateTime(data.dueAt) })}` : ''}
          </p>
        </div>
        <SlaBadge urgency={sla.urgency} leftMs={sla.leftMs} />
      </header>
      <div class="kf-task-columns">
        <section class="kf-task-work" aria-labelledby="task-form-title">
          <h3 id="task-form-title">{t('tasks.page.form')}</h3>
          <p class="kf-muted">
            {data.status !== 'open'
              ? t('tasks.page.closed', { status: t(`tasks.status.${data.status}`) })
              : data.assignee === staff.username
                ? t('tasks.page.yours')
                : data.assignee
                  ? t('tasks.page.heldByOther', { who: data.assignee })
                  : t('tasks.page.unclaimed')}
          </p>
          {schema ? <TaskForm schema={schema} fields={data.formSchema ?? []} readOnly={!mayAct} onReady={(handle) => (formHandle.current = handle)} /> : <p role="status">{t('app.loading')}</p>}
          {message && (
            <p class={message.kind === 'error' ? 'kf-notice kf-notice--error' : 'kf-notice kf-notice--ok'} role={message.kind === 'error' ? 'alert' : 'status'}>
              {message.text}
            </p>
          )}
          <div class="kf-task-actions">
            <button type="button" class="kf-button kf-button--primary" disabled={!mayAct || busy} onClick={() => void complete()} aria-keyshortcuts="Control+Enter">
              {busy ? t('tasks.page.completing') : t('tasks.page.complete')} <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
            </button>
            {data.status === 'open' && data.assignee === null && (
              <button type="button" class="kf-button" onClick={() => void act(claimTask)}>
                {t('tasks.action.claim')}
              </button>
            )}
            {data.status === 'open' && data.assignee === staff.username && (
              <button type="button" class="kf-button" onClick={() => void act(unclaimTask)}>
                {t('tasks.action.unclaim')}
              </button>
            )}
          </div>
          <section aria-labelledby="task-history-title" class="kf-task-history">
            <h3 id="task-history-title">{t('tasks.page.history')}</h3>
            {steps.length === 0 ? (
              <p class="kf-muted">{t('tasks.page.noHistory')}</p>
            ) : (
              <ol>
                {steps.map((step) => (
                  <li key={step.taskId}>
                    <strong>{step.name}</strong> — {t(`tasks.status.${step.status}`)}
                    {step.completedBy ? ` ${t('tasks.page.by', { who: step.completedBy })}` : ''} · {formatDateTime(step.closedAt ?? step.createdAt)}
                    {step.outcome !== null && step.outcome !== undefined && <code class="kf-task-outcome">{JSON.stringify(step.outcome)}</code>}
                    {step.events.length > 0 && (
                      <ul class="kf-muted">
                        {step.events.map((event, index) => (
                          <li key={index}>
                            {formatDateTime(event.at)} · {event.actor}: {t(`tasks.audit.${event.action.replace('task.', '')}`, { defaultValue: event.action })}
                            {event.assignee ? ` → ${event.assignee}` : ''}
                          </li>
                        ))}
                      </ul>
                    )}
                  </li>
                ))}
              </ol>
            )}
          </section>
        </section>
        <aside class="kf-task-context" aria-label={t('tasks.page.context')}>
          {data.customerId ? <CustomerContext account={account.data} loading={account.isLoading} error={account.error} /> : <p class="kf-muted">{t('tasks.page.noCustomer')}</p>}
          <section aria-labelledby="task-diagram-title">
            <h3 id="task-diagram-title">{t('tasks.page.diagram')}</h3>
            {definition.data ? (
              <Suspense fallback={<p role="status">{t('app.loading')}</p>}>
                <TaskDiagram xml={definition.data.xml} nodeId={data.nodeId} doneNodeIds={doneNodeIds} />
              </Suspense>
            ) : (
              <p role="status">{t('app.loading')}</p>
            )}
          </section>
        </aside>
      </div>
    </article>
  );
}

/** The customer beside the work: account, tier, credit list, contacts, open tickets, orders, recent bills. */
export function CustomerContext({ account, loading, error }: { account: AccountDetail | undefined; loading: boolean; error: unknown }) {
  if (loading) return <p role="status">{t('app.loading')}</p>;
  if (error || !account) return <p class="kf-error" role="alert">{error instanceof Error ? error.message : t('app.failed')}</p>;
  return (
    <section class="kf-customer" aria-labelledby="customer-title">
      <h3 id="customer-title">
        <a href={`/accounts/${encodeURIComponent(account.id)}`}>{account.name}</a>
      </h3>
      <p class="kf-customer-tags">
        <span class={`kf-tag kf-tag--tier-${account.tier}`}>{t(`accounts.tier.${account.tier}`)}</span>
        <span class={`kf-tag kf-tag--credit-${account.creditList}`}>{t(`accounts.credit.${account.creditList}`)}</span>
        <span class="kf-tag">{t(`accounts.status.${account.status}`)}</span>
        <span class="kf-muted">
          {account.orgUnitName} · {account.customerManagerName ?? '—'}
        </span>
      </p>
      <h4>{t('accounts.section.contacts')}</h4>
      <ul class="kf-compact-list">
        {account.contacts.slice(0, 5).map((contact) => (
          <li key={contact.id}>
            {contact.name}
            {contact.isKeyPerson ? ' ★' : ''} {contact.title ? `· ${contact.title}` : ''} {contact.phone ? `· ${contact.phone}` : ''}
          </li>
        ))}
        {account.contacts.length === 0 && <li class="kf-muted">—</li>}
      </ul>
      <h4>{t('accounts.section.openTickets')}</h4>
      <ul class="kf-compact-list">
        {account.openTickets.slice(0, 5).map((ticket) => (
          <li key={ticket.id}>
            {ticket.title} · {ticket.severity} · {ticket.status}
          </li>
        ))}
        {account.openTickets.length === 0 && <li class="kf-muted">—</li>}
      </ul>
      <h4>{t('accounts.section.orders')}</h4>
      <ul class="kf-compact-list">
        {account.recentOrders.slice(0, 5).map((order) => (
          <li key={order.id}>
            {order.id} · {order.orderType} · {order.status}
          </li>
        ))}
        {account.recentOrders.length === 0 && <li class="kf-muted">—</li>}
      </ul>
      <h4>{t('accounts.section.bills')}</h4>
      <ul class="kf-compact-list">
        {account.recentBills.slice(0, 3).map((bill) => (
          <li key={bill.id}>
            {bill.period} · {formatMoney(bill.totalMinor, bill.currency)} · {bill.status}
          </li>
        ))}
        {account.recentBills.length === 0 && <li class="kf-muted">—</li>}
      </ul>
    </section>
  );
}
