import { useSignal } from '@preact/signals';
import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { useLocation } from 'preact-iso';
import { t } from '../../i18n';
import { formatDateTime } from '../../ui/data-table';
import { formatDuration } from './instance-page';
import { OpsDiagram, overlayElement, type DiagramPaint } from './ops-diagram';
import { ThroughputChart } from './throughput-chart';
import { collectNodeStats, countInstances, listVersions, loadNodeStats, loadThroughput, loadVersion, type InstanceCounts, type NodeStat } from './ops-api';

const windows = [
  { id: '1h', ms: 3600_000 },
  { id: '24h', ms: 24 * 3600_000 },
  { id: '7d', ms: 7 * 24 * 3600_000 },
  { id: '30d', ms: 30 * 24 * 3600_000 },
] as const;

/** Heat 0–4 for a count against the largest: the marker class the diagram colours by. */
export function heatLevel(count: number, max: number): number {
  if (count <= 0 || max <= 0) return 0;
  return Math.min(4, Math.max(1, Math.ceil((count / max) * 4)));
}

/** Where the running instances of one version wait now, and where they are stuck, drawn on its diagram. */
export function paintHeat(byNode: InstanceCounts['byNode'], durations: readonly NodeStat[] = []): DiagramPaint {
  const max = Math.max(0, ...byNode.map((node) => node.active));
  const paint: DiagramPaint = { markers: [], overlays: [] };
  for (const stat of durations) {
    if (stat.overSla) paint.markers.push({ elementId: stat.nodeId, marker: 'kf-op-slow' });
    const text = t('ops.heat.durationNote', { avg: formatDuration(stat.avgMs), p95: formatDuration(stat.p95Ms) });
    paint.overlays.push({ elementId: stat.nodeId, kind: 'kf-heat-time', position: { bottom: -4, left: 0 }, html: overlayElement(stat.overSla ? 'kf-op-time kf-op-time--slow' : 'kf-op-time', text, text) });
  }
  for (const node of byNode) {
    if (node.active > 0) {
      paint.markers.push({ elementId: node.nodeId, marker: `kf-op-heat-${heatLevel(node.active, max)}` });
      paint.overlays.push({
        elementId: node.nodeId,
        kind: 'kf-heat',
        position: { top: -12, right: 12 },
        html: overlayElement('kf-op-token', String(node.active), t('ops.heat.waiting', { count: node.active })),
      });
    }
    if (node.incidents > 0) {
      paint.markers.push({ elementId: node.nodeId, marker: 'kf-op-incident' });
      paint.overlays.push({
        elementId: node.nodeId,
        kind: 'kf-heat-incidents',
        position: { bottom: -6, left: -10 },
        html: overlayElement('kf-op-incident-note', t('ops.heat.incidents', { count: node.incidents })),
      });
    }
  }
  return paint;
}

/** A process version's heat map: instances waiting at each node now and incidents per node. */
export function ProcessPage({ processKey, version }: { processKey: string; version?: number }) {
  const { route } = useLocation();
  const versions = useQuery({ queryKey: ['ops', 'versions', processKey], queryFn: () => listVersions(processKey) });
  const latest = Math.max(0, ...(versions.data ?? []).map((entry) => entry.version));
  const shown = version ?? (latest || undefined);
  const definition = useQuery({ queryKey: ['ops', 'version', processKey, shown], queryFn: () => loadVersion(processKey, shown!), enabled: shown !== undefined, staleTime: Infinity });
  const counts = useQuery({
    queryKey: ['ops', 'heat', processKey, shown],
    queryFn: () => countInstances({ status: 'running', processKey, processVersion: String(shown) }),
    enabled: shown !== undefined,
    refetchInterval: 5_000,
  });
  const byNode = (counts.data?.byNode ?? []).filter((node) => node.processKey === processKey);
  const queryClient = useQueryClient();
  const windowId = useSignal<(typeof windows)[number]['id']>('24h');
  const slaMinutes = useSignal('');
  const windowMs = windows.find((entry) => entry.id === windowId.value)!.ms;
  const slaMs = Number(slaMinutes.value) > 0 ? Math.round(Number(slaMinutes.value) * 60_000) : undefined;
  const stats = useQuery({
    queryKey: ['ops', 'node-stats', processKey, shown, windowMs, slaMs],
    queryFn: () => loadNodeStats(processKey, shown!, windowMs, slaMs),
    enabled: shown !== undefined,
  });
  const durations = stats.data?.nodes ?? [];
  const throughputHours = Math.min(168, Math.max(1, Math.round(windowMs / 3600_000)));
  const throughput = useQuery({
    queryKey: ['ops', 'throughput', processKey, shown, throughputHours],
    queryFn: () => loadThroughput(processKey, shown!, throughputHours),
    enabled: shown !== undefined,
    refetchInterval: 60_000,
  });
  const nodeIds = [...new Set([...byNode.map((node) => node.nodeId), ...durations.map((stat) => stat.nodeId)])].sort();
  const collecting = useSignal(false);
  const collect = async () => {
    collecting.value = true;
    try {
      await collectNodeStats();
    } finally {
      collecting.value = false;
      void queryClient.invalidateQueries({ queryKey: ['ops', 'node-stats'] });
    }
  };
  return (
    <div class="kf-ops-instance">
      <header class="kf-ops-toolbar">
        <div class="kf-ops-toolbar-title">
          <h1>{t('ops.heat.title', { key: processKey })}</h1>
          <span class="kf-muted">{counts.data ? t('ops.heat.running', { count: counts.data.total }) : t('app.loading')}</span>
        </div>
        <label class="kf-field kf-field--inline">
          <span>{t('ops.search.version')}</span>
          <select value={shown ?? ''} onChange={(event) => route(`/ops/processes/${encodeURIComponent(processKey)}?version=${event.currentTarget.value}`)}>
            {(versions.data ?? [])
              .slice()
              .sort((a, b) => b.version - a.version)
              .map((entry) => (
                <option key={entry.version} value={entry.version}>
                  v{entry.version}
                </option>
              ))}
          </select>
        </label>
        <div class="kf-ops-toolbar-end">
          <a class="kf-button" href={`/ops?processKey=${encodeURIComponent(processKey)}${shown ? `&processVersion=${shown}` : ''}`}>
            {t('ops.heat.instances')}
          </a>
        </div>
      </header>
      <div class="kf-ops-instance-body kf-ops-heat">
        <div class="kf-ops-diagram">
          {definition.data ? (
            <OpsDiagram xml={definition.data.xml} label={t('ops.diagram.label', { key: processKey, version: shown })} paint={() => paintHeat(byNode, durations)} />
          ) : (
            <p class="kf-muted kf-ops-diagram-empty">{definition.error ? (definition.error as Error).message : t('app.loading')}</p>
          )}
          {throughput.data && <ThroughputChart hours={throughput.data.hours} />}
        </div>
        <aside class="kf-ops-side" aria-label={t('ops.heat.perNode')}>
          <section class="kf-ops-panel" aria-labelledby="ops-heat-nodes">
            <h2 id="ops-heat-nodes">{t('ops.heat.perNode')}</h2>
            <div class="kf-ops-heat-controls">
              <label class="kf-field kf-field--inline">
                <span>{t('ops.heat.window')}</span>
                <select value={windowId.value} onChange={(event) => (windowId.value = event.currentTarget.value as (typeof windows)[number]['id'])}>
                  {windows.map((entry) => (
                    <option key={entry.id} value={entry.id}>
                      {t(`ops.heat.windows.${entry.id}`)}
                    </option>
                  ))}
                </select>
              </label>
              <label class="kf-field kf-field--inline">
                <span>{t('ops.heat.sla')}</span>
                <input type="number" min={0} step="any" class="kf-ops-sla" value={slaMinutes.value} onChange={(event) => (slaMinutes.value = event.currentTarget.value)} />
              </label>
            </div>
            <table class="kf-table" data-testid="heat-table">
              <caption class="kf-visually-hidden">{t('ops.heat.perNode')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('ops.column.node')}</th>
                  <th scope="col" class="kf-num">
                    {t('ops.heat.waitingColumn')}
                  </th>
                  <th scope="col" class="kf-num">
                    {t('ops.heat.incidentsColumn')}
                  </th>
                  <th scope="col" class="kf-num">
                    {t('ops.heat.avgColumn')}
                  </th>
                  <th scope="col" class="kf-num">
                    {t('ops.heat.p95Column')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {nodeIds.map((nodeId) => {
                  const now = byNode.find((node) => node.nodeId === nodeId);
                  const stat = durations.find((entry) => entry.nodeId === nodeId);
                  return (
                    <tr key={nodeId} data-node={nodeId} class={stat?.overSla ? 'kf-ops-slow' : undefined}>
                      <td>
                        <code>{nodeId}</code>
                        {stat?.overSla && <span class="kf-badge kf-badge--danger">{t('ops.heat.overSla')}</span>}
                      </td>
                      <td class="kf-num" data-count="active">
                        {now?.active ?? 0}
                      </td>
                      <td class="kf-num" data-count="incidents">
                        {now?.incidents ?? 0}
                      </td>
                      <td class="kf-num" data-stat="avg" title={stat ? t('ops.heat.executions', { count: stat.executions }) : undefined}>
                        {stat ? formatDuration(stat.avgMs) : '—'}
                      </td>
                      <td class="kf-num" data-stat="p95">
                        {stat ? formatDuration(stat.p95Ms) : '—'}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {counts.data && nodeIds.length === 0 && <p class="kf-muted">{t('ops.heat.none')}</p>}
            <p class="kf-muted kf-ops-hint">
              {t('ops.heat.collectedUntil', { when: stats.data?.collectedUntil ? formatDateTime(stats.data.collectedUntil) : '—' })}{' '}
              <button type="button" class="kf-link" disabled={collecting.value} onClick={() => void collect()}>
                {t('ops.heat.collect')}
              </button>
            </p>
          </section>
        </aside>
      </div>
    </div>
  );
}
