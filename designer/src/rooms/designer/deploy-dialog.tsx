import { useSignal } from '@preact/signals';
import type Modeler from 'bpmn-js/lib/Modeler';
import { useEffect } from 'preact/hooks';
import { checkDefinitions } from '../../../../workflows/bpmn/parse';
import { ApiRequestError } from '../../api/client';
import { t } from '../../i18n';
import { Modal } from '../../ui/modal';
import { deployModel, impactOf, type Deployment, type VersionImpact } from './designer-api';
import type { ServerProblem } from './modeler/problems/server-problems';

/**
 * Deploys the open model as a new version, with a note. Before the button, it shows what the
 * change would touch: the instances running on each deployed version and the nodes they wait at,
 * with the ones this model no longer has marked.
 */
export function DeployDialog({ processKey, modeler, onClose, onProblems, onDeployed }: { processKey: string; modeler: Modeler; onClose: () => void; onProblems: (problems: ServerProblem[]) => void; onDeployed: (deployed: Deployment) => void | Promise<void> }) {
  const note = useSignal('');
  const impact = useSignal<VersionImpact | null>(null);
  const impactError = useSignal<string | null>(null);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  useEffect(() => {
    const nodeIds = Object.keys(checkDefinitions(modeler.getDefinitions()).model?.nodes ?? {});
    impactOf(processKey, nodeIds).then(
      (found) => (impact.value = found),
      (caught: unknown) => (impactError.value = (caught as Error).message),
    );
  }, []);

  const deploy = async (event: Event) => {
    event.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const deployed = await deployModel(xml, note.value);
      onClose();
      await onDeployed(deployed);
    } catch (caught) {
      if (caught instanceof ApiRequestError && caught.code === 'VALIDATION_FAILED' && Array.isArray(caught.details)) {
        onClose();
        onProblems(caught.details as ServerProblem[]);
        return;
      }
      error.value = (caught as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const removedWaiting = impact.value?.versions.flatMap((version) => version.waitingAt.filter((node) => node.removed)) ?? [];
  return (
    <Modal
      title={t('deploy.title', { key: processKey })}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button type="submit" form="deploy-form" class="kf-button kf-button--primary" disabled={busy.value}>
            {busy.value ? t('deploy.deploying') : t('deploy.confirm')}
          </button>
        </>
      }
    >
      <form id="deploy-form" onSubmit={(event) => void deploy(event)}>
        <label class="kf-field">
          <span>{t('deploy.note')}</span>
          <textarea name="note" rows={3} maxLength={1000} placeholder={t('deploy.notePlaceholder')} value={note.value} onInput={(event) => (note.value = event.currentTarget.value)} />
        </label>
      </form>
      <section class="kf-impact" aria-labelledby="impact-title">
        <h3 id="impact-title">{t('deploy.impactTitle')}</h3>
        {!impact.value && !impactError.value && <p class="kf-muted" role="status">{t('app.loading')}</p>}
        {impactError.value && <p class="kf-error">{impactError.value}</p>}
        {impact.value && impact.value.runningInstances === 0 && <p>{t('deploy.noneRunning')}</p>}
        {impact.value && impact.value.runningInstances > 0 && (
          <>
            <p>{t('deploy.running', { count: impact.value.runningInstances })}</p>
            <ul class="kf-impact-list">
              {impact.value.versions.map((version) => (
                <li key={version.processVersion}>
                  <strong>{t('deploy.onVersion', { version: version.processVersion, count: version.instances })}</strong>
                  {version.waitingAt.length > 0 && (
                    <ul>
                      {version.waitingAt.map((node) => (
                        <li key={node.nodeId} class={node.removed ? 'kf-impact-removed' : undefined}>
                          <code>{node.nodeId}</code> — {t('deploy.waiting', { count: node.instances })}
                          {node.removed && <span class="kf-badge kf-badge--danger">{t('deploy.removed')}</span>}
                        </li>
                      ))}
                    </ul>
                  )}
                </li>
              ))}
            </ul>
            <p class="kf-muted">{removedWaiting.length ? t('deploy.removedHint') : t('deploy.pinnedHint')}</p>
          </>
        )}
      </section>
      {error.value && (
        <p class="kf-error" role="alert">
          {error.value}
        </p>
      )}
    </Modal>
  );
}
