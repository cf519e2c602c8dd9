import type { Request } from 'express';
import { requireRoles, type Role } from './auth';
import { ApiError } from './errors';
import type { ApiRoutes } from './routing';
import { decodeXmlDocument, XmlEncodingError } from './xml-encoding';
import { documentElementId } from '../workflows/bpmn';

const xmlTypes = ['application/xml', 'text/xml', 'application/octet-stream'];

/**
 * Mounts, before a route that takes an XML document, the content-type check (415) and a body
 * read with a hard limit: a larger upload is cut off at the limit (413) and its connection
 * dropped, never buffered whole — then decoded by the encoding the document declares (400 when its
 * bytes are not that encoding). The same door as the BPMN deploy's.
 */
export function acceptXmlBody(routes: ApiRoutes, routePath: string | string[], roles: readonly Role[], limit: number, what: string, extraTypes: readonly string[] = []): void {
  // The role first: a caller who may not upload hears 403, not what was wrong with the upload.
  routes.router.post(routePath, requireRoles(...roles), (req, _res, next) => {
    if (!req.is([...xmlTypes, ...extraTypes])) return next(new ApiError('UNSUPPORTED_MEDIA_TYPE', `send ${what} as application/xml or text/xml`));
    next();
  });
  routes.router.post(routePath, (req, res, next) => {
    readLimitedBody(req, limit, what).then(
      (bytes) => {
        try {
          req.body = decodeXmlDocument(bytes, charsetOf(req));
        } catch (error) {
          if (!(error instanceof XmlEncodingError)) throw error;
          // The shape of every other refusal of a model: its problems, by element.
          return next(new ApiError('VALIDATION_FAILED', error.message, [{ elementId: documentElementId, code: error.code, message: error.message }]));
        }
        next();
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.code === 'PAYLOAD_TOO_LARGE') {
          // The rest of the upload is not wanted: answer, then drop the connection rather than
          // read (even to discard) up to the client's last byte.
          res.setHeader('connection', 'close');
          res.once('finish', () => setImmediate(() => req.socket.destroy()));
        }
        next(error);
      },
    );
  });
}

/** The `charset` parameter of the request's content type, if it has one. */
function charsetOf(req: Request): string | undefined {
  return /charset=([^;]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.trim().replace(/"/g, '') || undefined;
}

/**
 * Reads a request body's bytes, refusing it as soon as it passes `limit` bytes (by its
 * Content-Length up front, or while it streams). Compressed bodies are refused: a small gzip can
 * inflate past any limit before it is checked.
 */
export function readLimitedBody(req: Request, limit: number, what: string): Promise<Buffer> {
  const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', `${what} is larger than ${limit / 1024 / 1024} MB`);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') return Promise.reject(new ApiError('UNSUPPORTED_MEDIA_TYPE', `send ${what} uncompressed`));
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        cleanup();
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ApiError('BAD_REQUEST', `the upload failed: ${error.message}`));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
