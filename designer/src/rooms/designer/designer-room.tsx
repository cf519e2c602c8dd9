import { useSignal } from '@preact/signals';
import { useQuery } from '@tanstack/preact-query';
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { t } from '../../i18n';
import { formatDateTime } from '../../ui/data-table';
import { DecisionEditor, type DecisionView } from './decisions/decision-editor';
import { latestPerKey, listDecisions, listDefinitions, loadActivityTypes, loadCandidateGroups } from './designer-api';
import { DiffView } from './diff-view';
import { Editor } from './editor';
import { modelingCatalogue } from './modeler/kf-properties/catalogue';
import { setKnownTaskTypes } from './modeler/lint/keyflow-rules';
import './designer.css';

/** Which designer page a path names: the list, a new model, a process (at a version), a diff, or a decision. */
export type DesignerView = { kind: 'home' } | { kind: 'new' } | { kind: 'edit'; key: string; version?: number } | { kind: 'diff'; key: string; from: number; to: number } | DecisionView;

export function designerView(path: string, query: Record<string, string>): DesignerView {
  const parts = path.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const version = Number(query.version);
  const pinned = Number.isSafeInteger(version) && version > 0 ? { version } : {};
  if (parts.length === 0) return { kind: 'home' };
  if (parts[0] === 'new' && parts.length === 1) return { kind: 'new' };
  // Decisions live under /designer/decisions/<key> (/new for a fresh document).
  if (parts[0] === 'decisions' && parts.length === 2) return parts[1] === 'new' ? { kind: 'decision', key: null } : { kind: 'decision', key: parts[1]!, ...pinned };
  const key = parts[0]!;
  if (parts[1] === 'diff' && parts.length === 4) return { kind: 'diff', key, from: Number(parts[2]), to: Number(parts[3]) };
  return { kind: 'edit', key, ...pinned };
}

/** The designer: deployed processes on the left, the model being edited (or a diff) beside them. */
export function DesignerRoom() {
  const { path, query } = useLocation();
  const view = designerView(path, query);
  const filter = useSignal('');
  const definitions = useQuery({ queryKey: ['process-definitions'], queryFn: listDefinitions });
  const activityTypes = useQuery({ queryKey: ['activity-types'], queryFn: loadActivityTypes, staleTime: Infinity });
  const groups = useQuery({ queryKey: ['candidate-groups'], queryFn: loadCandidateGroups, staleTime: Infinity });
  const decisions = useQuery({ queryKey: ['decision-definitions'], queryFn: listDecisions });
  const processes = latestPerKey(definitions.data ?? []);
  const decisionKeys = latestPerKey(decisions.data ?? []);

  useEffect(() => {
    if (activityTypes.data) setKnownTaskTypes(activityTypes.data.map((entry) => entry.type));
    modelingCatalogue.value = {
      activityTypes: activityTypes.data ?? [],
      candidateGroups: groups.data ?? [],
      processes: processes.map((entry) => ({ key: entry.key, name: entry.name, latestVersion: entry.version })),
      decisions: decisionKeys.map((entry) => ({ key: entry.key, name: entry.name, latestVersion: entry.version })),
    };
  }, [activityTypes.data, groups.data, definitions.data, decisions.data]);

  const needle = filter.value.trim().toLowerCase();
  const shown = needle ? processes.filter((entry) => entry.key.toLowerCase().includes(needle) || (entry.name ?? '').toLowerCase().includes(needle)) : processes;
  const selectedKey = view.kind === 'edit' || view.kind === 'diff' ? view.key : null;
  const selectedDecision = view.kind === 'decision' ? view.key : null;
  const shownDecisions = needle ? decisionKeys.filter((entry) => entry.key.toLowerCase().includes(needle) || (entry.name ?? '').toLowerCase().includes(needle)) : decisionKeys;

  return (
    <div class="kf-designer">
      <aside class="kf-process-list" aria-labelledby="process-list-title">
        <div class="kf-process-list-head">
          <h1 id="process-list-title">{t('designer.processes')}</h1>
          <a class="kf-button kf-button--small" href="/designer/new">
            {t('designer.new')}
          </a>
        </div>
        <label class="kf-search">
          <span class="kf-visually-hidden">{t('designer.filterProcesses')}</span>
          <input type="search" placeholder={t('designer.filterProcesses')} value={filter.value} onInput={(event) => (filter.value = event.currentTarget.value)} />
        </label>
        {definitions.isLoading && <p class="kf-muted" role="status">{t('app.loading')}</p>}
        {definitions.error ? <p class="kf-error" role="alert">{(definitions.error as Error).message}</p> : null}
        <ul class="kf-process-items">
          {shown.map((entry) => (
            <li key={entry.key}>
              <a href={`/designer/${encodeURIComponent(entry.key)}`} class={entry.key === selectedKey ? 'kf-process-item kf-process-item--current' : 'kf-process-item'} aria-current={entry.key === selectedKey ? 'page' : undefined}>
                <span class="kf-process-name">{entry.name ?? entry.key}</span>
                <span class="kf-process-meta">
                  <code>{entry.key}</code> · {t('designer.versionCount', { count: entry.versions })}
                </span>
                <span class="kf-process-meta">{t('designer.deployedByAt', { who: entry.deployedBy, when: formatDateTime(entry.deployedAt) })}</span>
              </a>
            </li>
          ))}
        </ul>
        <div class="kf-process-list-head kf-decision-list-head">
          <h2 id="decision-list-title">{t('decision.listTitle')}</h2>
          <a class="kf-button kf-button--small" href="/designer/decisions/new">
            {t('decision.new')}
          </a>
        </div>
        <ul class="kf-process-items" aria-labelledby="decision-list-title">
          {shownDecisions.map((entry) => (
            <li key={entry.key}>
              <a
                href={`/designer/decisions/${encodeURIComponent(entry.key)}`}
                class={entry.key === selectedDecision ? 'kf-process-item kf-process-item--current' : 'kf-process-item'}
                aria-current={entry.key === selectedDecision ? 'page' : undefined}
              >
                <span class="kf-process-name">{entry.name ?? entry.key}</span>
                <span class="kf-process-meta">
                  <code>{entry.key}</code> · {t('designer.versionCount', { count: entry.versions })}
                </span>
              </a>
            </li>
          ))}
        </ul>
      </aside>
      <section class="kf-designer-main" aria-label={t('designer.workspace')}>
        {view.kind === 'home' && (
          <div class="kf-empty-state">
            <h2>{t('designer.emptyTitle')}</h2>
            <p>{t('designer.emptyBody')}</p>
            <a class="kf-button kf-button--primary" href="/designer/new">
              {t('designer.new')}
            </a>
          </div>
        )}
        {(view.kind === 'edit' || view.kind === 'new') && <Editor key={view.kind === 'edit' ? `${view.key}@${view.version ?? 'latest'}` : 'new'} view={view} definitions={definitions.data ?? []} />}
        {view.kind === 'decision' && <DecisionEditor key={`${view.key ?? 'new'}@${view.version ?? 'latest'}`} view={view} versions={decisions.data ?? []} />}
        {view.kind === 'diff' && <DiffView key={`${view.key}:${view.from}:${view.to}`} processKey={view.key} from={view.from} to={view.to} definitions={definitions.data ?? []} />}
      </section>
    </div>
  );
}
