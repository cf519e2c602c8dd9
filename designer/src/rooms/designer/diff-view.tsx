import { useSignal } from '@preact/signals';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { diff } from 'bpmn-js-differ';
import { BpmnModdle } from 'bpmn-moddle';
import { useEffect, useRef } from 'preact/hooks';
import kfDescriptor from '../../../../workflows/bpmn/kf.json';
import { t } from '../../i18n';
import { loadDefinition, type DefinitionSummary } from './designer-api';

export interface ModelChange {
  elementId: string;
  name: string;
  kind: 'added' | 'removed' | 'changed' | 'layout';
  type: string;
  properties: { name: string; before: string; after: string }[];
}

function display(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'object') {
    const element = value as { $type?: string; body?: string; id?: string; name?: string };
    return element.body ?? element.name ?? element.id ?? element.$type ?? JSON.stringify(value);
  }
  return String(value);
}

/** What changed between two parsed models, element by element, as bpmn-js-differ sees it. */
export function modelChanges(before: any, after: any): ModelChange[] {
  const result = diff(before, after);
  const entry = (kind: ModelChange['kind'], element: any, properties: ModelChange['properties'] = []): ModelChange => ({
    elementId: element.id,
    name: element.name ?? '',
    kind,
    type: String(element.$type ?? '').replace(/^bpmn:/, ''),
    properties,
  });
  return [
    ...Object.values(result._added).map((element) => entry('added', element)),
    ...Object.values(result._removed).map((element) => entry('removed', element)),
    ...Object.values(result._changed).map((change) =>
      entry(
        'changed',
        change.model,
        Object.entries(change.attrs).map(([name, values]) => ({ name, before: display(values.oldValue), after: display(values.newValue) })),
      ),
    ),
    ...Object.values(result._layoutChanged)
      .filter((element) => !result._changed[element.id])
      .map((element) => entry('layout', element)),
  ].filter((change) => !/^(BPMNDiagram|BPMNPlane|BPMNShape|BPMNEdge|Definitions)$/.test(change.type));
}

const markerOf: Record<ModelChange['kind'], string> = { added: 'kf-diff-added', removed: 'kf-diff-removed', changed: 'kf-diff-changed', layout: 'kf-diff-layout' };

/** Two versions side by side, the older on the left, with what was added, removed and changed coloured on both. */
export function DiffView({ processKey, from, to, definitions }: { processKey: string; from: number; to: number; definitions: readonly DefinitionSummary[] }) {
  const leftRef = useRef<HTMLDivElement>(null);
  const rightRef = useRef<HTMLDivElement>(null);
  const changes = useSignal<ModelChange[] | null>(null);
  const error = useSignal<string | null>(null);

  useEffect(() => {
    const left = new NavigatedViewer({ container: leftRef.current!, moddleExtensions: { kf: kfDescriptor } });
    const right = new NavigatedViewer({ container: rightRef.current!, moddleExtensions: { kf: kfDescriptor } });
    const moddle = new BpmnModdle({ kf: kfDescriptor });
    (async () => {
      const [older, newer] = await Promise.all([loadDefinition(processKey, from), loadDefinition(processKey, to)]);
      const [before, after] = await Promise.all([moddle.fromXML(older.xml), moddle.fromXML(newer.xml)]);
      const found = modelChanges(before.rootElement, after.rootElement);
      await Promise.all([left.importXML(older.xml), right.importXML(newer.xml)]);
      for (const viewer of [left, right]) viewer.get('canvas').zoom('fit-viewport', 'auto');
      for (const change of found) {
        for (const [viewer, present] of [
          [left, change.kind !== 'added'],
          [right, change.kind !== 'removed'],
        ] as const) {
          if (present && viewer.get('elementRegistry').get(change.elementId)) viewer.get('canvas').addMarker(change.elementId, markerOf[change.kind]);
        }
      }
      changes.value = found;
    })().catch((caught: unknown) => (error.value = (caught as Error).message));
    return () => {
      left.destroy();
      right.destroy();
    };
  }, []);

  const versionOf = (version: number) => definitions.find((entry) => entry.key === processKey && entry.version === version);
  const counts = (kind: ModelChange['kind']) => changes.value?.filter((change) => change.kind === kind).length ?? 0;
  return (
    <div class="kf-diff">
      <div class="kf-toolbar">
        <div class="kf-toolbar-title">
          <h2>{t('diff.title', { key: processKey, from, to })}</h2>
          <span class="kf-muted">{versionOf(to)?.note ?? ''}</span>
        </div>
        <ul class="kf-diff-legend" aria-label={t('diff.legend')}>
          {(['added', 'removed', 'changed', 'layout'] as const).map((kind) => (
            <li key={kind} class={`kf-diff-key kf-diff-key--${kind}`}>
              {t(`diff.${kind}`)} <strong>{counts(kind)}</strong>
            </li>
          ))}
        </ul>
        <div class="kf-toolbar-end">
          <a class="kf-button" href={`/designer/${encodeURIComponent(processKey)}`}>
            {t('diff.back')}
          </a>
        </div>
      </div>
      {error.value && <p class="kf-error kf-banner" role="alert">{error.value}</p>}
      <div class="kf-diff-canvases">
        <figure class="kf-diff-side">
          <figcaption>{t('diff.version', { version: from })}</figcaption>
          <div class="kf-diff-canvas" ref={leftRef} />
        </figure>
        <figure class="kf-diff-side">
          <figcaption>{t('diff.version', { version: to })}</figcaption>
          <div class="kf-diff-canvas" ref={rightRef} />
        </figure>
      </div>
      <section class="kf-diff-changes" aria-labelledby="diff-changes-title" tabIndex={0}>
        <h3 id="diff-changes-title">{t('diff.changes')}</h3>
        {changes.value && changes.value.length === 0 && <p class="kf-muted">{t('diff.none')}</p>}
        <table class="kf-table">
          <caption class="kf-visually-hidden">{t('diff.changes')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('diff.kind')}</th>
              <th scope="col">{t('diff.element')}</th>
              <th scope="col">{t('diff.property')}</th>
              <th scope="col">{t('diff.before')}</th>
              <th scope="col">{t('diff.after')}</th>
            </tr>
          </thead>
          <tbody>
            {(changes.value ?? []).flatMap((change) =>
              (change.properties.length ? change.properties : [null]).map((property, index) => (
                <tr key={`${change.elementId}-${index}`} data-change={change.kind}>
                  <td>{index === 0 && <span class={`kf-diff-pill kf-diff-pill--${change.kind}`}>{t(`diff.${change.kind}`)}</span>}</td>
                  <td>
                    {index === 0 && (
                      <>
                        {change.name || change.elementId} <span class="kf-muted">({change.type}, <code>{change.elementId}</code>)</span>
                      </>
                    )}
                  </td>
                  <td>{property?.name ?? '—'}</td>
                  <td>{property?.before ?? ''}</td>
                  <td>{property?.after ?? ''}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </section>
    </div>
  );
}
