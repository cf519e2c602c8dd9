import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has gone. */
  readonly exited: Promise<number | string>;
}

export interface StartOptions extends Pick<SpawnOptions, 'cwd' | 'env' | 'uid' | 'gid'> {
  /** Where stdout and stderr go; inherited when omitted. */
  logFile?: string;
  /** The signal that asks this program for a clean shutdown (postgres: SIGINT = fast shutdown). */
  stopSignal?: NodeJS.Signals;
}

/**
 * Starts and stops the programs Keyflow runs for itself (PostgreSQL, the Temporal dev server, the
 * simulator, worker and API). Each runs in its own process group, so a terminal's Ctrl-C reaches
 * only us and we stop them in order, by PID; if we die first, `exit` kills what is left.
 */
export class Supervisor {
  private readonly running: { process: ManagedProcess; stopSignal: NodeJS.Signals }[] = [];
  private readonly onExit = (): void => {
    for (const { process: managed } of this.running) killGroup(managed.pid, 'SIGKILL');
  };

  constructor(private readonly logger: Logger) {
    process.on('exit', this.onExit);
  }

  start(name: string, command: string, args: string[], options: StartOptions = {}): ManagedProcess {
    let stdio: SpawnOptions['stdio'] = 'inherit';
    if (options.logFile) {
      fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
      const fd = fs.openSync(options.logFile, 'a');
      stdio = ['ignore', fd, fd];
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      uid: options.uid,
      gid: options.gid,
      stdio,
      detached: true,
    });
    if (child.pid === undefined) {
      throw new Error(`could not start ${name} (${command})`);
    }
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      child.once('error', (error) => resolve(error.message));
    });
    const managed: ManagedProcess = { name, pid: child.pid, child, exited };
    const entry = { process: managed, stopSignal: options.stopSignal ?? 'SIGTERM' };
    this.running.push(entry);
    void exited.then((result) => {
      const index = this.running.indexOf(entry);
      if (index >= 0) this.running.splice(index, 1);
      this.logger.debug({ name, pid: managed.pid, result }, 'process exited');
    });
    this.logger.debug({ name, pid: child.pid, command, args }, 'process started');
    return managed;
  }

  /** Stops every process still running, newest first, escalating to SIGKILL after `graceMs`. */
  async stopAll(graceMs = 15_000): Promise<void> {
    for (const entry of [...this.running].reverse()) {
      await stopProcess(entry.process, entry.stopSignal, graceMs);
    }
    process.off('exit', this.onExit);
  }

  get processes(): readonly ManagedProcess[] {
    return this.running.map((entry) => entry.process);
  }
}

export async function stopProcess(managed: ManagedProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  killGroup(managed.pid, signal);
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([managed.exited, timer])) === 'timeout') {
    killGroup(managed.pid, 'SIGKILL');
    await managed.exited;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
