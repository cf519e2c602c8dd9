import type { Form } from '@bpmn-io/form-js-viewer';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiRequestError } from '../../api/client';
import { t } from '../../i18n';
import type { FormField } from '../../../../workflows/model';

/** What the form hands back when asked to submit: the data to complete with, or null when it refused. */
export interface TaskFormHandle {
  /** Runs the browser's checks; null (with the errors shown on the fields) when they fail. */
  collect(): Record<string, unknown> | null;
  /** Shows the server's refusal of named fields on those fields. */
  showServerErrors(problems: readonly { field: string; message: string }[]): void;
}

declare global {
  interface Window {
    /** The open task's form-js instance (tests reach the viewer through it, as the designer's tests do the modeler). */
    keyflowTaskForm?: Form;
  }
}

type Component = { id?: string; key?: string; components?: Component[] };

function componentIdsByKey(schema: Component): Map<string, string> {
  const ids = new Map<string, string>();
  const walk = (component: Component) => {
    if (component.key && component.id) ids.set(component.key, component.id);
    for (const child of component.components ?? []) walk(child);
  };
  walk(schema);
  return ids;
}

/**
 * The task's form, rendered by `@bpmn-io/form-js-viewer` from its schema (the designed form-js
 * schema, or one made from the task's fields): the viewer checks the rules in the browser, and the
 * fields the completion carries are only those the task declares.
 */
export function TaskForm({ schema, fields, readOnly, onReady }: { schema: Record<string, unknown>; fields: readonly FormField[]; readOnly: boolean; onReady: (handle: TaskFormHandle | null) => void }) {
  const container = useRef<HTMLDivElement>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    let form: Form | null = null;
    let cancelled = false;
    void (async () => {
      try {
        const [{ Form: FormViewer }] = await Promise.all([import('@bpmn-io/form-js-viewer'), import('@bpmn-io/form-js-viewer/dist/assets/form-js.css')]);
        if (cancelled) return;
        form = new FormViewer({ container: container.current! });
        await form.importSchema(schema as never, {});
        if (readOnly) form.setProperty('readOnly', true);
        if (cancelled) return;
        window.keyflowTaskForm = form;
        // Opened to be worked on: the first field takes the keyboard.
        if (!readOnly) {
          await new Promise((resolve) => requestAnimationFrame(resolve));
          if (!cancelled) container.current?.querySelector<HTMLElement>('input, textarea, select')?.focus();
        }
        const ids = componentIdsByKey(schema as Component);
        const declared = new Set(fields.map((field) => field.id));
        onReady({
          collect() {
            const { data, errors } = form!.submit();
            if (Object.keys(errors).length > 0) return null;
            const variables: Record<string, unknown> = {};
            for (const [key, value] of Object.entries(data)) {
              if (declared.has(key) && value !== undefined && value !== null && value !== '') variables[key] = value;
            }
            return variables;
          },
          showServerErrors(problems) {
            const errors: Record<string, string[]> = {};
            for (const problem of problems) {
              const id = ids.get(problem.field);
              if (id) (errors[id] ??= []).push(t('tasks.form.serverSays', { message: problem.message }));
            }
            (form as unknown as { _setState(state: unknown): void })._setState({ errors });
          },
        });
      } catch (error) {
        if (!cancelled) setFailure(error instanceof Error ? error.message : String(error));
      }
    })();
    return () => {
      cancelled = true;
      onReady(null);
      if (window.keyflowTaskForm === form) delete window.keyflowTaskForm;
      form?.destroy();
    };
  }, [schema, readOnly]);
  return (
    <div class="kf-task-form">
      <div ref={container} />
      {failure && <p class="kf-error" role="alert">{t('tasks.form.loadFailed', { message: failure })}</p>}
    </div>
  );
}

/** The field problems of a refused completion (422 `details.fields`), if it names any. */
export function fieldProblems(error: unknown): { field: string; message: string }[] {
  if (!(error instanceof ApiRequestError) || error.status !== 422) return [];
  const details = error.details as { fields?: unknown } | undefined;
  const fields = Array.isArray(details?.fields) ? details.fields : [];
  return fields.filter((problem): problem is { field: string; message: string } => typeof problem?.field === 'string' && typeof problem?.message === 'string');
}
