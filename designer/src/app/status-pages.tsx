import { t } from '../i18n';

export function ForbiddenPage() {
  return (
    <section class="kf-status-page" aria-labelledby="forbidden-title">
      <p class="kf-status-code">403</p>
      <h1 id="forbidden-title">{t('status.forbidden.title')}</h1>
      <p>{t('status.forbidden.body')}</p>
    </section>
  );
}

export function NotFoundPage() {
  return (
    <section class="kf-status-page" aria-labelledby="not-found-title">
      <p class="kf-status-code">404</p>
      <h1 id="not-found-title">{t('status.notFound.title')}</h1>
      <p>{t('status.notFound.body')}</p>
    </section>
  );
}
