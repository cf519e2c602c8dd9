import { useSignal } from '@preact/signals';
import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { t } from '../../i18n';
import { refusalText } from './action-dialog';
import { batchActions, dryRunBatch, loadBatch, startBatch, type BatchAction, type BatchDryRun, type InstanceFilter } from './ops-api';

/**
 * One action over every instance the search's filter matches: a dry run counts them first, then
 * the batch runs as the durable `opsBatch` workflow and its progress is followed live.
 */
export function BatchPanel({ filter }: { filter: InstanceFilter }) {
  const queryClient = useQueryClient();
  const action = useSignal<BatchAction>('retry');
  const reason = useSignal('');
  const dryRun = useSignal<(BatchDryRun & { action: BatchAction }) | null>(null);
  const batchId = useSignal<string | null>(null);
  const failure = useSignal<string | null>(null);
  const busy = useSignal(false);
  const batch = useQuery({
    queryKey: ['ops', 'batch', batchId.value],
    queryFn: () => loadBatch(batchId.value!),
    enabled: batchId.value !== null,
    refetchInterval: (query) => ((query.state.data as { status?: string } | undefined)?.status === 'running' || !query.state.data ? 1000 : false),
  });

  const attempt = async (run: () => Promise<void>) => {
    if (!reason.value.trim()) {
      failure.value = t('ops.action.reasonRequired');
      return;
    }
    busy.value = true;
    failure.value = null;
    try {
      await run();
    } catch (error) {
      failure.value = refusalText(error);
    } finally {
      busy.value = false;
    }
  };
  const count = () =>
    attempt(async () => {
      dryRun.value = { ...(await dryRunBatch(action.value, filter, reason.value.trim())), action: action.value };
      batchId.value = null;
    });
  const start = () =>
    attempt(async () => {
      const started = await startBatch(action.value, filter, reason.value.trim());
      batchId.value = started.batchId;
      dryRun.value = null;
      void queryClient.invalidateQueries({ queryKey: ['ops', 'instances'] });
    });

  const progress = batch.data?.progress;
  const done = progress?.done ?? (batch.data ? batch.data.counts.succeeded + batch.data.counts.failed + batch.data.counts.skipped : 0);
  const total = progress?.total ?? batch.data?.total ?? 0;
  const status = progress?.status ?? batch.data?.status;
  return (
    <section class="kf-ops-panel kf-ops-batch" aria-labelledby="ops-batch">
      <h2 id="ops-batch">{t('ops.batch.title')}</h2>
      <p class="kf-muted kf-ops-hint">{t('ops.batch.intro')}</p>
      <div class="kf-ops-batch-form">
        <label class="kf-field kf-field--inline">
          <span>{t('ops.batch.action')}</span>
          <select value={action.value} onChange={(event) => ((action.value = event.currentTarget.value as BatchAction), (dryRun.value = null))}>
            {batchActions.map((entry) => (
              <option key={entry} value={entry}>
                {t(`ops.batch.actions.${entry}`)}
              </option>
            ))}
          </select>
        </label>
        <label class="kf-field kf-field--inline kf-ops-batch-reason">
          <span>{t('ops.action.reason')}</span>
          <input value={reason.value} maxLength={1000} onInput={(event) => (reason.value = event.currentTarget.value)} />
        </label>
        <button type="button" class="kf-button" disabled={busy.value} onClick={() => void count()}>
          {t('ops.batch.dryRun')}
        </button>
        <button type="button" class="kf-button kf-button--primary" disabled={busy.value || !dryRun.value || dryRun.value.count === 0 || dryRun.value.action !== action.value} onClick={() => void start()}>
          {t('ops.batch.start')}
        </button>
      </div>
      {failure.value && (
        <p class="kf-error" role="alert">
          {failure.value}
        </p>
      )}
      {dryRun.value && (
        <p role="status" class="kf-ops-batch-count" data-count={dryRun.value.count}>
          {t('ops.batch.wouldTouch', { count: dryRun.value.count, action: t(`ops.batch.actions.${dryRun.value.action}`) })}
        </p>
      )}
      {batchId.value && (
        <div class="kf-ops-batch-progress" data-status={status ?? ''}>
          <label>
            <span>{t('ops.batch.progress', { done, total })}</span>
            <progress max={Math.max(total, 1)} value={done} />
          </label>
          {batch.data && (
            <p role="status">
              {t('ops.batch.counts', { succeeded: batch.data.counts.succeeded, failed: batch.data.counts.failed, skipped: batch.data.counts.skipped })} ·{' '}
              {t(`ops.batch.status.${status ?? 'running'}`, { defaultValue: status })}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
