import { useSignal } from '@preact/signals';
import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { t } from '../../i18n';
import { formatDateTime } from '../../ui/data-table';
import { ActionDialog, parseVariables } from './action-dialog';
import { instanceHref } from './console-page';
import { MigrateDialog } from './migrate-dialog';
import { OpsDiagram, overlayElement, type DiagramElement, type DiagramPaint } from './ops-diagram';
import {
  loadAudit,
  loadInstance,
  loadTimeline,
  loadVersion,
  replayCheck,
  runAction,
  type Incident,
  type InstanceAction,
  type InstanceDetail,
  type InstanceState,
  type ReplayVerdict,
  type Timeline,
} from './ops-api';

const refreshMs = 3_000;

/** "3 min 12 s", "1 h 5 min", "2 d 3 h": a duration as ops read it on a node. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Time spent per node: every completed execution summed, and the running ones up to now. */
export function timePerNode(state: Pick<InstanceState, 'completedNodes' | 'activeNodes'>, now: number): Map<string, number> {
  const spent = new Map<string, number>();
  const add = (nodeId: string, ms: number) => spent.set(nodeId, (spent.get(nodeId) ?? 0) + Math.max(0, ms));
  for (const node of state.completedNodes) add(node.nodeId, Date.parse(node.completedAt) - Date.parse(node.startedAt));
  for (const node of state.activeNodes) add(node.nodeId, now - Date.parse(node.since));
  return spent;
}

/** What the diagram shows of one instance: tokens with counts, incidents with their message, the path taken, time per node. */
export function paintInstance(state: InstanceState, elements: DiagramElement[], now: number): DiagramPaint {
  const paint: DiagramPaint = { markers: [], overlays: [] };
  const done = new Set(state.completedNodes.map((node) => node.nodeId));
  const tokens = new Map<string, number>();
  for (const node of state.activeNodes) tokens.set(node.nodeId, (tokens.get(node.nodeId) ?? 0) + 1);
  const incidents = new Map<string, Incident[]>();
  for (const incident of state.incidents) incidents.set(incident.nodeId, [...(incidents.get(incident.nodeId) ?? []), incident]);
  const spent = timePerNode(state, now);

  for (const nodeId of done) paint.markers.push({ elementId: nodeId, marker: 'kf-op-done' });
  for (const [nodeId, count] of tokens) {
    paint.markers.push({ elementId: nodeId, marker: 'kf-op-active' });
    paint.overlays.push({
      elementId: nodeId,
      kind: 'kf-tokens',
      position: { top: -12, right: 12 },
      html: overlayElement('kf-op-token', count > 1 ? String(count) : '', t('ops.diagram.tokens', { count }), t('ops.diagram.tokens', { count })),
    });
  }
  for (const [nodeId, list] of incidents) {
    paint.markers.push({ elementId: nodeId, marker: 'kf-op-incident' });
    const text = list.map((incident) => `${incident.errorType}: ${incident.message}`).join('\n');
    paint.overlays.push({ elementId: nodeId, kind: 'kf-incident', position: { bottom: -6, left: -20 }, html: overlayElement('kf-op-incident-note', text, undefined, text) });
  }
  for (const element of elements) {
    // A flow was taken when its source completed and its target was reached.
    if (element.sourceId && element.targetId && done.has(element.sourceId) && (done.has(element.targetId) || tokens.has(element.targetId) || incidents.has(element.targetId))) {
      paint.markers.push({ elementId: element.id, marker: 'kf-op-taken' });
    }
    const ms = spent.get(element.id);
    // Events and gateways pass in no time worth showing, unless they waited (a timer, a message).
    const waits = /Task$|SubProcess$|CallActivity$/.test(element.type) || (ms ?? 0) >= 1000;
    if (ms !== undefined && waits && !element.sourceId && !incidents.has(element.id)) {
      paint.overlays.push({ elementId: element.id, kind: 'kf-time', position: { bottom: -4, left: 0 }, html: overlayElement('kf-op-time', formatDuration(ms), t('ops.diagram.timeSpent', { time: formatDuration(ms) })) });
    }
  }
  return paint;
}

type Dialog =
  | { kind: 'retry'; incident: Incident }
  | { kind: 'skip'; incident: Incident }
  | { kind: 'reset' }
  | { kind: 'move'; fromNodeId: string; toNodeId: string }
  | { kind: 'migrate' }
  | { kind: 'cancel' }
  | { kind: 'terminate' };

/** One instance: its diagram painted with where it stands, what it did and what went wrong; and every repair. */
export function InstancePage({ workflowId }: { workflowId: string }) {
  const queryClient = useQueryClient();
  const instance = useQuery({
    queryKey: ['ops', 'instance', workflowId],
    queryFn: () => loadInstance(workflowId),
    refetchInterval: (query) => ((query.state.data as InstanceDetail | undefined)?.status === 'RUNNING' ? refreshMs : false),
  });
  const running = instance.data?.status === 'RUNNING';
  const timeline = useQuery({ queryKey: ['ops', 'timeline', workflowId], queryFn: () => loadTimeline(workflowId), refetchInterval: running ? refreshMs : false });
  const audit = useQuery({ queryKey: ['ops', 'audit', workflowId], queryFn: () => loadAudit(workflowId) });
  const state = instance.data?.state;
  const processKey = state?.processKey ?? instance.data?.processKey;
  const processVersion = state?.processVersion ?? instance.data?.processVersion;
  const version = useQuery({
    queryKey: ['ops', 'version', processKey, processVersion],
    queryFn: () => loadVersion(processKey!, processVersion!),
    enabled: Boolean(processKey && processVersion),
    staleTime: Infinity,
  });
  const dialog = useSignal<Dialog | null>(null);
  const notice = useSignal<string | null>(null);
  const moveFrom = useSignal<string | null>(null);
  const moveTo = useSignal<string>('');
  const replay = useSignal<ReplayVerdict | 'running' | string | null>(null);

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['ops'] });
  };
  const done = (message: string) => () => {
    dialog.value = null;
    moveFrom.value = null;
    notice.value = message;
    refresh();
  };
  const act = (action: InstanceAction) => (reason: string) => runAction(workflowId, action, reason);

  if (instance.isLoading) return <p class="kf-page kf-muted" role="status">{t('app.loading')}</p>;
  if (instance.error || !instance.data)
    return (
      <div class="kf-page">
        <p class="kf-error" role="alert">
          {(instance.error as Error)?.message ?? t('app.failed')}
        </p>
        <a href="/ops">{t('ops.instance.back')}</a>
      </div>
    );

  const detail = instance.data;
  const activeNodeIds = [...new Set(state?.activeNodes.map((node) => node.nodeId) ?? [])];
  const nodes = version.data?.summary.nodes ?? [];
  const children = [...new Set((timeline.data?.entries ?? []).filter((entry) => entry.kind === 'child.initiated' && entry.name).map((entry) => entry.name!))];

  const runReplayCheck = async () => {
    if (!processKey || !detail.businessKey) return;
    replay.value = 'running';
    try {
      const report = await replayCheck(processKey, detail.businessKey);
      replay.value = report.instances.find((verdict) => verdict.workflowId === workflowId) ?? t('ops.replay.notChecked');
    } catch (error) {
      replay.value = (error as Error).message;
    }
  };

  return (
    <div class="kf-ops-instance">
      <header class="kf-ops-toolbar">
        <div class="kf-ops-toolbar-title">
          <h1>
            <code>{workflowId}</code>
          </h1>
          <span class="kf-muted">
            {processKey ? <a href={`/ops/processes/${encodeURIComponent(processKey)}?version=${processVersion ?? ''}`} title={t('ops.instance.heatMap')}>{`${processKey} v${processVersion ?? '?'}`}</a> : '—'} ·{' '}
            {t('ops.instance.startedAt', { when: formatDateTime(detail.startTime) })}
            {detail.closeTime ? ` · ${t('ops.instance.closedAt', { when: formatDateTime(detail.closeTime) })}` : ''}
          </span>
        </div>
        <span class={`kf-status kf-status--${detail.status.toLowerCase()}`} data-status={detail.status}>
          {t(`ops.status.${detail.status.toLowerCase()}`, { defaultValue: detail.status })}
        </span>
        {state && state.incidents.length > 0 && <span class="kf-badge kf-badge--danger">{t('ops.instance.incidentCount', { count: state.incidents.length })}</span>}
        <div class="kf-ops-toolbar-end">
          <button type="button" class="kf-button" disabled={!running} onClick={() => (dialog.value = { kind: 'reset' })}>
            {t('ops.action.reset')}
          </button>
          <button type="button" class="kf-button" disabled={!running || activeNodeIds.length === 0} onClick={() => ((moveFrom.value = activeNodeIds[0] ?? null), (moveTo.value = ''))}>
            {t('ops.action.move')}
          </button>
          <button type="button" class="kf-button" disabled={!running} onClick={() => (dialog.value = { kind: 'migrate' })}>
            {t('ops.action.migrate')}
          </button>
          <button type="button" class="kf-button" disabled={!running || !detail.businessKey} onClick={() => void runReplayCheck()}>
            {t('ops.action.replayCheck')}
          </button>
          <button type="button" class="kf-button" disabled={!running} onClick={() => (dialog.value = { kind: 'cancel' })}>
            {t('ops.action.cancel')}
          </button>
          <button type="button" class="kf-button kf-button--danger" disabled={!running} onClick={() => (dialog.value = { kind: 'terminate' })}>
            {t('ops.action.terminate')}
          </button>
        </div>
      </header>
      {notice.value && (
        <p class="kf-notice kf-ops-notice" role="status">
          {notice.value}{' '}
          <button type="button" class="kf-link" onClick={() => (notice.value = null)}>
            {t('app.dismiss')}
          </button>
        </p>
      )}
      {replay.value && <ReplayResult verdict={replay.value} />}
      {moveFrom.value && (
        <form
          class="kf-ops-move"
          aria-label={t('ops.move.title')}
          onSubmit={(event) => {
            event.preventDefault();
            if (moveFrom.value && moveTo.value) dialog.value = { kind: 'move', fromNodeId: moveFrom.value, toNodeId: moveTo.value };
          }}
        >
          <strong>{t('ops.move.title')}</strong>
          <label class="kf-field kf-field--inline">
            <span>{t('ops.move.from')}</span>
            <select value={moveFrom.value} onChange={(event) => (moveFrom.value = event.currentTarget.value)}>
              {activeNodeIds.map((nodeId) => (
                <option key={nodeId} value={nodeId}>
                  {nodeId}
                </option>
              ))}
            </select>
          </label>
          <label class="kf-field kf-field--inline">
            <span>{t('ops.move.to')}</span>
            <select value={moveTo.value} onChange={(event) => (moveTo.value = event.currentTarget.value)}>
              <option value="">{t('ops.move.pick')}</option>
              {nodes
                .filter((node) => node.id !== moveFrom.value && !/startEvent$/.test(node.type))
                .map((node) => (
                  <option key={node.id} value={node.id}>
                    {node.name ? `${node.name} (${node.id})` : node.id}
                  </option>
                ))}
            </select>
          </label>
          <span class="kf-muted">{t('ops.move.hint')}</span>
          <button type="submit" class="kf-button kf-button--primary" disabled={!moveTo.value}>
            {t('ops.move.submit')}
          </button>
          <button type="button" class="kf-button" onClick={() => (moveFrom.value = null)}>
            {t('app.cancel')}
          </button>
        </form>
      )}
      <div class="kf-ops-instance-body">
        <div class="kf-ops-diagram">
          {version.data && state ? (
            <OpsDiagram
              xml={version.data.xml}
              label={t('ops.diagram.label', { key: processKey, version: processVersion })}
              paint={(elements) => paintInstance(state, elements, Date.now())}
              onElementClick={(element) => {
                if (moveFrom.value && !element.sourceId && nodes.some((node) => node.id === element.id)) moveTo.value = element.id;
              }}
            />
          ) : (
            <p class="kf-muted kf-ops-diagram-empty">{version.error ? (version.error as Error).message : state ? t('app.loading') : t('ops.instance.noState')}</p>
          )}
          <ul class="kf-ops-legend" aria-label={t('ops.diagram.legend')}>
            <li class="kf-ops-legend--active">{t('ops.diagram.active')}</li>
            <li class="kf-ops-legend--done">{t('ops.diagram.done')}</li>
            <li class="kf-ops-legend--incident">{t('ops.diagram.incident')}</li>
          </ul>
        </div>
        <aside class="kf-ops-side" aria-label={t('ops.instance.details')}>
          <Facts detail={detail} children={children} />
          {state && <Incidents incidents={state.incidents} running={running} onRetry={(incident) => (dialog.value = { kind: 'retry', incident })} onSkip={(incident) => (dialog.value = { kind: 'skip', incident })} />}
          {state && <OpenTasks tasks={state.openTasks} />}
          {state && <Variables variables={state.variables} />}
        </aside>
      </div>
      <div class="kf-ops-instance-foot">
        <TimelineTable timeline={timeline.data} error={timeline.error} />
        <AuditTable entries={audit.data?.entries} error={audit.error} />
      </div>

      {dialog.value?.kind === 'retry' && (
        <VariablesActionDialog
          title={t('ops.retry.title', { node: dialog.value.incident.nodeId })}
          intro={t('ops.retry.intro')}
          confirmLabel={t('ops.action.retry')}
          required={false}
          incident={dialog.value.incident}
          run={(reason, variables) => runAction(workflowId, { kind: 'retry', incidentId: (dialog.value as { incident: Incident }).incident.id, variables }, reason)}
          onDone={done(t('ops.retry.done'))}
          onClose={() => (dialog.value = null)}
        />
      )}
      {dialog.value?.kind === 'skip' && (
        <VariablesActionDialog
          title={t('ops.skip.title', { node: dialog.value.incident.nodeId })}
          intro={t('ops.skip.intro')}
          confirmLabel={t('ops.skip.submit')}
          required
          incident={dialog.value.incident}
          run={(reason, variables) => runAction(workflowId, { kind: 'skip', incidentId: (dialog.value as { incident: Incident }).incident.id, variables: variables ?? {} }, reason)}
          onDone={done(t('ops.skip.done'))}
          onClose={() => (dialog.value = null)}
        />
      )}
      {dialog.value?.kind === 'reset' && <ResetDialog timeline={timeline.data} workflowId={workflowId} onDone={done(t('ops.reset.done'))} onClose={() => (dialog.value = null)} />}
      {dialog.value?.kind === 'move' && (
        <ActionDialog
          title={t('ops.move.title')}
          confirmLabel={t('ops.move.confirmButton')}
          run={act({ kind: 'move', fromNodeId: dialog.value.fromNodeId, toNodeId: dialog.value.toNodeId })}
          onDone={done(t('ops.move.done'))}
          onClose={() => (dialog.value = null)}
        >
          <p>{t('ops.move.confirm', { from: dialog.value.fromNodeId, to: dialog.value.toNodeId })}</p>
        </ActionDialog>
      )}
      {dialog.value?.kind === 'migrate' && state && processKey && (
        <MigrateDialog workflowId={workflowId} processKey={processKey} state={state} fromXml={version.data?.xml} onDone={done(t('ops.migrate.done'))} onClose={() => (dialog.value = null)} />
      )}
      {(dialog.value?.kind === 'cancel' || dialog.value?.kind === 'terminate') && (
        <ActionDialog
          title={t(`ops.${dialog.value.kind}.title`)}
          confirmLabel={t(`ops.${dialog.value.kind}.submit`)}
          danger
          run={act({ kind: dialog.value.kind })}
          onDone={done(t(`ops.${dialog.value.kind}.done`))}
          onClose={() => (dialog.value = null)}
        >
          <p>{t(`ops.${dialog.value.kind}.intro`)}</p>
        </ActionDialog>
      )}
    </div>
  );
}

function Facts({ detail, children }: { detail: InstanceDetail; children: string[] }) {
  return (
    <section class="kf-ops-panel" aria-labelledby="ops-facts">
      <h2 id="ops-facts">{t('ops.instance.facts')}</h2>
      <dl class="kf-ops-facts">
        <dt>{t('ops.search.businessKey')}</dt>
        <dd>{detail.businessKey ?? '—'}</dd>
        <dt>{t('ops.search.customer')}</dt>
        <dd>{detail.customerId ?? '—'}</dd>
        <dt>{t('ops.search.orgUnit')}</dt>
        <dd>{detail.orgUnitId ?? '—'}</dd>
        <dt>{t('ops.instance.parent')}</dt>
        <dd>
          {detail.parent ? (
            <a href={instanceHref(detail.parent.workflowId)}>
              <code>{detail.parent.workflowId}</code>
            </a>
          ) : (
            '—'
          )}
        </dd>
        <dt>{t('ops.instance.children')}</dt>
        <dd>
          {children.length === 0
            ? '—'
            : children.map((child) => (
                <a key={child} href={instanceHref(child)} class="kf-ops-child">
                  <code>{child}</code>
                </a>
              ))}
        </dd>
      </dl>
    </section>
  );
}

function Incidents({ incidents, running, onRetry, onSkip }: { incidents: Incident[]; running: boolean; onRetry: (incident: Incident) => void; onSkip: (incident: Incident) => void }) {
  return (
    <section class="kf-ops-panel" aria-labelledby="ops-instance-incidents">
      <h2 id="ops-instance-incidents">{t('ops.instance.incidents')}</h2>
      {incidents.length === 0 && <p class="kf-muted">{t('ops.noIncidents')}</p>}
      <ul class="kf-ops-incidents">
        {incidents.map((incident) => (
          <li key={incident.id} class="kf-ops-incident" data-node={incident.nodeId}>
            <div>
              <code>{incident.nodeId}</code> · {incident.errorType} · {t('ops.instance.attempts', { count: incident.attempts })}
            </div>
            <p class="kf-ops-error">{incident.message}</p>
            <div class="kf-ops-incident-actions">
              <button type="button" class="kf-button kf-button--small kf-button--primary" disabled={!running} onClick={() => onRetry(incident)}>
                {t('ops.action.retry')}
              </button>
              <button type="button" class="kf-button kf-button--small" disabled={!running} onClick={() => onSkip(incident)}>
                {t('ops.action.skip')}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function OpenTasks({ tasks }: { tasks: InstanceState['openTasks'] }) {
  return (
    <section class="kf-ops-panel" aria-labelledby="ops-open-tasks">
      <h2 id="ops-open-tasks">{t('ops.instance.openTasks')}</h2>
      {tasks.length === 0 && <p class="kf-muted">{t('ops.instance.noTasks')}</p>}
      <ul class="kf-ops-list">
        {tasks.map((task) => (
          <li key={task.taskId}>
            <strong>{task.name}</strong> <code>{task.nodeId}</code>
            <div class="kf-muted">
              {task.assignee ? t('ops.instance.assignee', { who: task.assignee }) : t('ops.instance.groups', { groups: task.candidateGroups.join(', ') })}
              {task.dueAt ? ` · ${t('ops.instance.due', { when: formatDateTime(task.dueAt) })}` : ''}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Variables({ variables }: { variables: Record<string, unknown> }) {
  const entries = Object.entries(variables);
  return (
    <section class="kf-ops-panel" aria-labelledby="ops-variables">
      <h2 id="ops-variables">{t('ops.instance.variables')}</h2>
      <p class="kf-muted kf-ops-hint">{t('ops.instance.variablesHint')}</p>
      {entries.length === 0 ? (
        <p class="kf-muted">—</p>
      ) : (
        <table class="kf-table kf-ops-variables">
          <caption class="kf-visually-hidden">{t('ops.instance.variables')}</caption>
          <tbody>
            {entries.map(([name, value]) => (
              <tr key={name}>
                <th scope="row">
                  <code>{name}</code>
                </th>
                <td>
                  <code>{JSON.stringify(value)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function VariablesActionDialog({
  title,
  intro,
  confirmLabel,
  required,
  incident,
  run,
  onDone,
  onClose,
}: {
  title: string;
  intro: string;
  confirmLabel: string;
  required: boolean;
  incident: Incident;
  run: (reason: string, variables: Record<string, unknown> | undefined) => Promise<unknown>;
  onDone: () => void;
  onClose: () => void;
}) {
  const text = useSignal('');
  const parsed = parseVariables(text.value, required);
  return (
    <ActionDialog title={title} confirmLabel={confirmLabel} disabledReason={parsed.problem ?? null} run={(reason) => run(reason, parsed.value)} onDone={onDone} onClose={onClose}>
      <p>{intro}</p>
      <p class="kf-ops-error">
        {incident.errorType}: {incident.message}
      </p>
      <label class="kf-field">
        <span>{t(required ? 'ops.action.outputVariables' : 'ops.action.changedVariables')}</span>
        <textarea class="kf-ops-json" rows={4} spellcheck={false} placeholder='{"name": "value"}' value={text.value} onInput={(event) => (text.value = event.currentTarget.value)} />
      </label>
    </ActionDialog>
  );
}

/** Where a reset may go: just before a node ran (its last activity), or back to a raw workflow-task event. */
export function resetCandidates(timeline: Timeline | undefined): { nodeId: string; eventId: number; at: string }[] {
  const byNode = new Map<string, { nodeId: string; eventId: number; at: string }>();
  for (const entry of timeline?.entries ?? []) {
    if (entry.kind === 'activity.scheduled' && entry.nodeId && entry.resetPointEventId) byNode.set(entry.nodeId, { nodeId: entry.nodeId, eventId: entry.resetPointEventId, at: entry.at });
  }
  return [...byNode.values()].sort((a, b) => a.eventId - b.eventId);
}

function ResetDialog({ timeline, workflowId, onDone, onClose }: { timeline: Timeline | undefined; workflowId: string; onDone: () => void; onClose: () => void }) {
  const candidates = resetCandidates(timeline);
  const choice = useSignal<string>('lastFailure');
  const action = (): InstanceAction => {
    if (choice.value === 'lastFailure') return { kind: 'reset' };
    if (choice.value.startsWith('event:')) return { kind: 'reset', eventId: Number(choice.value.slice(6)) };
    return { kind: 'reset', nodeId: choice.value.slice(5) };
  };
  return (
    <ActionDialog title={t('ops.reset.title')} confirmLabel={t('ops.reset.submit')} danger run={(reason) => runAction(workflowId, action(), reason)} onDone={onDone} onClose={onClose}>
      <p>{t('ops.reset.intro')}</p>
      <fieldset class="kf-ops-choices">
        <legend>{t('ops.reset.to')}</legend>
        <label>
          <input type="radio" name="reset" value="lastFailure" checked={choice.value === 'lastFailure'} onChange={() => (choice.value = 'lastFailure')} /> {t('ops.reset.lastFailure')}
        </label>
        {candidates.map((candidate) => (
          <label key={candidate.nodeId}>
            <input type="radio" name="reset" value={`node:${candidate.nodeId}`} checked={choice.value === `node:${candidate.nodeId}`} onChange={() => (choice.value = `node:${candidate.nodeId}`)} />{' '}
            {t('ops.reset.beforeNode', { node: candidate.nodeId })} <span class="kf-muted">({formatDateTime(candidate.at)}, #{candidate.eventId})</span>
          </label>
        ))}
      </fieldset>
      {timeline && timeline.resetPoints.length > 0 && (
        <label class="kf-field">
          <span>{t('ops.reset.event')}</span>
          <select value={choice.value.startsWith('event:') ? choice.value : ''} onChange={(event) => event.currentTarget.value && (choice.value = event.currentTarget.value)}>
            <option value="">—</option>
            {timeline.resetPoints.map((point) => (
              <option key={point.eventId} value={`event:${point.eventId}`}>
                #{point.eventId} · {formatDateTime(point.at)}
              </option>
            ))}
          </select>
        </label>
      )}
    </ActionDialog>
  );
}

function ReplayResult({ verdict }: { verdict: ReplayVerdict | string }) {
  if (verdict === 'running') return <p class="kf-notice kf-ops-notice" role="status">{t('ops.replay.running')}</p>;
  if (typeof verdict === 'string') return <p class="kf-notice kf-ops-notice" role="status">{verdict}</p>;
  return (
    <p class={verdict.deterministic ? 'kf-notice kf-ops-notice kf-ops-notice--ok' : 'kf-banner kf-ops-notice'} role="status" data-replay={verdict.deterministic ? 'ok' : 'diverged'}>
      {verdict.deterministic
        ? t('ops.replay.ok')
        : t('ops.replay.diverged', { event: verdict.divergentEvent ? `#${verdict.divergentEvent.eventId} ${verdict.divergentEvent.eventType}` : '?', message: verdict.error?.message ?? '' })}
    </p>
  );
}

const timelineShown = new Set(['instance.started', 'instance.completed', 'instance.failed', 'instance.terminated', 'instance.cancelled', 'instance.continuedAsNew', 'instance.timedOut', 'node.entered', 'node.left', 'activity.failed', 'activity.timedOut', 'activity.completed', 'activity.started', 'timer.started', 'timer.fired', 'timer.cancelled', 'signal.received', 'update.accepted', 'update.completed', 'child.initiated', 'child.completed', 'child.failed', 'workflowTask.failed']);

function TimelineTable({ timeline, error }: { timeline: Timeline | undefined; error: unknown }) {
  const resetPoints = new Set(resetCandidates(timeline).map((candidate) => candidate.eventId));
  const entries = (timeline?.entries ?? []).filter((entry) => timelineShown.has(entry.kind));
  return (
    <section class="kf-ops-panel kf-ops-timeline" aria-labelledby="ops-timeline" tabIndex={0}>
      <h2 id="ops-timeline">{t('ops.instance.timeline')}</h2>
      {error ? <p class="kf-error" role="alert">{(error as Error).message}</p> : null}
      <table class="kf-table">
        <caption class="kf-visually-hidden">{t('ops.instance.timeline')}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t('ops.timeline.at')}</th>
            <th scope="col">{t('ops.timeline.what')}</th>
            <th scope="col">{t('ops.column.node')}</th>
            <th scope="col">{t('ops.timeline.detail')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry, index) => (
            <tr key={`${entry.eventId}-${index}`} data-kind={entry.kind} class={entry.error ? 'kf-ops-timeline-error' : undefined}>
              <td class="kf-num">{entry.eventId}</td>
              <td>{formatDateTime(entry.at)}</td>
              <td>
                {t(`ops.timeline.kind.${entry.kind.replace('.', '_')}`, { defaultValue: entry.kind })}
                {entry.attempt && entry.attempt > 1 ? ` (${t('ops.timeline.attempt', { attempt: entry.attempt })})` : ''}
                {entry.resetPointEventId && resetPoints.has(entry.resetPointEventId) && entry.kind === 'activity.scheduled' ? ' ⟲' : ''}
              </td>
              <td>{entry.nodeId ? <code>{entry.nodeId}</code> : ''}</td>
              <td class={entry.error || entry.previousAttemptError ? 'kf-ops-error' : 'kf-ops-detail'}>{entry.error?.message ?? entry.previousAttemptError ?? entry.name ?? entry.activityType ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AuditTable({ entries, error }: { entries: { id: number; at: string; actor: string; action: string; details: Record<string, unknown> & { reason?: string; result?: string; error?: { code: string; message: string } } }[] | undefined; error: unknown }) {
  return (
    <section class="kf-ops-panel kf-ops-audit" aria-labelledby="ops-audit" tabIndex={0}>
      <h2 id="ops-audit">{t('ops.instance.audit')}</h2>
      {error ? <p class="kf-error" role="alert">{(error as Error).message}</p> : null}
      {entries && entries.length === 0 && <p class="kf-muted">{t('ops.instance.noAudit')}</p>}
      {entries && entries.length > 0 && (
        <table class="kf-table">
          <caption class="kf-visually-hidden">{t('ops.instance.audit')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('ops.timeline.at')}</th>
              <th scope="col">{t('ops.audit.who')}</th>
              <th scope="col">{t('ops.audit.action')}</th>
              <th scope="col">{t('ops.action.reason')}</th>
              <th scope="col">{t('ops.audit.result')}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id} data-action={entry.action}>
                <td>{formatDateTime(entry.at)}</td>
                <td>{entry.actor}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>{entry.details.reason ?? ''}</td>
                <td class={entry.details.result === 'failed' ? 'kf-error' : undefined}>
                  {entry.details.result === 'failed' ? `${t('ops.audit.failed')}: ${entry.details.error?.code ?? ''}` : t('ops.audit.succeeded')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
