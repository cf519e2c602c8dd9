import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiRequestError } from '../../api/client';
import { coalesce } from '../../api/coalesce';
import { t } from '../../i18n';
import { DataTable, formatDateTime } from '../../ui/data-table';
import { Modal } from '../../ui/modal';
import './billing.css';

interface BillRun {
  id: number;
  period: string;
  cycleDay: number;
  status: string;
  workflowId: string | null;
  requestedBy: string;
  thresholdPercent: number;
  progress: { accounts: { done: number; total: number }; records: { done: number; total: number }; batches: { done: number; total: number }; percent: number };
  ledger: { recordsIn: number; rated: number; rejected: number; duplicates: number; deferred: number; balanced: boolean };
  totals: { billsTotalMinor: number | null; previousTotalMinor: number | null; deviationPercent: number | null };
  decision: { by: string | null; at: string | null; comment: string | null };
  createdAt: string;
  finishedAt: string | null;
}

interface Rejection {
  id: number;
  recordId: string | null;
  reasonCode: string;
  reason: string;
  raw: Record<string, unknown>;
  billingAccountId: string | null;
  status: 'open' | 'resubmitted' | 'discarded';
  rejectedAt: string;
}

interface Bill {
  id: number;
  billNo: string | null;
  billingAccountId: string;
  period: string;
  currency: string;
  status: string;
  totalMinor: number | string;
  paidMinor: number | string;
  dueDate: string | null;
}

const editable = ['serviceNumber', 'usageType', 'startedAt', 'durationSec', 'volumeBytes', 'messages', 'destination'] as const;

function money(minor: number | string | null, currency = 'CNY'): string {
  if (minor === null) return '—';
  return `${currency} ${(Number(minor) / 100).toLocaleString(document.documentElement.lang === 'zh-CN' ? 'zh-CN' : 'en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** The approval task of a run awaiting a clerk: the cycle's `approve` user task, first loop. */
function approvalTaskPath(run: BillRun): string | null {
  return run.workflowId ? `/tasks/${encodeURIComponent(`${run.workflowId}/approve/0`)}` : null;
}

/**
 * The billing clerk's room: bill runs with their progress pushed while they go (Server-Sent Events
 * fed by PostgreSQL LISTEN/NOTIFY on the runs), the approval waiting in the task list when a run's
 * total deviates, the usage records refused by rating (correct and resubmit, or discard), and the
 * bills with their printable page.
 */
export function BillingRoom() {
  const client = useQueryClient();
  const runs = useQuery({ queryKey: ['billing', 'runs'], queryFn: () => api<{ items: BillRun[] }>('/api/billing/runs', { query: { limit: 20 } }), retry: false });
  const [starting, setStarting] = useState(false);
  const [correcting, setCorrecting] = useState<Rejection | null>(null);
  const forbidden = runs.error instanceof ApiRequestError && runs.error.status === 403;

  useEffect(() => {
    if (forbidden) return;
    const source = new EventSource('/api/billing/runs/events', { withCredentials: true });
    // At most one reload per 100 ms while events flow: a fast run sends one per batch.
    const reload = coalesce(100, () => void client.invalidateQueries({ queryKey: ['billing'] }));
    source.addEventListener('run', reload.poke);
    source.addEventListener('resync', reload.poke);
    return () => {
      reload.cancel();
      source.close();
    };
  }, [forbidden]);

  const rejections = useQuery({ queryKey: ['billing', 'rejections'], queryFn: () => api<{ items: Rejection[] }>('/api/billing/rejections', { query: { status: 'open', limit: 50 } }) });
  const bills = useQuery({ queryKey: ['billing', 'bills'], queryFn: () => api<{ items: Bill[] }>('/api/billing/bills', { query: { limit: 20 } }) });

  return (
    <div class="kf-page kf-billing">
      <header class="kf-page-header">
        <h1>{t('rooms.billing')}</h1>
        {!forbidden && (
          <button type="button" class="kf-button kf-button--primary" onClick={() => setStarting(true)}>
            {t('billing.start')}
          </button>
        )}
      </header>

      <section aria-labelledby="billing-runs">
        <h2 id="billing-runs">{t('billing.runs')}</h2>
        {forbidden ? (
          <p class="kf-muted">{t('billing.operatorOnly')}</p>
        ) : (
          <ul class="kf-runs">
            {(runs.data?.items ?? []).map((run) => (
              <RunCard key={run.id} run={run} />
            ))}
            {runs.data && runs.data.items.length === 0 && <li class="kf-muted">{t('billing.noRuns')}</li>}
            {runs.isLoading && <li role="status">{t('app.loading')}</li>}
          </ul>
        )}
      </section>

      <section aria-labelledby="billing-rejections">
        <h2 id="billing-rejections">{t('billing.rejections')}</h2>
        <DataTable
          caption={t('billing.rejections')}
          rows={rejections.data?.items}
          rowKey={(row) => String(row.id)}
          loading={rejections.isLoading}
          error={rejections.error}
          columns={[
            { id: 'record', label: 'billing.column.record', cell: (row: Rejection) => <code>{row.recordId ?? row.id}</code> },
            { id: 'reason', label: 'billing.column.reason', cell: (row: Rejection) => `${row.reasonCode} · ${row.reason}` },
            { id: 'number', label: 'billing.column.serviceNumber', cell: (row: Rejection) => String(row.raw.serviceNumber ?? '—') },
            { id: 'at', label: 'billing.column.rejectedAt', cell: (row: Rejection) => formatDateTime(row.rejectedAt) },
            {
              id: 'fix',
              label: 'billing.column.action',
              cell: (row: Rejection) => (
                <button type="button" class="kf-button kf-button--small" aria-label={`${t('billing.correct')} ${row.recordId ?? row.id}`} onClick={() => setCorrecting(row)}>
                  {t('billing.correct')}
                </button>
              ),
            },
          ]}
        />
      </section>

      <section aria-labelledby="billing-bills">
        <h2 id="billing-bills">{t('billing.bills')}</h2>
        <DataTable
          caption={t('billing.bills')}
          rows={bills.data?.items}
          rowKey={(row) => String(row.id)}
          loading={bills.isLoading}
          error={bills.error}
          columns={[
            { id: 'no', label: 'billing.column.billNo', cell: (row: Bill) => row.billNo ?? t('billing.draft') },
            { id: 'account', label: 'billing.column.billingAccount', cell: (row: Bill) => row.billingAccountId },
            { id: 'period', label: 'billing.column.period', cell: (row: Bill) => row.period },
            { id: 'total', label: 'billing.column.total', cell: (row: Bill) => money(row.totalMinor, row.currency), numeric: true },
            { id: 'status', label: 'billing.column.status', cell: (row: Bill) => row.status },
            {
              id: 'print',
              label: 'billing.column.action',
              cell: (row: Bill) => (
                <a class="kf-button kf-button--small" href={`/api/billing/bills/${row.id}/print`} target="_blank" rel="noopener" aria-label={`${t('billing.print')} ${row.billNo ?? row.id}`}>
                  {t('billing.print')}
                </a>
              ),
            },
          ]}
        />
      </section>

      {starting && <StartRunDialog onClose={() => setStarting(false)} onStarted={() => { setStarting(false); void client.invalidateQueries({ queryKey: ['billing'] }); }} />}
      {correcting && <CorrectDialog rejection={correcting} onClose={() => setCorrecting(null)} onDone={() => { setCorrecting(null); void client.invalidateQueries({ queryKey: ['billing'] }); }} />}
    </div>
  );
}

/** One run: its status, a progress bar of accounts, records and batches done, the ledger, and the approval when it waits for one. */
function RunCard({ run }: { run: BillRun }) {
  const approval = run.status === 'awaiting_approval' ? approvalTaskPath(run) : null;
  const labelId = `run-${run.id}-title`;
  return (
    <li class={`kf-run kf-run--${run.status}`} aria-labelledby={labelId}>
      <div class="kf-run-head">
        <h3 id={labelId}>
          {t('billing.runTitle', { period: run.period, day: run.cycleDay })} <span class="kf-tag">{t(`billing.status.${run.status}`, { defaultValue: run.status })}</span>
        </h3>
        <span class="kf-muted">{t('billing.requested', { who: run.requestedBy, when: formatDateTime(run.createdAt) })}</span>
      </div>
      <div class="kf-progress" role="progressbar" aria-labelledby={labelId} aria-valuemin={0} aria-valuemax={100} aria-valuenow={run.progress.percent} aria-valuetext={`${run.progress.percent}%`}>
        <div class="kf-progress-bar" style={{ width: `${run.progress.percent}%` }} />
      </div>
      <p class="kf-run-figures">
        {t('billing.progress', {
          accounts: run.progress.accounts.done,
          accountsTotal: run.progress.accounts.total,
          records: run.progress.records.done,
          recordsTotal: run.progress.records.total,
          batches: run.progress.batches.done,
          batchesTotal: run.progress.batches.total,
        })}
      </p>
      <p class="kf-muted kf-run-figures">
        {t('billing.ledger', { in: run.ledger.recordsIn, rated: run.ledger.rated, rejected: run.ledger.rejected, duplicates: run.ledger.duplicates, deferred: run.ledger.deferred })}
        {run.totals.billsTotalMinor !== null && ` · ${t('billing.total', { total: money(run.totals.billsTotalMinor) })}`}
        {run.totals.deviationPercent !== null && ` · ${t('billing.deviation', { percent: run.totals.deviationPercent, threshold: run.thresholdPercent })}`}
      </p>
      {approval && (
        <p class="kf-notice">
          {t('billing.awaiting')} <a href={approval}>{t('billing.openApproval')}</a>
        </p>
      )}
      {run.decision.by && <p class="kf-muted">{t('billing.decided', { who: run.decision.by, when: formatDateTime(run.decision.at) })}</p>}
    </li>
  );
}

function StartRunDialog({ onClose, onStarted }: { onClose: () => void; onStarted: () => void }) {
  const previousMonth = (() => {
    const date = new Date();
    date.setMonth(date.getMonth() - 1);
    return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}`;
  })();
  const [period, setPeriod] = useState(previousMonth);
  const [threshold, setThreshold] = useState('20');
  const [batch, setBatch] = useState('');
  const [cycleDay, setCycleDay] = useState('1');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    try {
      await api('/api/billing/runs', {
        method: 'POST',
        body: { period, cycleDay: Number(cycleDay), thresholdPercent: Number(threshold), ...(batch ? { accountsPerBatch: Number(batch) } : {}) },
      });
      onStarted();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : t('app.failed'));
    }
  };
  return (
    <Modal
      title={t('billing.startTitle')}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button type="button" class="kf-button kf-button--primary" onClick={() => void submit()}>
            {t('billing.startConfirm')}
          </button>
        </>
      }
    >
      <label class="kf-field">
        <span>{t('billing.period')}</span>
        <input type="text" value={period} onInput={(event) => setPeriod(event.currentTarget.value)} placeholder="2026-11" />
      </label>
      <label class="kf-field">
        <span>{t('billing.cycleDay')}</span>
        <input type="number" min={1} max={28} value={cycleDay} onInput={(event) => setCycleDay(event.currentTarget.value)} />
      </label>
      <label class="kf-field">
        <span>{t('billing.threshold')}</span>
        <input type="number" min={0} max={1000} value={threshold} onInput={(event) => setThreshold(event.currentTarget.value)} />
      </label>
      <label class="kf-field">
        <span>{t('billing.batch')}</span>
        <input type="number" min={1} value={batch} onInput={(event) => setBatch(event.currentTarget.value)} />
      </label>
      {error && (
        <p class="kf-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}

/** Corrects a refused usage record and sends it through the checks again (or gives up on it). */
function CorrectDialog({ rejection, onClose, onDone }: { rejection: Rejection; onClose: () => void; onDone: () => void }) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(editable.map((key) => [key, rejection.raw[key] === undefined || rejection.raw[key] === null ? '' : String(rejection.raw[key])])));
  const [error, setError] = useState<string | null>(null);
  const act = async (action: 'resubmit' | 'discard') => {
    setError(null);
    try {
      if (action === 'resubmit') {
        const corrections = Object.fromEntries(Object.entries(values).filter(([key, value]) => value !== (rejection.raw[key] === undefined || rejection.raw[key] === null ? '' : String(rejection.raw[key]))));
        await api(`/api/billing/rejections/${rejection.id}/resubmit`, { method: 'POST', body: { corrections } });
      } else await api(`/api/billing/rejections/${rejection.id}/discard`, { method: 'POST' });
      onDone();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : t('app.failed'));
    }
  };
  return (
    <Modal
      title={t('billing.correctTitle', { record: rejection.recordId ?? rejection.id })}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="kf-button" onClick={() => void act('discard')}>
            {t('billing.discard')}
          </button>
          <button type="button" class="kf-button kf-button--primary" onClick={() => void act('resubmit')}>
            {t('billing.resubmit')}
          </button>
        </>
      }
    >
      <p class="kf-notice">
        {rejection.reasonCode}: {rejection.reason}
      </p>
      {editable.map((key) => (
        <label key={key} class="kf-field">
          <span>{t(`billing.field.${key}`)}</span>
          <input type="text" value={values[key]} onInput={(event) => setValues({ ...values, [key]: event.currentTarget.value })} />
        </label>
      ))}
      {error && (
        <p class="kf-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}
