import { useSignal } from '@preact/signals';
import { useQueryClient } from '@tanstack/preact-query';
import type Modeler from 'bpmn-js/lib/Modeler';
import { useEffect, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiRequestError } from '../../api/client';
import { language, t } from '../../i18n';
import { checkModel, loadDefinition, type DefinitionSummary } from './designer-api';
import { DeployDialog } from './deploy-dialog';
import { FormDesignerDialog } from './form-designer-dialog';
import type { DesignerView } from './designer-room';
import { HistoryDialog } from './history-dialog';
import { blankProcessXml, createModeler } from './modeler/create-modeler';
import { editFormEvent } from './modeler/kf-properties/element-form';
import type { ServerProblem } from './modeler/problems/server-problems';
import { downloadFile } from '../../ui/download';
import { ProblemsPanel, type ListedProblem } from './problems-panel';
import { readModelFile } from './read-model-file';
import { ShortcutsDialog } from './shortcuts-dialog';

declare global {
  interface Window {
    /** The open modeler, for the browser tests and for designers who script it from devtools. */
    keyflowModeler?: Modeler;
  }
}

type Dialog = 'deploy' | 'history' | 'shortcuts' | 'form' | null;
type DiagramElement = { id: string; type: string; businessObject: any };

/** One model open for editing: canvas, properties, problems, and the toolbar that acts on it. */
export function Editor({ view, definitions }: { view: Extract<DesignerView, { kind: 'edit' | 'new' }>; definitions: readonly DefinitionSummary[] }) {
  const canvasRef = useRef<HTMLDivElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const modelerRef = useRef<Modeler | null>(null);
  const processKey = useSignal<string>(view.kind === 'edit' ? view.key : '');
  const loadedVersion = useSignal<number | null>(null);
  const loadError = useSignal<string | null>(null);
  const lintProblems = useSignal<ListedProblem[]>([]);
  const serverProblems = useSignal<ServerProblem[]>([]);
  const dirty = useSignal(false);
  const canUndo = useSignal(false);
  const canRedo = useSignal(false);
  const dialog = useSignal<Dialog>(null);
  const toast = useSignal<string | null>(null);
  const openMs = useSignal<number | null>(null);
  const formElement = useSignal<DiagramElement | null>(null);
  const queryClient = useQueryClient();
  const { route } = useLocation();

  const versions = definitions.filter((entry) => entry.key === processKey.value).sort((a, b) => b.version - a.version);
  const latest = versions[0]?.version ?? null;

  const importXml = async (xml: string) => {
    const modeler = modelerRef.current!;
    const started = performance.now();
    await modeler.importXML(xml);
    modeler.get('canvas').zoom('fit-viewport', 'auto');
    openMs.value = Math.round(performance.now() - started);
    dirty.value = false;
    processKey.value = modeler.getDefinitions().rootElements?.find((root: any) => root.$type === 'bpmn:Process')?.id ?? processKey.value;
  };

  useEffect(() => {
    const modeler = createModeler(canvasRef.current!, panelRef.current!);
    modelerRef.current = modeler;
    window.keyflowModeler = modeler;
    modeler.on('linting.completed', ({ issues }: { issues: Record<string, { id: string; message: string; category: string; actualElementId?: string }[]> }) => {
      lintProblems.value = Object.values(issues)
        .flat()
        .map((issue) => ({ source: 'lint' as const, elementId: issue.actualElementId ?? issue.id, message: issue.message, severity: issue.category === 'warn' ? ('warning' as const) : ('error' as const) }));
    });
    modeler.on(editFormEvent, ({ element }: { element: DiagramElement }) => {
      formElement.value = element;
      dialog.value = 'form';
    });
    modeler.on('serverProblems.changed', ({ problems }: { problems: ServerProblem[] }) => (serverProblems.value = problems));
    modeler.on('commandStack.changed', () => {
      const commandStack = modeler.get('commandStack');
      dirty.value = true;
      canUndo.value = commandStack.canUndo();
      canRedo.value = commandStack.canRedo();
      const id = modeler.getDefinitions().rootElements?.find((root: any) => root.$type === 'bpmn:Process')?.id;
      if (id) processKey.value = id;
    });
    const load = view.kind === 'edit' ? loadDefinition(view.key, view.version).then((definition) => ((loadedVersion.value = definition.version), definition.xml)) : Promise.resolve(blankProcessXml(`process_${Date.now().toString(36)}`, t('designer.newProcessName')));
    load.then(importXml).catch((error: unknown) => {
      loadError.value = error instanceof ApiRequestError && error.status === 404 ? t('designer.notFound', { key: view.kind === 'edit' ? view.key : '' }) : (error as Error).message;
    });
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
        event.preventDefault();
        dialog.value = 'deploy';
      } else if (!typing && event.key === '?' && !dialog.value) {
        dialog.value = 'shortcuts';
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      if (window.keyflowModeler === modeler) delete window.keyflowModeler;
      modeler.destroy();
    };
  }, []);

  // The panel and the linter's button render outside the app's tree: redraw them in the new language.
  useEffect(() => {
    const modeler = modelerRef.current;
    if (!modeler?.getDefinitions()) return;
    modeler.get('eventBus').fire('propertiesPanel.providersChanged');
    modeler.get('linting').update();
  }, [language.value]);

  const currentXml = async () => (await modelerRef.current!.saveXML({ format: true })).xml;


  const showServerProblems = (problems: ServerProblem[]) => modelerRef.current!.get('serverProblems').show(problems);

  const onImport = async (file: File) => {
    let text: string;
    try {
      text = await readModelFile(file);
    } catch (error) {
      toast.value = t('designer.importFailed', { message: (error as Error).message });
      return;
    }
    loadError.value = null;
    try {
      await importXml(text);
    } catch (error) {
      toast.value = t('designer.importFailed', { message: (error as Error).message });
    }
    // The server's verdict on the file as it came, marked on the diagram.
    const { problems } = await checkModel(text);
    if (modelerRef.current?.getDefinitions()) showServerProblems(problems);
    else serverProblems.value = problems;
    toast.value = problems.length ? t('designer.importedWithProblems', { count: problems.length }) : t('designer.imported');
  };

  const onCheck = async () => {
    const { problems } = await checkModel(await currentXml());
    showServerProblems(problems);
    toast.value = problems.length ? t('designer.checkProblems', { count: problems.length }) : t('designer.checkClean');
  };

  const selectElement = (elementId: string) => {
    const modeler = modelerRef.current!;
    const element = modeler.get('elementRegistry').get(elementId);
    if (!element) return;
    modeler.get('selection').select(element);
    modeler.get('canvas').scrollToElement(element);
  };

  // The linter runs the deploy's own rules, so it often says what the server said: list that once.
  const fromServer: ListedProblem[] = serverProblems.value.map((problem) => ({ source: 'server', elementId: problem.elementId, message: `${problem.message} [${problem.code}]`, severity: 'error' }));
  const said = new Set(fromServer.map((problem) => `${problem.elementId}\u0000${problem.message}`));
  const problems: ListedProblem[] = [...fromServer, ...lintProblems.value.filter((problem) => !said.has(`${problem.elementId}\u0000${problem.message}`))];

  return (
    <div class="kf-editor">
      <div class="kf-toolbar" role="toolbar" aria-label={t('designer.toolbar')}>
        <div class="kf-toolbar-title">
          <h2>{processKey.value || t('designer.newProcessName')}</h2>
          <span class="kf-muted">
            {loadedVersion.value ? t('designer.basedOn', { version: loadedVersion.value, latest: latest ?? loadedVersion.value }) : t('designer.notDeployed')}
            {dirty.value ? ` · ${t('designer.unsaved')}` : ''}
          </span>
        </div>
        <div class="kf-toolbar-group">
          <button type="button" class="kf-button kf-button--icon" disabled={!canUndo.value} onClick={() => modelerRef.current!.get('commandStack').undo()} title={`${t('designer.undo')} (Ctrl+Z)`} aria-label={t('designer.undo')}>
            ↶
          </button>
          <button type="button" class="kf-button kf-button--icon" disabled={!canRedo.value} onClick={() => modelerRef.current!.get('commandStack').redo()} title={`${t('designer.redo')} (Ctrl+Y)`} aria-label={t('designer.redo')}>
            ↷
          </button>
          <button type="button" class="kf-button" onClick={() => modelerRef.current!.get('editorActions').trigger('find')} title="Ctrl+F">
            {t('designer.find')}
          </button>
          <button type="button" class="kf-button" onClick={() => modelerRef.current!.get('minimap').toggle()}>
            {t('designer.minimap')}
          </button>
        </div>
        <div class="kf-toolbar-group">
          <button type="button" class="kf-button" onClick={() => fileRef.current!.click()}>
            {t('designer.import')}
          </button>
          <input ref={fileRef} type="file" accept=".bpmn,.xml,application/xml,text/xml" class="kf-visually-hidden" tabIndex={-1} aria-label={t('designer.import')} onChange={(event) => {
            const file = event.currentTarget.files?.[0];
            event.currentTarget.value = '';
            if (file) void onImport(file);
          }} />
          <button type="button" class="kf-button" onClick={() => void currentXml().then((xml) => downloadFile(xml, 'application/xml', `${processKey.value || 'process'}.bpmn`))}>
            {t('designer.exportXml')}
          </button>
          <button type="button" class="kf-button" onClick={() => void modelerRef.current!.saveSVG().then(({ svg }) => downloadFile(svg, 'image/svg+xml', `${processKey.value || 'process'}.svg`))}>
            {t('designer.exportSvg')}
          </button>
        </div>
        <div class="kf-toolbar-group kf-toolbar-end">
          <button type="button" class="kf-button" onClick={() => void onCheck()}>
            {t('designer.check')}
          </button>
          <button type="button" class="kf-button" disabled={versions.length === 0} onClick={() => (dialog.value = 'history')}>
            {t('designer.history')}
          </button>
          <button type="button" class="kf-button kf-button--primary" onClick={() => (dialog.value = 'deploy')} title="Ctrl+S">
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
        <div class="kf-canvas" ref={canvasRef} data-open-ms={openMs.value ?? undefined} aria-label={t('designer.canvas')} role="application" />
        <div class="kf-properties" ref={panelRef} aria-label={t('designer.properties')} role="region" />
      </div>
      <ProblemsPanel problems={problems} onSelect={selectElement} />
      {toast.value && (
        <div class="kf-toast" role="status" aria-live="polite">
          <span>{toast.value}</span>
          <button type="button" class="kf-button kf-button--quiet" aria-label={t('app.dismiss')} onClick={() => (toast.value = null)}>
            ×
          </button>
        </div>
      )}
      {dialog.value === 'deploy' && (
        <DeployDialog
          processKey={processKey.value}
          modeler={modelerRef.current!}
          onClose={() => (dialog.value = null)}
          onProblems={(found) => {
            showServerProblems(found);
            toast.value = t('designer.deployRefused', { count: found.length });
          }}
          onDeployed={async (deployed) => {
            dirty.value = false;
            // A collaboration deploys each executable pool: say which, and which pools stayed out.
            toast.value =
              deployed.processes.length > 1 || deployed.skipped.length > 0
                ? t('designer.deployedPools', {
                    list: deployed.processes.map((entry) => `${entry.key} v${entry.version}`).join(', '),
                    skipped: deployed.skipped.length ? t('designer.skippedPools', { list: deployed.skipped.map((entry) => entry.name ?? entry.processId).join(', ') }) : '',
                  })
                : deployed.created
                  ? t('designer.deployed', { key: deployed.key, version: deployed.version })
                  : t('designer.deployedSame', { version: deployed.version });
            await queryClient.invalidateQueries({ queryKey: ['process-definitions'] });
            loadedVersion.value = deployed.version;
            if (view.kind === 'new' || view.key !== deployed.key) route(`/designer/${encodeURIComponent(deployed.key)}`);
          }}
        />
      )}
      {dialog.value === 'history' && <HistoryDialog processKey={processKey.value} versions={versions} onClose={() => (dialog.value = null)} />}
      {dialog.value === 'shortcuts' && <ShortcutsDialog onClose={() => (dialog.value = null)} />}
      {dialog.value === 'form' && formElement.value && (
        <FormDesignerDialog
          modeler={modelerRef.current!}
          element={formElement.value}
          onClose={() => (dialog.value = null)}
          onSaved={(count) => {
            dialog.value = null;
            toast.value = count === null ? t('form.removed') : t('form.saved', { count });
          }}
        />
      )}
    </div>
  );
}
