import { useSignal } from '@preact/signals';
import { useLocation } from 'preact-iso';
import { t } from '../../i18n';
import { formatDateTime } from '../../ui/data-table';
import { Modal } from '../../ui/modal';
import type { DefinitionSummary } from './designer-api';

/** Every version of a process, newest first, with its note; pick two to see what changed. */
export function HistoryDialog({ processKey, versions, onClose }: { processKey: string; versions: readonly DefinitionSummary[]; onClose: () => void }) {
  const { route } = useLocation();
  const to = useSignal(versions[0]?.version ?? 1);
  const from = useSignal(versions[1]?.version ?? versions[0]?.version ?? 1);
  const compare = () => {
    onClose();
    route(`/designer/${encodeURIComponent(processKey)}/diff/${Math.min(from.value, to.value)}/${Math.max(from.value, to.value)}`);
  };
  return (
    <Modal
      title={t('history.title', { key: processKey })}
      onClose={onClose}
      wide
      footer={
        <>
          <span class="kf-muted">{t('history.compareHint')}</span>
          <button type="button" class="kf-button kf-button--primary" disabled={from.value === to.value} onClick={compare}>
            {t('history.compare', { from: Math.min(from.value, to.value), to: Math.max(from.value, to.value) })}
          </button>
        </>
      }
    >
      <table class="kf-table">
        <caption class="kf-visually-hidden">{t('history.title', { key: processKey })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('history.from')}</th>
            <th scope="col">{t('history.to')}</th>
            <th scope="col">{t('history.version')}</th>
            <th scope="col">{t('history.note')}</th>
            <th scope="col">{t('history.deployedBy')}</th>
            <th scope="col">{t('history.deployedAt')}</th>
            <th scope="col">
              <span class="kf-visually-hidden">{t('history.open')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((version) => (
            <tr key={version.version}>
              <td>
                <input type="radio" name="diff-from" aria-label={t('history.fromVersion', { version: version.version })} checked={from.value === version.version} onChange={() => (from.value = version.version)} />
              </td>
              <td>
                <input type="radio" name="diff-to" aria-label={t('history.toVersion', { version: version.version })} checked={to.value === version.version} onChange={() => (to.value = version.version)} />
              </td>
              <td>v{version.version}</td>
              <td>{version.note ?? <span class="kf-muted">—</span>}</td>
              <td>{version.deployedBy}</td>
              <td>{formatDateTime(version.deployedAt)}</td>
              <td>
                <a
                  href={`/designer/${encodeURIComponent(processKey)}?version=${version.version}`}
                  onClick={() => onClose()}
                >
                  {t('history.open')}
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
