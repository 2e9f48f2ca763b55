/**
 * What an MCP session keeps in the secure store, beside the application's own state.
 *
 * The session record's `data` holds the application's keys as they are, plus two reserved keys:
 *
 *   "$mcp:init"      { v: 1, protocolVersion, capabilities, clientInfo }  written once, after the
 *                    SDK answered `initialize` (the negotiated version, not the one the client asked)
 *   "$mcp:logLevel"  the level of the last successful `logging/setLevel`
 *
 * Keeping them top-level (not nested) lets the store's atomic `update(partial)` change the
 * application's keys and the log level independently, with no read-modify-write race between them.
 * Application code can neither read nor write the reserved keys through the session context.
 */
import { InvalidInputError, type SessionState } from '../internal.js';

export const INIT_KEY = '$mcp:init';
export const LOG_LEVEL_KEY = '$mcp:logLevel';
export const RESERVED_KEY_PREFIX = '$mcp:';

/** What is needed to rebuild a session on another instance: a replay of `initialize`. */
export interface StoredInit {
  v: 1;
  protocolVersion: string;
  capabilities: SessionState;
  clientInfo: SessionState;
}

const LOG_LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']);

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The stored `initialize`, or undefined when the record is not an MCP session (or malformed). */
export function readInit(data: SessionState): StoredInit | undefined {
  const init = data[INIT_KEY];
  if (!isObject(init) || init.v !== 1) return undefined;
  if (typeof init.protocolVersion !== 'string' || !isObject(init.capabilities) || !isObject(init.clientInfo)) return undefined;
  return { v: 1, protocolVersion: init.protocolVersion, capabilities: init.capabilities as SessionState, clientInfo: init.clientInfo as SessionState };
}

export function readLogLevel(data: SessionState): string | undefined {
  const level = data[LOG_LEVEL_KEY];
  return typeof level === 'string' && LOG_LEVELS.has(level) ? level : undefined;
}

export function isLogLevel(level: unknown): level is string {
  return typeof level === 'string' && LOG_LEVELS.has(level);
}

/** The application's view of a session: everything but the reserved keys. */
export function appState(data: SessionState): SessionState {
  const out: SessionState = {};
  for (const [k, v] of Object.entries(data)) if (!k.startsWith(RESERVED_KEY_PREFIX)) out[k] = v;
  return out;
}

/**
 * Refuses application writes to the reserved keys: a tool handler (or input it echoes) must not be
 * able to rewrite the stored client capabilities that a restore replays.
 */
export function assertAppPartial(partial: SessionState): void {
  for (const k of Object.keys(partial)) {
    if (k.startsWith(RESERVED_KEY_PREFIX)) throw new InvalidInputError(`state keys starting with '${RESERVED_KEY_PREFIX}' are reserved for the MCP integration`);
  }
}
