import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Logger } from '../runtime/logger';

/** Debian's Chromium, which the browser tests drive through playwright-core (never a downloaded browser). */
export const chromiumPath = process.env.KEYFLOW_CHROMIUM ?? '/usr/bin/chromium';

/** The flags every browser test launches Chromium with. */
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

function hasChineseFont(): boolean {
  try {
    return execFileSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

/**
 * Makes sure Chromium (and a font with Chinese glyphs, for the zh screens) is installed before the
 * browser tests run: as root it installs Debian's packages with apt-get; otherwise it stops with
 * the command to run. Browser tests are never skipped for want of a browser.
 * @throws Error saying exactly what to install
 */
export function ensureChromium(logger: Logger): void {
  const missing = [...(existsSync(chromiumPath) ? [] : ['chromium']), ...(hasChineseFont() ? [] : ['fonts-noto-cjk'])];
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`the browser tests need Debian's ${missing.join(' and ')}, which are not installed: run \`sudo apt-get update && sudo ${command}\` (or set KEYFLOW_CHROMIUM to a Chromium binary)`);
  }
  logger.info({ packages: missing }, 'installing what the browser tests need with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  } catch {
    // A fresh machine's package lists may be empty or stale.
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  }
  if (!existsSync(chromiumPath)) throw new Error(`apt-get installed chromium, but ${chromiumPath} is still missing; set KEYFLOW_CHROMIUM to its path`);
}
