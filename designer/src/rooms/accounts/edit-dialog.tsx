import { useState } from 'preact/hooks';
import { ApiRequestError } from '../../api/client';
import { t } from '../../i18n';
import { Modal } from '../../ui/modal';

export interface EditField {
  key: string;
  /** Catalogue key of the label. */
  label: string;
  kind: 'text' | 'textarea' | 'select';
  /** For selects: the values and the catalogue prefix of their labels. */
  options?: readonly string[];
  optionLabels?: string;
}

type Values = Record<string, string>;
type Versioned = Record<string, unknown> & { version: number };

function valuesOf(fields: readonly EditField[], row: Versioned): Values {
  return Object.fromEntries(fields.map((field) => [field.key, row[field.key] === null || row[field.key] === undefined ? '' : String(row[field.key])]));
}

/**
 * Edits a versioned row (an account, a contact) optimistically: the change carries the version it
 * was read at. When someone else changed the row meanwhile (409), the dialog shows what they made
 * of each field beside the person's own value, and lets them save theirs over it or take the other's.
 */
export function EditDialog<Row extends Versioned>({
  title,
  fields,
  row,
  load,
  save,
  onClose,
  onSaved,
}: {
  title: string;
  fields: readonly EditField[];
  row: Row;
  load: () => Promise<Row>;
  save: (version: number, changes: Record<string, string | null>) => Promise<Row>;
  onClose: () => void;
  onSaved: (row: Row) => void;
}) {
  const [base, setBase] = useState<{ version: number; values: Values }>({ version: row.version, values: valuesOf(fields, row) });
  const [values, setValues] = useState<Values>(valuesOf(fields, row));
  const [theirs, setTheirs] = useState<{ version: number; values: Values } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const changes = (): Record<string, string | null> => {
    const changed: Record<string, string | null> = {};
    for (const field of fields) if (values[field.key] !== base.values[field.key]) changed[field.key] = values[field.key] === '' && field.kind !== 'select' ? null : values[field.key]!;
    return changed;
  };

  const submit = async () => {
    const changed = changes();
    if (Object.keys(changed).length === 0) return onClose();
    setBusy(true);
    setError(null);
    try {
      onSaved(await save(theirs?.version ?? base.version, changed));
    } catch (failure) {
      if (failure instanceof ApiRequestError && failure.status === 409) {
        const current = await load();
        setTheirs({ version: current.version, values: valuesOf(fields, current) });
      } else setError(failure instanceof Error ? failure.message : t('app.failed'));
    } finally {
      setBusy(false);
    }
  };

  const takeTheirs = () => {
    if (!theirs) return;
    setBase(theirs);
    setValues(theirs.values);
    setTheirs(null);
  };

  return (
    <Modal
      title={title}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          {theirs && (
            <button type="button" class="kf-button" onClick={takeTheirs}>
              {t('accounts.edit.takeTheirs')}
            </button>
          )}
          <button type="button" class="kf-button kf-button--primary" disabled={busy} onClick={() => void submit()}>
            {theirs ? t('accounts.edit.saveMine') : t('accounts.action.save')}
          </button>
        </>
      }
    >
      {theirs && (
        <div class="kf-notice kf-conflict" role="alert">
          <strong>{t('accounts.edit.conflictTitle')}</strong>
          <p>{t('accounts.edit.conflictBody', { version: theirs.version })}</p>
        </div>
      )}
      {fields.map((field) => {
        const id = `edit-${field.key}`;
        const other = theirs && theirs.values[field.key] !== base.values[field.key] ? theirs.values[field.key] : null;
        return (
          <label key={field.key} class="kf-field" for={id}>
            <span>{t(field.label)}</span>
            {field.kind === 'select' ? (
              <select id={id} value={values[field.key]} onChange={(event) => setValues({ ...values, [field.key]: event.currentTarget.value })}>
                {(field.options ?? []).map((option) => (
                  <option key={option} value={option}>
                    {t(`${field.optionLabels}.${option}`)}
                  </option>
                ))}
              </select>
            ) : field.kind === 'textarea' ? (
              <textarea id={id} rows={3} value={values[field.key]} onInput={(event) => setValues({ ...values, [field.key]: event.currentTarget.value })} />
            ) : (
              <input id={id} type="text" value={values[field.key]} onInput={(event) => setValues({ ...values, [field.key]: event.currentTarget.value })} />
            )}
            {other !== null && (
              <span class="kf-conflict-theirs">
                {t('accounts.edit.theirs', { value: other === '' ? '—' : field.kind === 'select' ? t(`${field.optionLabels}.${other}`) : other })}
              </span>
            )}
          </label>
        );
      })}
      {error && (
        <p class="kf-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}
