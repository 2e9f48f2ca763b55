/**
 * The HTTP answers of the MCP handler that are not the SDK's: JSON-RPC error responses, the one
 * "Session not found" answer, and the bounded reading of a JSON request body.
 */

export function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * The one answer for every failed session check (bad signature, other principal, expired, revoked,
 * deleted, never issued): the same status, body and code path, so a caller probing ids or tokens
 * learns nothing about which check failed (the SDK's own "Session not found" body, verbatim).
 */
export function sessionNotFound(): Response {
  return jsonRpcError(404, -32001, 'Session not found');
}

/** A request body the handler refuses; `response` is the answer to send. */
export class BodyError extends Error {
  constructor(readonly response: Response) {
    super('bad body');
  }
}

/** True when the request says its body is JSON (`application/json`, with or without parameters). */
export function isJsonRequest(request: Request): boolean {
  return /^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '');
}

/** The request body parsed as JSON, or a `BodyError` (400 for bad JSON, 413 past `maxBytes`). */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  if (request.body === null) throw new BodyError(jsonRpcError(400, -32700, 'Parse error: Invalid JSON'));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    // Bounded before parsing: a huge body must not be buffered whole (memory exhaustion).
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyError(jsonRpcError(413, -32000, `Payload too large: at most ${maxBytes} bytes`));
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    throw new BodyError(jsonRpcError(400, -32700, 'Parse error: Invalid JSON'));
  }
}
