import { useSignal } from '@preact/signals';
import { useQuery } from '@tanstack/preact-query';
import { useLocation } from 'preact-iso';
import { t } from '../../i18n';
import { DataTable, formatDateTime, type Column } from '../../ui/data-table';
import { countInstances, findInstances, incidentGroups, listOrgUnits, type FoundInstance, type IncidentGroup, type InstanceFilter } from './ops-api';
import { BatchPanel } from './batch-panel';
import { useProcessKeys } from './use-processes';

const filterFields = ['status', 'processKey', 'processVersion', 'nodeId', 'errorContains', 'businessKey', 'customerId', 'orgUnitId', 'startedAfter', 'startedBefore'] as const;
const statuses = ['incident', 'running', 'completed', 'failed', 'terminated', 'cancelled', 'timedOut'] as const;
const pageSize = 25;
/** How often the console asks again for incidents and counts: they change while one looks. */
const refreshMs = 5_000;

export function instanceHref(workflowId: string): string {
  return `/ops/instances/${encodeURIComponent(workflowId)}`;
}

/** The filter a console URL names (unknown parameters are ignored). */
export function filterOfQuery(query: Record<string, string>): InstanceFilter {
  const filter: InstanceFilter = {};
  for (const field of filterFields) if (query[field]) filter[field] = query[field];
  return filter;
}

function queryString(filter: InstanceFilter): string {
  const params = new URLSearchParams();
  for (const field of filterFields) if (filter[field]) params.set(field, filter[field]!);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** `datetime-local` works in the browser's zone without seconds; the API takes instants. */
const toInstant = (local: string) => (local ? new Date(local).toISOString() : undefined);
const toLocal = (iso: string | undefined) => {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
};

const statusCell = (instance: FoundInstance) =>
  instance.incident ? (
    <span class="kf-badge kf-badge--danger">{t('ops.incidentAt', { node: instance.incidentNode ?? '?' })}</span>
  ) : (
    <span class={`kf-status kf-status--${instance.status.toLowerCase()}`}>{t(`ops.status.${instance.status.toLowerCase()}`, { defaultValue: instance.status })}</span>
  );

const columns: Column<FoundInstance>[] = [
  {
    id: 'id',
    label: 'ops.column.instance',
    cell: (instance) => (
      <a href={instanceHref(instance.workflowId)}>
        <code>{instance.workflowId}</code>
      </a>
    ),
  },
  { id: 'process', label: 'ops.column.process', cell: (instance) => `${instance.processKey ?? '—'} v${instance.processVersion ?? '?'}` },
  { id: 'status', label: 'ops.column.status', cell: statusCell },
  { id: 'nodes', label: 'ops.column.activeNodes', cell: (instance) => instance.activeNodes.join(', ') || '—' },
  { id: 'customer', label: 'ops.column.customer', cell: (instance) => instance.customerId ?? '—' },
  { id: 'started', label: 'ops.column.started', cell: (instance) => formatDateTime(instance.startTime) },
];

/** The ops console: open incidents grouped where they stand, and the instance search. */
export function ConsolePage({ query }: { query: Record<string, string> }) {
  const filter = filterOfQuery(query);
  return (
    <div class="kf-page kf-ops">
      <header class="kf-page-header">
        <h1>{t('ops.title')}</h1>
      </header>
      <IncidentGroups />
      <InstanceSearch key={JSON.stringify(filter)} filter={filter} />
    </div>
  );
}

function IncidentGroups() {
  const groups = useQuery({ queryKey: ['ops', 'incident-groups'], queryFn: () => incidentGroups(), refetchInterval: refreshMs });
  // process → version → node → error: consecutive rows of the same process and version share their heading cells.
  const rows = groups.data?.groups ?? [];
  const groupHref = (group: IncidentGroup) =>
    `/ops${queryString({ status: 'incident', processKey: group.processKey, processVersion: group.processVersion === null ? undefined : String(group.processVersion), nodeId: group.nodeId, errorContains: group.error.slice(0, 200) || undefined })}`;
  return (
    <section aria-labelledby="ops-incidents" class="kf-ops-section">
      <h2 id="ops-incidents">
        {t('ops.incidents')} {groups.data && <span class="kf-badge kf-badge--danger">{groups.data.instances}</span>}
      </h2>
      <div class="kf-table-wrap">
        <table class="kf-table kf-incident-groups">
          <caption class="kf-visually-hidden">{t('ops.incidents')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('ops.column.process')}</th>
              <th scope="col">{t('ops.column.version')}</th>
              <th scope="col">{t('ops.column.node')}</th>
              <th scope="col">{t('ops.column.error')}</th>
              <th scope="col" class="kf-num">
                {t('ops.column.count')}
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((group, index) => {
              const previous = rows[index - 1];
              const sameProcess = previous?.processKey === group.processKey;
              const sameVersion = sameProcess && previous?.processVersion === group.processVersion;
              return (
                <tr key={`${group.processKey}-${group.processVersion}-${group.nodeId}-${group.error}`} data-node={group.nodeId}>
                  <td>{sameProcess ? '' : <a href={`/ops/processes/${encodeURIComponent(group.processKey)}`}>{group.processKey}</a>}</td>
                  <td>{sameVersion ? '' : `v${group.processVersion ?? '?'}`}</td>
                  <td>
                    <code>{group.nodeId}</code>
                  </td>
                  <td class="kf-ops-error">{group.error || '—'}</td>
                  <td class="kf-num">
                    <a href={groupHref(group)} aria-label={t('ops.showIncidents', { count: group.count, node: group.nodeId })}>
                      {group.count}
                    </a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {groups.isLoading && <p class="kf-table-state" role="status">{t('app.loading')}</p>}
        {groups.error ? <p class="kf-table-state kf-error" role="alert">{(groups.error as Error).message}</p> : null}
        {groups.data && rows.length === 0 && <p class="kf-table-state">{t('ops.noIncidents')}</p>}
        {groups.data?.truncated && <p class="kf-table-state kf-notice">{t('ops.truncated', { count: groups.data.instances })}</p>}
      </div>
    </section>
  );
}

function InstanceSearch({ filter }: { filter: InstanceFilter }) {
  const { route } = useLocation();
  const processes = useProcessKeys();
  const units = useQuery({ queryKey: ['org-units'], queryFn: listOrgUnits, staleTime: Infinity });
  // The tokens of the pages before this one, so "previous" needs no token from the server.
  const tokens = useSignal<(string | undefined)[]>([undefined]);
  const filterKey = JSON.stringify(filter);
  const pageToken = tokens.value[tokens.value.length - 1];
  const results = useQuery({ queryKey: ['ops', 'instances', filterKey, pageToken], queryFn: () => findInstances(filter, pageSize, pageToken), refetchInterval: refreshMs });
  const counts = useQuery({ queryKey: ['ops', 'counts', filterKey], queryFn: () => countInstances({ ...filter, errorContains: undefined }), refetchInterval: refreshMs });

  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: InstanceFilter = {};
    for (const field of filterFields) {
      const value = String(form.get(field) ?? '').trim();
      if (!value) continue;
      next[field] = field === 'startedAfter' || field === 'startedBefore' ? toInstant(value) : value;
    }
    tokens.value = [undefined];
    route(`/ops${queryString(next)}`);
  };

  return (
    <section aria-labelledby="ops-search" class="kf-ops-section">
      <h2 id="ops-search">{t('ops.search.title')}</h2>
      <form class="kf-ops-filter" onSubmit={submit} key={filterKey}>
        <label class="kf-field">
          <span>{t('ops.search.process')}</span>
          <select name="processKey">
            <option value="">{t('ops.search.any')}</option>
            {(processes.data ?? []).map((key) => (
              <option key={key} value={key} selected={filter.processKey === key}>
                {key}
              </option>
            ))}
          </select>
        </label>
        <label class="kf-field kf-field--narrow">
          <span>{t('ops.search.version')}</span>
          <input name="processVersion" type="number" min={1} defaultValue={filter.processVersion ?? ''} />
        </label>
        <label class="kf-field">
          <span>{t('ops.search.status')}</span>
          <select name="status">
            <option value="">{t('ops.search.any')}</option>
            {statuses.map((status) => (
              <option key={status} value={status} selected={filter.status === status}>
                {t(`ops.filterStatus.${status}`)}
              </option>
            ))}
          </select>
        </label>
        <label class="kf-field">
          <span>{t('ops.search.businessKey')}</span>
          <input name="businessKey" defaultValue={filter.businessKey ?? ''} />
        </label>
        <label class="kf-field">
          <span>{t('ops.search.customer')}</span>
          <input name="customerId" defaultValue={filter.customerId ?? ''} />
        </label>
        <label class="kf-field">
          <span>{t('ops.search.orgUnit')}</span>
          <select name="orgUnitId">
            <option value="">{t('ops.search.any')}</option>
            {(units.data ?? []).map((unit) => (
              <option key={unit.id} value={unit.id} selected={filter.orgUnitId === unit.id}>
                {unit.name}
              </option>
            ))}
          </select>
        </label>
        <label class="kf-field">
          <span>{t('ops.search.node')}</span>
          <input name="nodeId" defaultValue={filter.nodeId ?? ''} />
        </label>
        <label class="kf-field">
          <span>{t('ops.search.error')}</span>
          <input name="errorContains" defaultValue={filter.errorContains ?? ''} />
        </label>
        <label class="kf-field">
          <span>{t('ops.search.startedAfter')}</span>
          <input name="startedAfter" type="datetime-local" defaultValue={toLocal(filter.startedAfter)} />
        </label>
        <label class="kf-field">
          <span>{t('ops.search.startedBefore')}</span>
          <input name="startedBefore" type="datetime-local" defaultValue={toLocal(filter.startedBefore)} />
        </label>
        <div class="kf-ops-filter-actions">
          <button type="submit" class="kf-button kf-button--primary">
            {t('ops.search.submit')}
          </button>
          <a class="kf-button" href="/ops">
            {t('ops.search.clear')}
          </a>
        </div>
      </form>
      {counts.data && (
        <p class="kf-ops-counts" role="status" data-total={counts.data.total}>
          {t('ops.search.total', { count: counts.data.total })}
          {counts.data.byProcess.map((entry) => (
            <span key={`${entry.processKey}-${entry.processVersion}`} class="kf-ops-count">
              {entry.processKey} v{entry.processVersion ?? '?'}: <strong>{entry.count}</strong>
              {entry.incidents > 0 && <span class="kf-badge kf-badge--danger">{t('ops.search.incidentCount', { count: entry.incidents })}</span>}
            </span>
          ))}
        </p>
      )}
      <BatchPanel filter={filter} />
      <DataTable caption={t('ops.search.results')} columns={columns} rows={results.data?.instances} rowKey={(row) => row.workflowId} loading={results.isLoading} error={results.error} />
      <nav class="kf-pager" aria-label={t('ops.search.pages')}>
        <button type="button" class="kf-button kf-button--small" disabled={tokens.value.length <= 1} onClick={() => (tokens.value = tokens.value.slice(0, -1))}>
          {t('ops.search.previous')}
        </button>
        <span class="kf-muted">{t('ops.search.page', { page: tokens.value.length })}</span>
        <button
          type="button"
          class="kf-button kf-button--small"
          disabled={!results.data?.nextPageToken}
          onClick={() => results.data?.nextPageToken && (tokens.value = [...tokens.value, results.data.nextPageToken])}
        >
          {t('ops.search.next')}
        </button>
      </nav>
    </section>
  );
}
