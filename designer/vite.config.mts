import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/**
 * Writes a .br and a .gz beside every text asset, so the API serves them precompressed (the
 * modeler's chunk is megabytes: compressing it per request would cost more than serving it).
 */
function precompress(): Plugin {
  return {
    name: 'keyflow-precompress',
    apply: 'build',
    // After the files are written: earlier hooks still see placeholders later plugins replace.
    writeBundle(options, bundle) {
      for (const fileName of Object.keys(bundle)) {
        if (!/\.(js|css|svg|html|json)$/.test(fileName)) continue;
        const file = path.join(options.dir!, fileName);
        const bytes = readFileSync(file);
        if (bytes.length < 1024) continue;
        writeFileSync(`${file}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 10 } }));
        writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
      }
    },
  };
}

const apiTarget = process.env.KEYFLOW_API_URL ?? 'http://localhost:3000';

export default defineConfig({
  root: path.dirname(fileURLToPath(import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    alias: [
      { find: 'react', replacement: 'preact/compat' },
      { find: 'react-dom', replacement: 'preact/compat' },
      // The engine's expressions require feelin and luxon at first use; the browser imports them.
      { find: /^\.\/lazy-modules$/, replacement: fileURLToPath(new URL('../workflows/lazy-modules.browser.ts', import.meta.url)) },
    ],
    // form-js's editor ships an older Preact of its own but renders the viewer's components,
    // which import the app's: two runtimes in one tree lose their hooks. One copy for all.
    dedupe: ['preact'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    assetsInlineLimit: 0,
    // bench:web reads the chunk graph from it.
    manifest: true,
  },
  plugins: [precompress()],
  server: {
    port: Number(process.env.KEYFLOW_WEB_DEV_PORT ?? 5173),
    proxy: { '/api': apiTarget, '/health': apiTarget },
    fs: { allow: ['..'] },
  },
});
