/**
 * sealed-session-store/mcp: MCP Streamable HTTP sessions that are owner-bound, sealed in the secure
 * store, restorable on any instance, with an encrypted per-session event store for resumability.
 * The MCP SDK (`@modelcontextprotocol/sdk` >=1.25 <2) is a peer dependency loaded only from here.
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
export { INIT_KEY, LOG_LEVEL_KEY, RESERVED_KEY_PREFIX, type StoredInit } from './reserved-keys.js';
export { type RequestStateCodec, type RequestStateCodecOptions, requestStateCodec } from './request-state.js';
export { handleNodeRequest, toWebRequest, writeWebResponse } from './node-http.js';
