/**
 * sealed-session-store/mcp: MCP Streamable HTTP sessions that are owner-bound, sealed in the secure
 * store, restorable on any instance, with an encrypted per-session event store for resumability.
 * The MCP SDK (`@modelcontextprotocol/sdk` >=1.25 <2) is a peer dependency, loaded when the first
 * session is created (sdk.ts): the request-state codec and the event log work without it.
 */
export {
  McpSessions,
  type McpEventsOptions,
  type McpSessionsOptions,
  type McpSessionsStats,
  type PrewarmOptions,
  type PrewarmResult,
  type PrincipalResolver,
  mcpSessions,
} from './handler.js';
export type { McpServerLike, McpSessionContext, TransportOptions } from './session.js';
export { DEFAULT_MAX_EVENTS_PER_SESSION, McpEventLog, type McpEventLogOptions, SessionEventStore } from './event-store.js';
/** Keys under this prefix in a session's state are the MCP front's own; an application never writes them. */
export { RESERVED_KEY_PREFIX } from './reserved-keys.js';
export { type RequestStateCodec, type RequestStateCodecOptions, requestStateCodec } from './request-state.js';
export { handleNodeRequest } from './node-http.js';
