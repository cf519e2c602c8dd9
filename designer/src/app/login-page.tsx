import { useSignal } from '@preact/signals';
import { ApiRequestError } from '../api/client';
import { language, setLanguage, t } from '../i18n';
import { loginNotice, signIn } from './session';

export function LoginPage() {
  const username = useSignal('');
  const password = useSignal('');
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      await signIn(username.value.trim(), password.value);
    } catch (caught) {
      const status = caught instanceof ApiRequestError ? caught.status : 0;
      error.value = status === 401 ? t('login.wrong') : status === 429 ? t('login.locked') : t('login.failed');
    } finally {
      busy.value = false;
    }
  };

  return (
    <main class="kf-login" id="main">
      <form class="kf-login-card" onSubmit={(event) => void submit(event)} aria-labelledby="login-title" noValidate>
        <div class="kf-login-brand">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <div>
            <h1 id="login-title">Keyflow</h1>
            <p>{t('login.tagline')}</p>
          </div>
        </div>
        {loginNotice.value && (
          <p class="kf-notice" role="status">
            {t(loginNotice.value === 'expired' ? 'login.expired' : 'login.signedOut')}
          </p>
        )}
        <label class="kf-field">
          <span>{t('login.username')}</span>
          <input name="username" autoComplete="username" required autoFocus value={username.value} onInput={(event) => (username.value = event.currentTarget.value)} />
        </label>
        <label class="kf-field">
          <span>{t('login.password')}</span>
          <input name="password" type="password" autoComplete="current-password" required value={password.value} onInput={(event) => (password.value = event.currentTarget.value)} />
        </label>
        {error.value && (
          <p class="kf-error" role="alert">
            {error.value}
          </p>
        )}
        <button class="kf-button kf-button--primary" type="submit" disabled={busy.value || !username.value || !password.value}>
          {busy.value ? t('login.signingIn') : t('login.signIn')}
        </button>
        <div class="kf-login-foot">
          <button type="button" class="kf-link" onClick={() => setLanguage(language.value === 'en' ? 'zh' : 'en')}>
            {language.value === 'en' ? '中文' : 'English'}
          </button>
        </div>
      </form>
    </main>
  );
}
