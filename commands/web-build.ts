import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../runtime/config';
import type { Logger } from '../runtime/logger';

const designerDir = path.join(projectRoot, 'designer');
const distDir = path.join(designerDir, 'dist');
const stampFile = path.join(distDir, '.keyflow-build');
/** What the web app is built from besides `designer/`: the model code it shares, and the lock file. */
const sharedInputs = [path.join(projectRoot, 'workflows', 'bpmn'), path.join(projectRoot, 'package-lock.json')];

/** A hash of every file the build reads: a build is stale exactly when this differs from its stamp. */
export function webSourceFingerprint(): string {
  const hash = createHash('sha256');
  const visit = (entry: string) => {
    const stat = statSync(entry);
    if (stat.isDirectory()) {
      for (const name of readdirSync(entry).sort()) {
        if (name === 'dist' || name === 'node_modules' || name.startsWith('.')) continue;
        visit(path.join(entry, name));
      }
      return;
    }
    hash.update(path.relative(projectRoot, entry)).update('\0').update(readFileSync(entry)).update('\0');
  };
  for (const input of [designerDir, ...sharedInputs]) if (existsSync(input)) visit(input);
  return hash.digest('hex');
}

export function webBuildIsCurrent(): boolean {
  return existsSync(path.join(distDir, 'index.html')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === webSourceFingerprint();
}

/**
 * Builds the web app with Vite when `designer/dist` is missing or older than its sources, so
 * `npm ci && npm start` (and `npm test`) serve the current app with no extra command.
 * @throws Error when the build fails, with Vite's own output above it
 */
export async function ensureWebBuild(logger: Logger): Promise<'built' | 'current'> {
  if (webBuildIsCurrent()) return 'current';
  const fingerprint = webSourceFingerprint();
  logger.info('building the web app (designer/) with vite');
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path.join(projectRoot, 'node_modules', '.bin', 'vite'), ['build', '--config', path.join(designerDir, 'vite.config.mts'), '--logLevel', 'warn'], {
      cwd: projectRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the web app's build failed (vite exited with ${code})`))));
  });
  writeFileSync(stampFile, fingerprint);
  logger.info({ ms: Date.now() - started }, 'web app built');
  return 'built';
}
