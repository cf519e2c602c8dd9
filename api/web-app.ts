import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { DatabasePool } from 'slonik';
import { mayEnter, roomOfPath } from '../designer/src/app/rooms';
import type { Config } from '../runtime/config';
import { projectRoot } from '../runtime/config';
import { authenticate } from './auth';

/** Where `vite build` writes the web app (`designer/dist`). */
export const webAppDir = path.join(projectRoot, 'designer', 'dist');

/**
 * No inline script anywhere; styles may be inline because bpmn-js and CodeMirror set element
 * styles and inject style sheets at run time. Everything is same-origin.
 */
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.html': 'text/html; charset=utf-8',
};

/**
 * Serves the built web app: hashed assets under `/assets/` cached for a year and sent
 * precompressed (brotli or gzip, as the client accepts), every other page path answered with
 * `index.html` (never cached, so a new build is picked up at once). A signed-in caller who asks for
 * a room their roles do not admit gets the page with status 403, before any script runs.
 */
export function createWebAppRouter(deps: { pool: DatabasePool; config: Config }, dir = webAppDir): Router {
  const router = express.Router();
  const sessionCheck = authenticate(deps);
  // Read per page request (it is half a kilobyte): a rebuild is served without a restart.
  const readIndex = () => readFileSync(path.join(dir, 'index.html'));

  router.use((req, res, next) => {
    res.setHeader('content-security-policy', contentSecurityPolicy);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    next();
  });

  router.get(/^\/(assets\/[A-Za-z0-9._-]+|favicon\.svg)$/, (req, res, next) => {
    const file = path.join(dir, req.path);
    if (!existsSync(file)) return next();
    const hashed = req.path.startsWith('/assets/');
    res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    res.setHeader('content-type', types[path.extname(file)] ?? 'application/octet-stream');
    res.setHeader('vary', 'accept-encoding');
    const accepts = String(req.headers['accept-encoding'] ?? '');
    for (const [encoding, suffix] of [['br', '.br'], ['gzip', '.gz']] as const) {
      if (new RegExp(`\\b${encoding}\\b`).test(accepts) && existsSync(file + suffix)) {
        res.setHeader('content-encoding', encoding);
        return sendFile(res, file + suffix);
      }
    }
    return sendFile(res, file);
  });

  const page: RequestHandler = async (req, res, next) => {
    if (!req.accepts('html')) return next();
    if (!existsSync(path.join(dir, 'index.html'))) {
      res.status(503).type('text/plain').send('The web app is not built: run `npm run build:web` (npm start and npm test build it when it is missing).');
      return;
    }
    const room = roomOfPath(req.path);
    const status = room && (await signedInRoles(req, res, sessionCheck).then((roles) => roles !== null && !mayEnter(room, roles))) ? 403 : 200;
    res.status(status).setHeader('cache-control', 'no-cache');
    res.type('html').send(readIndex());
  };
  router.get(/^\/(?!api\/|api$|health$)[^.]*$/, page);
  return router;
}

/** The roles of the session the request carries, or null when it carries none that is live. */
async function signedInRoles(req: Request, res: Response, sessionCheck: RequestHandler): Promise<readonly string[] | null> {
  if (!req.headers.cookie?.includes('kf_session=')) return null;
  try {
    let passed = false;
    await sessionCheck(req, res, () => {
      passed = true;
    });
    return passed && req.staff ? req.staff.roles : null;
  } catch {
    return null;
  }
}

/** Assets are named by their content's hash, so a file once read never changes: read each once. */
const fileCache = new Map<string, Buffer>();

function sendFile(res: Response, file: string): void {
  let body = fileCache.get(file);
  if (!body) {
    body = readFileSync(file);
    fileCache.set(file, body);
  }
  res.setHeader('content-length', String(body.length));
  res.end(body);
}
