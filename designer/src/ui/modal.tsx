import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n';

/**
 * A modal dialog on the native <dialog>: the browser traps focus, Escape closes it, and focus
 * returns to where it was. Its title labels it for screen readers.
 */
export function Modal({ title, onClose, children, footer, wide }: { title: string; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    const previous = document.activeElement as HTMLElement | null;
    dialog.showModal();
    const onCancel = (event: Event) => {
      event.preventDefault();
      onClose();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      previous?.focus?.();
    };
  }, []);
  const titleId = `modal-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} class={wide ? 'kf-modal kf-modal--wide' : 'kf-modal'} aria-labelledby={titleId}>
      <header class="kf-modal-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="kf-button kf-button--quiet" aria-label={t('app.close')} onClick={onClose}>
          ×
        </button>
      </header>
      <div class="kf-modal-body">{children}</div>
      {footer && <footer class="kf-modal-foot">{footer}</footer>}
    </dialog>
  );
}
