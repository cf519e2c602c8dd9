import { useSignal } from '@preact/signals';
import type Modeler from 'bpmn-js/lib/Modeler';
import { useEffect, useRef } from 'preact/hooks';
import { formFieldsFromSchema, type FormSchemaReading } from '../../../../workflows/bpmn/form-schema';
import { t } from '../../i18n';
import { Modal } from '../../ui/modal';
import { readElementForm, writeElementForm } from './modeler/kf-properties/element-form';

type DiagramElement = { id: string; type: string; businessObject: any };
type FormEditorInstance = { importSchema(schema: unknown): Promise<unknown>; saveSchema(): Record<string, unknown>; on(event: string, callback: () => void): void; destroy(): void };

/**
 * The form editor (form-js) for one user task or start event. It loads only when opened, so the
 * designer's first paint does not wait for it. Beside the canvas it shows what the deploy will
 * make of the form — the fields a completion may write and their rules — and what it would
 * refuse, with the very reader the server uses.
 */
export function FormDesignerDialog({ modeler, element, onClose, onSaved }: { modeler: Modeler; element: DiagramElement; onClose: () => void; onSaved: (fieldCount: number | null) => void }) {
  const containerRef = useRef<HTMLDivElement>(null);
  const editorRef = useRef<FormEditorInstance | null>(null);
  const loading = useSignal(true);
  const loadError = useSignal<string | null>(null);
  const initial = readElementForm(element);
  const reading = useSignal<FormSchemaReading>(formFieldsFromSchema(initial.schema));

  useEffect(() => {
    let destroyed = false;
    void (async () => {
      try {
        const [{ FormEditor }] = await Promise.all([
          import('@bpmn-io/form-js'),
          import('@bpmn-io/form-js/dist/assets/form-js.css'),
          import('@bpmn-io/form-js/dist/assets/form-js-editor.css'),
          import('@bpmn-io/form-js/dist/assets/properties-panel.css'),
        ]);
        if (destroyed) return;
        const editor = new FormEditor({ container: containerRef.current! }) as unknown as FormEditorInstance;
        editorRef.current = editor;
        await editor.importSchema(initial.schema);
        editor.on('changed', () => (reading.value = formFieldsFromSchema(editor.saveSchema())));
        reading.value = formFieldsFromSchema(editor.saveSchema());
      } catch (error) {
        loadError.value = (error as Error).message;
      } finally {
        loading.value = false;
      }
    })();
    return () => {
      destroyed = true;
      editorRef.current?.destroy();
    };
  }, []);

  const name = element.businessObject.name || element.id;
  const save = () => {
    writeElementForm(modeler as never, element, editorRef.current!.saveSchema());
    onSaved(reading.value.fields.length);
  };
  const remove = () => {
    writeElementForm(modeler as never, element, null);
    onSaved(null);
  };
  const { fields, problems } = reading.value;

  return (
    <Modal
      title={t('form.title', { name })}
      onClose={onClose}
      wide
      footer={
        <>
          <span class="kf-muted">{problems.length ? t('form.fixFirst', { count: problems.length }) : t('form.saveHint')}</span>
          {initial.origin !== 'none' && (
            <button type="button" class="kf-button kf-button--danger" onClick={remove}>
              {t('form.remove')}
            </button>
          )}
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button type="button" class="kf-button kf-button--primary" disabled={loading.value || !!loadError.value || problems.length > 0} onClick={save}>
            {t('form.save')}
          </button>
        </>
      }
    >
      {initial.origin === 'fields' && <p class="kf-banner kf-banner--info">{t('form.fromFields')}</p>}
      {initial.unreadable && (
        <p class="kf-banner kf-error" role="alert">
          {t('form.unreadable', { message: initial.unreadable })}
        </p>
      )}
      {loadError.value && (
        <p class="kf-banner kf-error" role="alert">
          {t('form.loadFailed', { message: loadError.value })}
        </p>
      )}
      <div class="kf-form-designer">
        <div class="kf-form-editor" ref={containerRef} aria-busy={loading.value} aria-label={t('form.editor')} role="region" />
        <aside class="kf-form-contract" aria-label={t('form.contract')} tabIndex={0}>
          <h3>{t('form.contract')}</h3>
          <p class="kf-muted">{t('form.contractHint')}</p>
          {fields.length === 0 ? (
            <p class="kf-muted">{t('form.noFields')}</p>
          ) : (
            <ul class="kf-form-fields">
              {fields.map((field) => (
                <li key={field.id}>
                  <code>{field.id}</code> <span class="kf-muted">{t(`form.type.${field.type}`)}</span>
                  {field.required && <span class="kf-badge">{t('form.required')}</span>}
                  {field.values && <span class="kf-muted"> · {field.values.join(' / ')}</span>}
                  {(field.min !== undefined || field.max !== undefined) && <span class="kf-muted"> · {`${field.min ?? '…'}–${field.max ?? '…'}`}</span>}
                  {field.maxLength !== undefined && <span class="kf-muted"> · ≤ {field.maxLength}</span>}
                </li>
              ))}
            </ul>
          )}
          {problems.length > 0 && (
            <ul class="kf-form-problems" role="alert">
              {problems.map((problem) => (
                <li key={problem}>{problem}</li>
              ))}
            </ul>
          )}
        </aside>
      </div>
    </Modal>
  );
}
