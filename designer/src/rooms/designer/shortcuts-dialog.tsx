import { t } from '../../i18n';
import { Modal } from '../../ui/modal';

const shortcuts: [string, string][] = [
  ['Ctrl+S', 'shortcuts.deploy'],
  ['Ctrl+Z', 'shortcuts.undo'],
  ['Ctrl+Y / Ctrl+Shift+Z', 'shortcuts.redo'],
  ['Ctrl+F', 'shortcuts.find'],
  ['Ctrl+A', 'shortcuts.selectAll'],
  ['Delete', 'shortcuts.delete'],
  ['E', 'shortcuts.directEdit'],
  ['H', 'shortcuts.hand'],
  ['L', 'shortcuts.lasso'],
  ['S', 'shortcuts.space'],
  ['C', 'shortcuts.connect'],
  ['R', 'shortcuts.replace'],
  ['A', 'shortcuts.append'],
  ['Ctrl + scroll', 'shortcuts.zoom'],
  ['?', 'shortcuts.help'],
];

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Modal title={t('shortcuts.title')} onClose={onClose}>
      <table class="kf-table kf-shortcuts">
        <caption class="kf-visually-hidden">{t('shortcuts.title')}</caption>
        <tbody>
          {shortcuts.map(([keys, label]) => (
            <tr key={keys}>
              <th scope="row">
                <kbd>{keys}</kbd>
              </th>
              <td>{t(label)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
