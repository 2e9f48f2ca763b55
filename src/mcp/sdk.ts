/**
 * The MCP SDK (`@modelcontextprotocol/sdk`, an optional peer), loaded the first time a session
 * needs its transport, so importing `sealed-session-store/mcp` - the request-state codec, the
 * event log, the HTTP helpers - works without the SDK installed. Every other SDK reference in this
 * folder is a type.
 */
import type * as TransportModule from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { BackendUnavailableError } from '../internal.js';

let loading: Promise<typeof TransportModule> | undefined;

/** The SDK's web-standard transport module, imported once; rejects `backend_unavailable` when the SDK is not installed. */
export function loadTransportModule(): Promise<typeof TransportModule> {
  loading ??= import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js').catch((err: unknown) => {
    // Not cached: installing the SDK later (or a transient resolution failure) is not sticky.
    loading = undefined;
    throw new BackendUnavailableError(
      "MCP sessions need the optional package '@modelcontextprotocol/sdk' (>=1.25.0 <2): run `npm install @modelcontextprotocol/sdk`",
      { cause: err },
    );
  });
  return loading;
}
