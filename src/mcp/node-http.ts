/**
 * Node `http` adapter: IncomingMessage → web `Request`, web `Response` → ServerResponse, streaming
 * (SSE) bodies included. Type-only imports of node:http, so the web entry point stays loadable on
 * runtimes without Node's modules.
 */
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError } from '../internal.js';

interface WebHandler {
  handleRequest(request: Request, options?: { authInfo?: AuthInfo; parsedBody?: unknown }): Promise<Response>;
}

function requestUrl(req: IncomingMessage): string {
  // The Host header is client-controlled: it only names the URL the SDK reports back to tools,
  // never a routing or security decision here; a malformed one falls back to localhost.
  try {
    return new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`).href;
  } catch {
    return new URL(req.url ?? '/', 'http://localhost').href;
  }
}

export function toWebRequest(req: IncomingMessage, withBody: boolean): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const method = req.method ?? 'GET';
  let body: ReadableStream<Uint8Array> | undefined;
  if (withBody && method !== 'GET' && method !== 'HEAD') {
    const it = req[Symbol.asyncIterator]();
    body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = (await it.next()) as IteratorResult<Buffer>;
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      cancel() {
        req.destroy();
      },
    });
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (body !== undefined) {
    init.body = body;
    init.duplex = 'half';
  }
  return new Request(requestUrl(req), init);
}

export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== 'set-cookie') headers[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = response.body.getReader();
  // The client went away: cancel the stream so the SDK drops its mapping (and timers) for it.
  const onClose = () => void reader.cancel().catch(() => undefined);
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    res.off('close', onClose);
  }
}

/** Serves one Node request through a web-standard handler. `req.body` (express.json) is used when present. */
export async function handleNodeRequest(
  handler: WebHandler,
  req: IncomingMessage & { auth?: AuthInfo; body?: unknown },
  res: ServerResponse,
  parsedBody?: unknown,
): Promise<void> {
  if (typeof handler?.handleRequest !== 'function') throw new InvalidInputError('handleNodeRequest needs a handler with handleRequest (an mcpSessions() instance)');
  if (req === null || typeof req !== 'object' || res === null || typeof res !== 'object') throw new InvalidInputError('handleNodeRequest needs a Node request and response');
  const body = parsedBody ?? req.body;
  const request = toWebRequest(req, body === undefined);
  const response = await handler.handleRequest(request, {
    ...(req.auth === undefined ? {} : { authInfo: req.auth }),
    ...(body === undefined ? {} : { parsedBody: body }),
  });
  await writeWebResponse(response, res);
}
