import { useSignal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { ApiRequestError } from '../../api/client';
import { t } from '../../i18n';
import { Modal } from '../../ui/modal';

/** The message a refused action shows: the API's own words, with the nodes it names. */
export function refusalText(error: unknown): string {
  if (error instanceof ApiRequestError) {
    const details = error.details as { unmappedNodes?: string[] } | { field: string; message: string }[] | undefined;
    if (Array.isArray(details) && details.length > 0) return `${error.message}: ${details.map((detail) => `${detail.field} ${detail.message}`).join('; ')}`;
    return `${error.code}: ${error.message}`;
  }
  return (error as Error)?.message ?? String(error);
}

/**
 * Every ops action goes through this dialog: it says what will happen, asks why (the reason is
 * required and goes to the audit trail), runs the action and shows its result in place. A refused
 * action leaves the dialog open with the refusal, so the operator can correct it.
 */
export function ActionDialog({
  title,
  confirmLabel,
  danger,
  disabledReason,
  children,
  run,
  onDone,
  onClose,
  wide,
}: {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  /** When set, the confirm button is disabled and this says why. */
  disabledReason?: string | null;
  children?: ComponentChildren;
  run: (reason: string) => Promise<unknown>;
  onDone: (result: unknown) => void;
  onClose: () => void;
  wide?: boolean;
}) {
  const reason = useSignal('');
  const busy = useSignal(false);
  const failure = useSignal<string | null>(null);
  const missingReason = useSignal(false);

  const confirm = async () => {
    if (!reason.value.trim()) {
      missingReason.value = true;
      return;
    }
    busy.value = true;
    failure.value = null;
    try {
      const result = await run(reason.value.trim());
      onDone(result);
    } catch (error) {
      failure.value = refusalText(error);
    } finally {
      busy.value = false;
    }
  };

  return (
    <Modal
      title={title}
      onClose={onClose}
      wide={wide}
      footer={
        <>
          {disabledReason && (
            <p class="kf-error kf-ops-disabled-reason" id="ops-action-disabled">
              {disabledReason}
            </p>
          )}
          <button type="button" class="kf-button" onClick={onClose}>
            {t('app.cancel')}
          </button>
          <button
            type="button"
            class={danger ? 'kf-button kf-button--danger' : 'kf-button kf-button--primary'}
            disabled={busy.value || Boolean(disabledReason)}
            aria-describedby={disabledReason ? 'ops-action-disabled' : undefined}
            onClick={() => void confirm()}
          >
            {busy.value ? t('ops.action.working') : confirmLabel}
          </button>
        </>
      }
    >
      {children}
      <label class="kf-field">
        <span>{t('ops.action.reason')}</span>
        <textarea
          rows={2}
          maxLength={1000}
          required
          aria-invalid={missingReason.value}
          aria-describedby={missingReason.value ? 'ops-reason-missing' : undefined}
          value={reason.value}
          onInput={(event) => {
            reason.value = event.currentTarget.value;
            missingReason.value = false;
          }}
        />
      </label>
      {missingReason.value && (
        <p class="kf-error" id="ops-reason-missing" role="alert">
          {t('ops.action.reasonRequired')}
        </p>
      )}
      {failure.value && (
        <p class="kf-error kf-banner" role="alert">
          {failure.value}
        </p>
      )}
    </Modal>
  );
}

/** A JSON object typed by hand (variables): the parsed object, or the reason it is not one. */
export function parseVariables(text: string, required: boolean): { value?: Record<string, unknown>; problem?: string } {
  if (!text.trim()) return required ? { value: {} } : {};
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: t('ops.action.variablesNotObject') };
    return { value: value as Record<string, unknown> };
  } catch (error) {
    return { problem: `${t('ops.action.variablesNotJson')} ${(error as Error).message}` };
  }
}
