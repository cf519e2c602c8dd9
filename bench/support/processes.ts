import { spawn, type ChildProcess } from 'node:child_process';
import fs, { createWriteStream } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../runtime/config';

/** Linux reports CPU time in clock ticks, 100 per second on every mainstream kernel build. */
const clockTicksPerSecond = 100;

/** CPU time (user + system) of a process and all its live descendants, from /proc. */
export function cpuMsOfTree(rootPid: number): number {
  const processes = new Map<number, { parent: number; ms: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command (which may hold spaces): state, ppid, …, utime (14th), stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    processes.set(Number(entry), { parent: Number(fields[1]), ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond });
  }
  const inTree = (pid: number): boolean => {
    for (let current: number | undefined = pid; current && current > 1; current = processes.get(current)?.parent) if (current === rootPid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, { ms }] of processes) if (inTree(pid)) total += ms;
  return total;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Current resident set size of a process (VmRSS), in MB. */
export function rssMb(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** Peak resident set size of a process (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  return statusField(pid, 'VmHWM');
}

/**
 * `keyflow <command>` (worker, api) as its own process, as production runs it, its output in
 * `logFile`; resolves once its output shows `readyText`.
 */
export async function startKeyflowProcess(command: 'worker' | 'api', env: NodeJS.ProcessEnv, logFile: string, readyText: string, nodeArgs: string[] = []): Promise<ChildProcess> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [...nodeArgs, path.join(projectRoot, 'bin', 'keyflow.js'), command], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.pipe(log);
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (data: Buffer) => {
      log.write(data);
      seen += data.toString();
      if (seen.includes(readyText)) resolve();
      if (seen.length > 100_000) seen = seen.slice(-1000);
    });
    child.once('exit', (code) => reject(new Error(`keyflow ${command} exited (${code}) before it ran; see ${logFile}`)));
  });
  return child;
}

/** Stops a child process and waits for it to go. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await gone;
}
