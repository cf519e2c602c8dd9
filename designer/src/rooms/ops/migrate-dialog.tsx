import { useSignal } from '@preact/signals';
import { useQuery } from '@tanstack/preact-query';
import { t } from '../../i18n';
import { ActionDialog } from './action-dialog';
import { OpsDiagram, overlayElement, type DiagramPaint } from './ops-diagram';
import { listVersions, loadVersion, runAction, type InstanceState } from './ops-api';

/** The mapping to start from: every active node to the node of the same id, where the target has one. */
export function defaultMapping(activeNodeIds: readonly string[], targetNodeIds: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(activeNodeIds.filter((nodeId) => targetNodeIds.has(nodeId)).map((nodeId) => [nodeId, nodeId]));
}

/**
 * Migration to another deployed version: each active node is mapped to a node of the target,
 * drawn on both diagrams (an unmapped node in red, and then the migrate button stays disabled).
 */
export function MigrateDialog({
  workflowId,
  processKey,
  state,
  fromXml,
  onDone,
  onClose,
}: {
  workflowId: string;
  processKey: string;
  state: InstanceState;
  fromXml?: string;
  onDone: () => void;
  onClose: () => void;
}) {
  const versions = useQuery({ queryKey: ['ops', 'versions', processKey], queryFn: () => listVersions(processKey) });
  const others = (versions.data ?? []).filter((entry) => entry.version !== state.processVersion).sort((a, b) => b.version - a.version);
  const chosen = useSignal<number | null>(null);
  const toVersion = chosen.value ?? others[0]?.version ?? null;
  const target = useQuery({ queryKey: ['ops', 'version', processKey, toVersion], queryFn: () => loadVersion(processKey, toVersion!), enabled: toVersion !== null, staleTime: Infinity });
  const activeNodeIds = [...new Set(state.activeNodes.map((node) => node.nodeId))];
  const targetNodes = target.data?.summary.nodes ?? [];
  const edits = useSignal<Record<number, Record<string, string>>>({});
  const mapping: Record<string, string> =
    toVersion === null ? {} : (edits.value[toVersion] ?? (target.data ? defaultMapping(activeNodeIds, new Set(targetNodes.map((node) => node.id))) : {}));
  const unmapped = activeNodeIds.filter((nodeId) => !mapping[nodeId]);
  const setMapping = (nodeId: string, targetId: string) => {
    if (toVersion === null) return;
    const next = { ...mapping };
    if (targetId) next[nodeId] = targetId;
    else delete next[nodeId];
    edits.value = { ...edits.value, [toVersion]: next };
  };

  const paintFrom = (): DiagramPaint => ({
    markers: activeNodeIds.map((nodeId) => ({ elementId: nodeId, marker: mapping[nodeId] ? 'kf-op-mapped' : 'kf-op-unmapped' })),
    overlays: activeNodeIds.map((nodeId) => ({
      elementId: nodeId,
      kind: 'kf-mapping',
      position: { top: -14, left: 0 },
      html: overlayElement(mapping[nodeId] ? 'kf-op-map-note' : 'kf-op-map-note kf-op-map-note--missing', mapping[nodeId] ? `→ ${mapping[nodeId]}` : t('ops.migrate.unmappedShort')),
    })),
  });
  const paintTo = (): DiagramPaint => {
    const targets = [...new Set(Object.values(mapping))];
    return {
      markers: targets.map((nodeId) => ({ elementId: nodeId, marker: 'kf-op-mapped' })),
      overlays: targets.map((nodeId) => ({
        elementId: nodeId,
        kind: 'kf-mapping',
        position: { top: -14, left: 0 },
        html: overlayElement('kf-op-map-note', `← ${Object.entries(mapping).filter(([, to]) => to === nodeId).map(([from]) => from).join(', ')}`),
      })),
    };
  };

  const disabledReason =
    toVersion === null ? t('ops.migrate.noOtherVersion') : !target.data ? t('app.loading') : unmapped.length > 0 ? t('ops.migrate.unmapped', { nodes: unmapped.join(', ') }) : null;

  return (
    <ActionDialog
      wide
      title={t('ops.migrate.title')}
      confirmLabel={t('ops.migrate.submit')}
      disabledReason={disabledReason}
      run={(reason) => runAction(workflowId, { kind: 'migrate', toVersion: toVersion!, nodeMapping: mapping }, reason)}
      onDone={onDone}
      onClose={onClose}
    >
      <p>{t('ops.migrate.intro', { version: state.processVersion })}</p>
      <label class="kf-field kf-field--inline">
        <span>{t('ops.migrate.toVersion')}</span>
        <select value={toVersion ?? ''} onChange={(event) => (chosen.value = Number(event.currentTarget.value))}>
          {others.map((entry) => (
            <option key={entry.version} value={entry.version}>
              v{entry.version}
              {entry.note ? ` — ${entry.note}` : ''}
            </option>
          ))}
        </select>
      </label>
      <div class="kf-ops-migrate-canvases">
        <figure>
          <figcaption>{t('ops.migrate.from', { version: state.processVersion })}</figcaption>
          {fromXml && <OpsDiagram xml={fromXml} label={t('ops.migrate.from', { version: state.processVersion })} paint={paintFrom} />}
        </figure>
        <figure>
          <figcaption>{t('ops.migrate.to', { version: toVersion ?? '?' })}</figcaption>
          {target.data && <OpsDiagram key={toVersion} xml={target.data.xml} label={t('ops.migrate.to', { version: toVersion })} paint={paintTo} />}
        </figure>
      </div>
      <table class="kf-table kf-ops-mapping">
        <caption class="kf-visually-hidden">{t('ops.migrate.mapping')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('ops.migrate.activeNode')}</th>
            <th scope="col">{t('ops.migrate.targetNode')}</th>
          </tr>
        </thead>
        <tbody>
          {activeNodeIds.map((nodeId) => (
            <tr key={nodeId} class={mapping[nodeId] ? undefined : 'kf-ops-unmapped'} data-node={nodeId}>
              <th scope="row">
                <code>{nodeId}</code>
              </th>
              <td>
                <select aria-label={t('ops.migrate.targetOf', { node: nodeId })} value={mapping[nodeId] ?? ''} onChange={(event) => setMapping(nodeId, event.currentTarget.value)}>
                  <option value="">{t('ops.migrate.unmappedShort')}</option>
                  {targetNodes.map((node) => (
                    <option key={node.id} value={node.id}>
                      {node.name ? `${node.name} (${node.id})` : node.id}
                    </option>
                  ))}
                </select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ActionDialog>
  );
}
