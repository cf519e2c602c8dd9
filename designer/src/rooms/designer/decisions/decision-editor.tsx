import { useSignal } from '@preact/signals';
import { useQueryClient } from '@tanstack/preact-query';
import type DmnModeler from 'dmn-js/lib/Modeler';
import type { DmnViewer } from 'dmn-js/lib/Modeler';
import { useEffect, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiRequestError } from '../../../api/client';
import { t } from '../../../i18n';
import { formatDateTime } from '../../../ui/data-table';
import { downloadFile } from '../../../ui/download';
import { Modal } from '../../../ui/modal';
import { ProblemsPanel, type ListedProblem } from '../problems-panel';
import { createDecisionModeler, decisionHolding, decisionOfView } from './create-decision-modeler';
import { blankDecisionXml, deployDecisions, loadDecision, type DecisionEvaluation, type DecisionProblem, type DecisionSummary } from './decision-api';
import { EvaluateDialog } from './evaluate-dialog';

declare global {
  interface Window {
    /** The open decision modeler, for the browser tests and for designers who script it. */
    keyflowDecisionModeler?: DmnModeler;
  }
}

export type DecisionView = { kind: 'decision'; key: string | null; version?: number };
type Dialog = 'history' | 'evaluate' | null;

/**
 * A DMN document open for editing in dmn-js: the decision requirements diagram and each decision's
 * table, the server's problems marked on their cells, deploy, the versions, and a test run of the
 * deployed table against variables with the matching rules marked.
 */
export function DecisionEditor({ view, versions }: { view: DecisionView; versions: readonly DecisionSummary[] }) {
  const canvasRef = useRef<HTMLDivElement>(null);
  const modelerRef = useRef<DmnModeler | null>(null);
  const decisionKey = useSignal<string>(view.key ?? '');
  const loadedVersion = useSignal<number | null>(null);
  const loadError = useSignal<string | null>(null);
  const problems = useSignal<DecisionProblem[]>([]);
  const matchedRules = useSignal<string[]>([]);
  const dirty = useSignal(false);
  const busy = useSignal(false);
  const dialog = useSignal<Dialog>(null);
  const toast = useSignal<string | null>(null);
  const activeDecision = useSignal<string | null>(null);
  const queryClient = useQueryClient();
  const { route } = useLocation();

  const ownVersions = versions.filter((entry) => entry.key === decisionKey.value).sort((a, b) => b.version - a.version);
  const latest = ownVersions[0]?.version ?? null;

  /** Marks problem cells and matched rules in the table on screen (dmn-js re-renders on every change). */
  const mark = () => {
    const container = canvasRef.current;
    if (!container) return;
    for (const marked of container.querySelectorAll('.kf-dmn-problem, .kf-dmn-matched')) marked.classList.remove('kf-dmn-problem', 'kf-dmn-matched');
    for (const problem of problems.value) {
      for (const cell of container.querySelectorAll(`[data-element-id="${CSS.escape(problem.elementId)}"], [data-row-id="${CSS.escape(problem.elementId)}"]`)) cell.classList.add('kf-dmn-problem');
    }
    for (const ruleId of matchedRules.value) for (const cell of container.querySelectorAll(`[data-row-id="${CSS.escape(ruleId)}"]`)) cell.classList.add('kf-dmn-matched');
  };

  const watched = useRef(new WeakSet<DmnViewer>()).current;
  const watchActiveViewer = (modeler: DmnModeler) => {
    const viewer = modeler.getActiveViewer();
    if (!viewer || watched.has(viewer)) return;
    watched.add(viewer);
    viewer.on('elements.changed', () => {
      dirty.value = true;
      requestAnimationFrame(mark);
    });
  };

  const openDecision = async (decisionId: string) => {
    const modeler = modelerRef.current!;
    const target = modeler.getViews().find((candidate) => candidate.element.id === decisionId && candidate.type !== 'drd');
    if (target && modeler.getActiveView() !== target) await modeler.open(target);
  };

  const importXml = async (xml: string) => {
    const modeler = modelerRef.current!;
    await modeler.importXML(xml);
    const decisions = modeler.getViews().filter((candidate) => candidate.type !== 'drd');
    // One decision: straight to its table; several: the diagram shows how they depend on each other.
    if (decisions.length === 1) await modeler.open(decisions[0]!);
    dirty.value = false;
    const first = modeler.getDefinitions()?.drgElement?.find((element: any) => element.$type === 'dmn:Decision');
    if (!decisionKey.value && first) decisionKey.value = first.id;
  };

  useEffect(() => {
    let modeler: DmnModeler | null = null;
    let cancelled = false;
    void createDecisionModeler(canvasRef.current!).then(async (created) => {
      if (cancelled) return created.destroy();
      modeler = created;
      modelerRef.current = created;
      window.keyflowDecisionModeler = created;
      created.on('views.changed', ({ activeView }: { activeView?: { type: string; element: { id: string; $type: string } } }) => {
        activeDecision.value = decisionOfView(activeView);
        watchActiveViewer(created);
        requestAnimationFrame(mark);
      });
      try {
        const xml = view.key ? await loadDecision(view.key, view.version).then((decision) => ((loadedVersion.value = decision.version), decision.xml)) : blankDecisionXml(`decision_${Date.now().toString(36)}`, t('decision.newName'));
        await importXml(xml);
      } catch (error) {
        loadError.value = error instanceof ApiRequestError && error.status === 404 ? t('decision.notFound', { key: view.key ?? '' }) : (error as Error).message;
      }
    });
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
        event.preventDefault();
        void deploy();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      cancelled = true;
      document.removeEventListener('keydown', onKey);
      if (modeler) {
        if (window.keyflowDecisionModeler === modeler) delete window.keyflowDecisionModeler;
        modeler.destroy();
      }
    };
  }, []);

  useEffect(() => mark(), [problems.value, matchedRules.value]);

  const deploy = async () => {
    const modeler = modelerRef.current;
    if (!modeler || busy.value) return;
    busy.value = true;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const deployed = await deployDecisions(xml);
      problems.value = [];
      dirty.value = false;
      await queryClient.invalidateQueries({ queryKey: ['decision-definitions'] });
      const created = deployed.decisions.filter((entry) => entry.created);
      toast.value = created.length
        ? t('decision.deployed', { list: created.map((entry) => `${entry.key} v${entry.version}`).join(', ') })
        : t('decision.deployedSame', { list: deployed.decisions.map((entry) => `${entry.key} v${entry.version}`).join(', ') });
      const own = deployed.decisions.find((entry) => entry.key === decisionKey.value) ?? deployed.decisions[0];
      if (own) {
        loadedVersion.value = own.version;
        if (view.key !== own.key) route(`/designer/decisions/${encodeURIComponent(own.key)}`);
      }
    } catch (error) {
      if (error instanceof ApiRequestError && error.code === 'VALIDATION_FAILED' && Array.isArray(error.details)) {
        problems.value = error.details as DecisionProblem[];
        toast.value = t('decision.deployRefused', { count: problems.value.length });
      } else toast.value = (error as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const selectProblem = async (elementId: string) => {
    const modeler = modelerRef.current;
    if (!modeler) return;
    const decisionId = decisionHolding(modeler.getDefinitions(), elementId);
    if (decisionId) await openDecision(decisionId);
    requestAnimationFrame(() => {
      mark();
      const cell = canvasRef.current?.querySelector<HTMLElement>(`[data-element-id="${CSS.escape(elementId)}"], [data-row-id="${CSS.escape(elementId)}"]`);
      cell?.scrollIntoView({ block: 'center', inline: 'nearest' });
      cell?.focus?.();
    });
  };

  const onEvaluated = async (evaluation: DecisionEvaluation) => {
    const own = evaluation.decisions.find((entry) => entry.decisionId === evaluation.decisionKey);
    matchedRules.value = own?.matchedRuleIds ?? [];
    await openDecision(evaluation.decisionKey);
    requestAnimationFrame(mark);
  };

  const download = async () => downloadFile((await modelerRef.current!.saveXML({ format: true })).xml, 'application/xml', `${decisionKey.value || 'decision'}.dmn`);

  const listed: ListedProblem[] = problems.value.map((problem) => ({ source: 'server', elementId: problem.elementId, message: `${problem.message} [${problem.code}]`, severity: 'error' }));
  const evaluateKey = activeDecision.value ?? decisionKey.value;
  const deployedKeys = new Set(versions.map((entry) => entry.key));

  return (
    <div class="kf-editor">
      <div class="kf-toolbar" role="toolbar" aria-label={t('decision.toolbar')}>
        <div class="kf-toolbar-title">
          <h2>{decisionKey.value || t('decision.newName')}</h2>
          <span class="kf-muted">
            {loadedVersion.value ? t('designer.basedOn', { version: loadedVersion.value, latest: latest ?? loadedVersion.value }) : t('designer.notDeployed')}
            {dirty.value ? ` · ${t('designer.unsaved')}` : ''}
          </span>
        </div>
        <div class="kf-toolbar-group">
          <button type="button" class="kf-button" onClick={() => void modelerRef.current?.open(modelerRef.current.getViews().find((candidate) => candidate.type === 'drd')!)}>
            {t('decision.diagram')}
          </button>
          <button type="button" class="kf-button" onClick={() => void download()}>
            {t('designer.exportXml')}
          </button>
        </div>
        <div class="kf-toolbar-group kf-toolbar-end">
          <button type="button" class="kf-button" disabled={!evaluateKey || !deployedKeys.has(evaluateKey)} title={evaluateKey && !deployedKeys.has(evaluateKey) ? t('decision.evaluateNeedsDeploy') : undefined} onClick={() => (dialog.value = 'evaluate')}>
            {t('decision.evaluate')}
          </button>
          <button type="button" class="kf-button" disabled={ownVersions.length === 0} onClick={() => (dialog.value = 'history')}>
            {t('designer.history')}
          </button>
          <button type="button" class="kf-button kf-button--primary" disabled={busy.value} onClick={() => void deploy()} title="Ctrl+S">
            {t('designer.deploy')}
          </button>
        </div>
      </div>
      {loadError.value && (
        <p class="kf-error kf-banner" role="alert">
          {loadError.value}
        </p>
      )}
      <div class="kf-editor-body">
        <div class="kf-canvas kf-dmn-canvas" ref={canvasRef} aria-label={t('decision.canvas')} role="region" />
      </div>
      <ProblemsPanel problems={listed} onSelect={(elementId) => void selectProblem(elementId)} />
      {toast.value && (
        <div class="kf-toast" role="status" aria-live="polite">
          <span>{toast.value}</span>
          <button type="button" class="kf-button kf-button--quiet" aria-label={t('app.dismiss')} onClick={() => (toast.value = null)}>
            ×
          </button>
        </div>
      )}
      {dialog.value === 'evaluate' && evaluateKey && <EvaluateDialog decisionKey={evaluateKey} modeler={modelerRef.current!} onClose={() => (dialog.value = null)} onEvaluated={(evaluation) => void onEvaluated(evaluation)} />}
      {dialog.value === 'history' && (
        <Modal title={t('decision.historyTitle', { key: decisionKey.value })} onClose={() => (dialog.value = null)} wide>
          <table class="kf-table">
            <caption class="kf-visually-hidden">{t('decision.historyTitle', { key: decisionKey.value })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('history.version')}</th>
                <th scope="col">{t('history.deployedBy')}</th>
                <th scope="col">{t('history.deployedAt')}</th>
                <th scope="col">
                  <span class="kf-visually-hidden">{t('history.open')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {ownVersions.map((version) => (
                <tr key={version.version}>
                  <td>v{version.version}</td>
                  <td>{version.deployedBy}</td>
                  <td>{formatDateTime(version.deployedAt)}</td>
                  <td>
                    <a href={`/designer/decisions/${encodeURIComponent(version.key)}?version=${version.version}`} onClick={() => (dialog.value = null)}>
                      {t('history.open')}
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Modal>
      )}
    </div>
  );
}
