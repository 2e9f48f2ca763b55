/**
 * `mcpSessions()`: the request handler in front of the MCP SDK's Streamable HTTP transport that
 * makes sessions owner-bound, sealed in the secure store, and restorable on any instance.
 *
 *   request ─► principal (authentication: yours) ─► no Mcp-Session-Id: a single `initialize` only
 *                                                  ─► Mcp-Session-Id: token + owner + revocation + TTL
 *                                                     checked BEFORE the SDK sees the request; any
 *                                                     failure is the same 404
 *           ─► the session's transport in this process, or one rebuilt from the store (one restore
 *              at a time per session) ─► the SDK
 *
 * The SDK itself compares `Mcp-Session-Id` by string equality and binds it to nobody; here the id
 * is a signed token bound to the principal, checked on every request, and the sealed session
 * record (owner hash, deadlines, revocation) is the single source of truth: a transport alive in
 * this process is only a cache of it.
 *
 * A restore rebuilds the session, not the work in flight: docs/mcp.md lists what does not survive
 * the death of the process holding a session, and why sticky routing stays the normal path.
 */
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BackendUnavailableError, type Owner, type RecordStore, type SecureStore, type SessionState, isSessionStoreError, redactedView, registerEventsNamespace } from '../internal.js';
import { intOption, optionsObject } from '../util/options.js';
import { McpEventLog } from './event-store.js';
import { BodyError, isJsonRequest, jsonRpcError, readJsonBody, sessionNotFound } from './http.js';
import { LiveSessions } from './live-sessions.js';
import { handleNodeRequest } from './node-http.js';
import { readInit, readLogLevel, type StoredInit } from './reserved-keys.js';
import { LiveSession, type LiveSessionDeps, type McpSessionContext, type McpServerLike, type TransportOptions } from './session.js';

/** Resolves the authenticated principal of a request, or undefined (answered 401). */
export type PrincipalResolver = (request: Request, authInfo: AuthInfo | undefined) => Owner | undefined | Promise<Owner | undefined>;

export interface McpEventsOptions {
  /** Where sealed events live; give it its own key space (e.g. a RedisStore with another prefix). */
  backend: RecordStore;
  /** Default: `<session store namespace>:events`. */
  namespace?: string;
  /** Default 1000; the oldest events are dropped past it. */
  maxEventsPerSession?: number;
  /** Largest event sealed (JSON text); default 1 MiB. */
  maxEventBytes?: number;
}

export interface McpSessionsOptions {
  /** The secure store sessions live in (its keyring signs the session tokens). */
  store: SecureStore;
  /** Builds the server of one session (called for new sessions and for restores). */
  createServer: (session: McpSessionContext) => McpServerLike | Promise<McpServerLike>;
  /**
   * The authenticated principal of a request. Default: from the SDK's `authInfo` (set by your
   * bearer-auth middleware): subject = `authInfo.extra.sub` when a string, else the client id.
   * A request without a principal is answered 401: a session never replaces authentication.
   */
  principal?: PrincipalResolver;
  /** Resumability (`Last-Event-ID`) from an encrypted per-session event store. Off when absent. */
  events?: McpEventsOptions | McpEventLog;
  /** Passed to the SDK transport. */
  transport?: TransportOptions;
  /** Idle TTL of new sessions; default the store's idle TTL. */
  sessionTtlMs?: number;
  /** Sessions kept live in this process (least recently used are closed, restorable later). Default 1000. */
  maxLocalSessions?: number;
  /** Largest request body read; default 4 MiB. */
  maxBodyBytes?: number;
  /** How long a new session may take to answer `initialize` and be stored; default 30 s. */
  initTimeoutMs?: number;
  now?: () => number;
  /** Unexpected errors (backend down, a server factory that throws). Never given tokens or state. */
  onError?: (error: unknown, where: string) => void;
}

export interface PrewarmOptions {
  /** Most sessions restored; default 100. */
  limit?: number;
  /** Restores at once; default 4 (1..32). */
  concurrency?: number;
}

export interface PrewarmResult {
  restored: number;
  skipped: number;
  failed: number;
}

export interface McpSessionsStats {
  local: number;
  created: number;
  restored: number;
  rejected: number;
}

const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
/** The longest delay `setTimeout` honours (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The codes that mean "this session id does not open a session for this principal". */
const CHECK_FAILURES = new Set(['not_found', 'expired', 'owner_mismatch', 'integrity', 'unknown_key', 'invalid_input', 'invalid_token']);

function defaultPrincipal(_request: Request, authInfo: AuthInfo | undefined): Owner | undefined {
  if (authInfo === undefined || typeof authInfo.clientId !== 'string' || authInfo.clientId.length === 0) return undefined;
  const sub = authInfo.extra?.sub;
  return { subject: typeof sub === 'string' && sub.length > 0 ? sub : authInfo.clientId, clientId: authInfo.clientId };
}

function isInitializeMessage(body: unknown): boolean {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && (body as { method?: unknown }).method === 'initialize' && 'id' in body;
}

export class McpSessions {
  readonly store: SecureStore;
  /** The encrypted event store (re-key it beside the session store), when resumability is on. */
  readonly events: McpEventLog | undefined;
  private readonly deps: LiveSessionDeps;
  private readonly principal: PrincipalResolver;
  private readonly local: LiveSessions;
  private readonly restoring = new Map<string, Promise<LiveSession>>();
  private readonly maxBody: number;
  private readonly initTimeoutMs: number;
  private readonly now: () => number;
  private readonly onError: (error: unknown, where: string) => void;
  private readonly ownsEvents: boolean;
  private readonly counters = { created: 0, restored: 0, rejected: 0 };
  private closed = false;

  constructor(options: McpSessionsOptions) {
    options = optionsObject(options, 'mcpSessions options', false);
    // Options first, so a bad one refuses before an event log is built.
    this.local = new LiveSessions(intOption(options.maxLocalSessions, 1000, 1, Number.MAX_SAFE_INTEGER, 'maxLocalSessions'));
    this.maxBody = intOption(options.maxBodyBytes, DEFAULT_MAX_BODY, 1, Number.MAX_SAFE_INTEGER, 'maxBodyBytes');
    this.initTimeoutMs = intOption(options.initTimeoutMs, 30_000, 1, MAX_TIMER_MS, 'initTimeoutMs');
    this.store = options.store;
    if (options.events instanceof McpEventLog) {
      this.events = options.events;
      this.ownsEvents = false;
    } else if (options.events !== undefined) {
      this.events = new McpEventLog({
        backend: options.events.backend,
        keyring: options.store.keyring,
        namespace: options.events.namespace ?? `${options.store.namespace}:events`,
        ...(options.events.maxEventsPerSession === undefined ? {} : { maxEventsPerSession: options.events.maxEventsPerSession }),
        ...(options.events.maxEventBytes === undefined ? {} : { maxEventBytes: options.events.maxEventBytes }),
        ...(options.now === undefined ? {} : { now: options.now }),
        onError: (err) => this.onError(err, 'storeEvent'),
      });
      this.ownsEvents = true;
    } else {
      this.events = undefined;
      this.ownsEvents = false;
    }
    // So `sealed-session keys retire` / `rekey` find the events too (src/admin/namespaces.ts); best effort.
    if (this.events !== undefined) void registerEventsNamespace(options.store, this.events.backend, this.events.store.namespace, (options.now ?? Date.now)());
    this.deps = {
      store: options.store,
      events: this.events,
      transportOptions: options.transport ?? {},
      ttlMs: options.sessionTtlMs,
      createServer: options.createServer,
    };
    this.principal = options.principal ?? defaultPrincipal;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
  }

  /** Web-standard entry point (Hono, workers, Bun, Deno, Next route handlers). */
  async handleRequest(request: Request, options: { authInfo?: AuthInfo; parsedBody?: unknown } = {}): Promise<Response> {
    if (this.closed) return jsonRpcError(503, -32000, 'Server shutting down');
    try {
      const owner = await this.principal(request, options.authInfo);
      if (owner === undefined) return jsonRpcError(401, -32001, 'Unauthorized', { 'www-authenticate': 'Bearer' });
      const header = request.headers.get('mcp-session-id');
      return header === null ? await this.handleNew(request, owner, options) : await this.handleExisting(request, header, owner, options);
    } catch (err) {
      if (err instanceof BodyError) return err.response;
      this.onError(err, 'handleRequest');
      const code = isSessionStoreError(err) ? err.code : undefined;
      return code === 'backend_unavailable' || code === 'conflict'
        ? jsonRpcError(503, -32000, 'Service unavailable')
        : jsonRpcError(500, -32603, 'Internal error');
    }
  }

  /** Node `http` entry point; `req.auth` (set by the SDK's bearer-auth middleware) is the authInfo. */
  handleNodeRequest(req: IncomingMessage & { auth?: AuthInfo; body?: unknown }, res: ServerResponse, parsedBody?: unknown): Promise<void> {
    return handleNodeRequest(this, req, res, parsedBody);
  }

  private async handleNew(request: Request, owner: Owner, options: { authInfo?: AuthInfo; parsedBody?: unknown }): Promise<Response> {
    if (request.method !== 'POST') return jsonRpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    if (options.parsedBody === undefined && !isJsonRequest(request)) {
      return jsonRpcError(415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const body = options.parsedBody ?? (await readJsonBody(request, this.maxBody));
    // Only an `initialize` creates a session; anything else without an id creates nothing.
    if (!isInitializeMessage(body)) return jsonRpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const live = await LiveSession.create(this.deps, owner);
    let response: Response;
    try {
      response = await live.transport.handleRequest(request, { parsedBody: body, ...(options.authInfo === undefined ? {} : { authInfo: options.authInfo }) });
    } catch (err) {
      await live.close();
      throw err;
    }
    if (live.sid === undefined || !response.ok) {
      // The SDK refused before minting an id (headers, protocol version): nothing to keep.
      await live.close();
      return response;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      live.initDone,
      new Promise<'failed'>((resolve) => {
        timer = setTimeout(() => resolve('failed'), this.initTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'saved') {
      this.counters.created++;
      this.local.publish(live.sid, live);
      return response;
    }
    if (outcome === 'refused') {
      // The SDK's error answer is queued in the stream already; the session was never stored.
      void live.close();
      return response;
    }
    await response.body?.cancel().catch(() => undefined);
    await live.close();
    this.onError(new BackendUnavailableError('a new MCP session could not be stored'), 'initialize');
    return jsonRpcError(503, -32000, 'Service unavailable');
  }

  private async handleExisting(request: Request, token: string, owner: Owner, options: { authInfo?: AuthInfo; parsedBody?: unknown }): Promise<Response> {
    // 1. The token: signature, kid, expiry and owner binding, synchronously, before any I/O.
    let sid: string;
    let expiresAt: number;
    try {
      ({ sessionId: sid, expiresAt } = this.store.verifyToken(token, owner));
    } catch {
      this.counters.rejected++;
      return sessionNotFound();
    }
    // 2. The sealed record: owner hash, idle/absolute deadlines, revocation (and the cheap sliding renewal).
    let data: SessionState;
    try {
      ({ state: data } = await this.store.for(owner).loadWithMeta(sid));
    } catch (err) {
      const code = isSessionStoreError(err) ? err.code : undefined;
      if (code !== undefined && CHECK_FAILURES.has(code)) {
        this.counters.rejected++;
        await this.local.drop(sid);
        return sessionNotFound();
      }
      throw err;
    }
    const init = readInit(data);
    if (init === undefined) {
      // A valid session of this store that is not an MCP session: never adopt it.
      this.counters.rejected++;
      return sessionNotFound();
    }
    if (request.method === 'DELETE') {
      await this.store.for(owner).delete(sid);
      await this.events?.deleteSession(sid).catch((err: unknown) => this.onError(err, 'deleteSession'));
      await this.local.drop(sid);
      return new Response(null, { status: 200 });
    }
    const level = readLogLevel(data);
    let live = this.local.get(sid);
    // A live transport is only a cache of the record: rebuild it when the record moved on elsewhere
    // (log level changed on another instance) or its log level is keyed by another id.
    if (live !== undefined && (live.closed || live.appliedLogLevel !== level || (level !== undefined && live.token !== token))) {
      await this.local.drop(sid);
      live = undefined;
    }
    if (live === undefined) live = await this.restoreOnce(sid, token, owner, expiresAt, init, level, request.url, options.authInfo);
    // Both checks above bound this request to `owner`; tool handlers act for it.
    live.owner = owner;
    if (live.token !== token) {
      // Another valid token of the same session (or a prewarmed transport): the SDK's string
      // comparison must see the id this request carries, which we verified ourselves.
      live.transport.sessionId = token;
      live.token = token;
    }
    this.local.touch(sid, live);
    let parsedBody = options.parsedBody;
    if (request.method === 'POST' && parsedBody === undefined && isJsonRequest(request)) {
      parsedBody = await readJsonBody(request, this.maxBody);
    }
    return live.transport.handleRequest(request, {
      ...(parsedBody === undefined ? {} : { parsedBody }),
      ...(options.authInfo === undefined ? {} : { authInfo: options.authInfo }),
    });
  }

  /** One restore at a time per session: concurrent requests of one session share it. */
  private restoreOnce(
    sid: string,
    token: string,
    owner: Owner | undefined,
    expiresAt: number,
    init: StoredInit,
    logLevel: string | undefined,
    url: string,
    authInfo: AuthInfo | undefined,
  ): Promise<LiveSession> {
    const pending = this.restoring.get(sid);
    if (pending !== undefined) return pending;
    const run = (async () => {
      try {
        const live = await LiveSession.restore(this.deps, { sid, token, owner, expiresAt, init, logLevel, url, authInfo });
        this.counters.restored++;
        this.local.publish(sid, live);
        return live;
      } finally {
        this.restoring.delete(sid);
      }
    })();
    this.restoring.set(sid, run);
    return run;
  }

  /**
   * Opt-in, at start-up: restores up to `limit` active MCP sessions of the store into this process,
   * `concurrency` at a time, so the first request after a failover does not pay for the replay.
   * Sessions with a stored log level are left to restore on demand (the SDK keys the level by the
   * client's token, which is not stored).
   */
  async prewarm(options: PrewarmOptions = {}): Promise<PrewarmResult> {
    const limit = intOption(options.limit, 100, 0, Number.MAX_SAFE_INTEGER, 'limit');
    const concurrency = intOption(options.concurrency, 4, 1, 32, 'concurrency');
    const result: PrewarmResult = { restored: 0, skipped: 0, failed: 0 };
    let cursor: string | undefined;
    let visited = 0;
    do {
      const page = await this.store.listActive(cursor === undefined ? { limit: Math.min(100, Math.max(1, limit - visited)) } : { limit: Math.min(100, Math.max(1, limit - visited)), cursor });
      const ids = page.ids.slice(0, Math.max(0, limit - visited));
      visited += ids.length;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length) {
          const sid = ids[next++]!;
          try {
            if (this.local.has(sid)) {
              result.skipped++;
              continue;
            }
            const found = await this.store.inspect(sid);
            const init = readInit(found.state);
            if (init === undefined || found.expiresAt <= this.now() || readLogLevel(found.state) !== undefined) {
              result.skipped++;
              continue;
            }
            // No token and no principal are known yet: the first verified request supplies both.
            await this.restoreOnce(sid, `prewarmed.${sid}`, undefined, found.meta.absoluteAt, init, undefined, 'http://localhost/', undefined);
            result.restored++;
          } catch (err) {
            result.failed++;
            this.onError(err, 'prewarm');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
      cursor = page.cursor;
    } while (cursor !== undefined && visited < limit);
    return result;
  }

  stats(): McpSessionsStats {
    return { local: this.local.size, ...this.counters };
  }

  /** Closes every live transport of this process (sessions stay in the store). Not the store itself. */
  async close(): Promise<void> {
    this.closed = true;
    await this.local.closeAll();
    if (this.ownsEvents) await this.events?.close();
  }
}

/** Builds the MCP session handler over a secure store. */
export function mcpSessions(options: McpSessionsOptions): McpSessions {
  return new McpSessions(options);
}

// Logged or serialized: the namespace and the counters only (threat: key material in logs).
redactedView(McpSessions, (sessions) => ({ namespace: sessions.store.namespace, events: sessions.events !== undefined }));
