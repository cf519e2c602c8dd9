/**
 * `npm run bench:web`: how much JavaScript a browser fetches before each room can run, gzipped as
 * the API sends it (the built app's chunk graph from Vite's manifest: the entry's static imports,
 * then the room's chunk with its own). Builds the app first when it is stale. The designer's open
 * time for a 500-task model is measured in the browser test (`designer.open500`), in a real
 * Chromium against the real API. The last line is JSON.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { webAppDir } from '../api/web-app';
import { createLogger } from '../runtime/logger';
import { ensureWebBuild } from '../commands/web-build';

interface ManifestEntry {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}

function gzipped(file: string): number {
  return gzipSync(readFileSync(path.join(webAppDir, file)), { level: 9 }).length;
}

async function main(): Promise<void> {
  await ensureWebBuild(createLogger('warn', 'bench'));
  const manifest = JSON.parse(readFileSync(path.join(webAppDir, '.vite', 'manifest.json'), 'utf8')) as Record<string, ManifestEntry>;
  const closure = (key: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(key)) return seen;
    seen.add(key);
    for (const next of manifest[key]?.imports ?? []) closure(next, seen);
    return seen;
  };
  const entryKey = Object.keys(manifest).find((key) => manifest[key]!.isEntry)!;
  const shell = closure(entryKey);
  const sizeOf = (keys: Iterable<string>) => {
    let js = 0;
    let css = 0;
    for (const key of keys) {
      js += gzipped(manifest[key]!.file);
      for (const sheet of manifest[key]!.css ?? []) css += gzipped(sheet);
    }
    return { jsGzipKB: Math.round(js / 102.4) / 10, cssGzipKB: Math.round(css / 102.4) / 10 };
  };
  const rooms: Record<string, { jsGzipKB: number; cssGzipKB: number }> = {};
  for (const room of ['designer', 'tasks', 'accounts', 'ops']) {
    const key = Object.keys(manifest).find((candidate) => candidate.endsWith(`rooms/${room}/${room}-room.tsx`));
    if (key) rooms[room] = sizeOf(new Set([...shell, ...closure(key)]));
  }
  const result = { shell: sizeOf(shell), rooms, goalDesignerJsGzipKB: 1536 };
  console.log(`shell (login, navigation): ${result.shell.jsGzipKB} KB of JavaScript gzipped`);
  for (const [room, size] of Object.entries(rooms)) console.log(`${room} room, shell included: ${size.jsGzipKB} KB of JavaScript gzipped (+${size.cssGzipKB} KB CSS)`);
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
