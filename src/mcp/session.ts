/**
 * One MCP session live in this process: the SDK's web-standard transport, the user's server, and
 * the hooks that keep the secure store in step with them.
 *
 * - The `initialize` answer is held back until the negotiated protocol version, client info and
 *   capabilities are saved (sealed), so a client can never use a session id the store does not
 *   know (the SDK's `onsessioninitialized` fires before `initialize` is even processed in 1.x).
 * - A successful `logging/setLevel` is saved before its answer is sent.
 * - `replay()` rebuilds a session on a fresh transport + server with public SDK API only: it feeds
 *   the stored `initialize` and `notifications/initialized` (and the stored log level) through
 *   `handleRequest`, with saves, event storage and the user's `oninitialized` hook suppressed.
 *   A session is published (reachable by requests) only after its replay finished, so the
 *   suppression never covers a real request.
 */
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type {
  EventStore,
  WebStandardStreamableHTTPServerTransport,
  WebStandardStreamableHTTPServerTransportOptions,
} from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import type { Owner, SecureStore, SessionState } from '../internal.js';
import { BackendUnavailableError, InvalidInputError, assertState, createSessionId, partialOf } from '../internal.js';
import type { McpEventLog, SessionEventStore } from './event-store.js';
import { loadTransportModule } from './sdk.js';
import { INIT_KEY, LOG_LEVEL_KEY, type StoredInit, appState, assertAppPartial, isLogLevel } from './reserved-keys.js';

/** What the server factory gets: the session's identity and its application state. */
export interface McpSessionContext {
  /** The store id of the session (not the token the client holds). Throws before `initialize`. */
  readonly id: string;
  /** The authenticated principal of the session's latest verified request. */
  readonly owner: Owner;
  /** True when this server was built to restore a session created elsewhere (or earlier). */
  readonly restored: boolean;
  /** The application's state of this session (the reserved `$mcp:` keys left out). */
  state(): Promise<SessionState>;
  /**
   * Changes the application's state atomically and resolves it as written (the reserved keys left
   * out). `change` is merged shallowly; or pass a function `(current) => partial` for a
   * read-modify-write (`update((s) => ({ count: Number(s.count ?? 0) + 1 }))`): it runs inside the
   * store's compare-and-swap loop, so it may run more than once, on the state as it is then, and
   * must be pure and synchronous (no I/O, no side effects). Never `state()` then `update(value)`:
   * another request of the session (on any instance) can write in between, and its change is lost.
   * Rejects `conflict` when other writers kept winning for the store's whole retry budget (nothing
   * is written then), `not_found` / `expired` when the session is gone.
   */
  update(change: SessionState | ((current: SessionState) => SessionState)): Promise<SessionState>;
}

/** An `McpServer` or a low-level `Server`. */
export type McpServerLike = McpServer | Server;

export type TransportOptions = Pick<
  WebStandardStreamableHTTPServerTransportOptions,
  'enableJsonResponse' | 'allowedHosts' | 'allowedOrigins' | 'enableDnsRebindingProtection' | 'retryInterval'
>;

export interface LiveSessionDeps {
  store: SecureStore;
  events: McpEventLog | undefined;
  transportOptions: TransportOptions;
  ttlMs: number | undefined;
  createServer: (ctx: McpSessionContext) => McpServerLike | Promise<McpServerLike>;
}

type RequestId = string | number;
export type InitOutcome = 'saved' | 'refused' | 'failed';
type SendOptions = Parameters<WebStandardStreamableHTTPServerTransport['send']>[1];

function lowLevel(server: McpServerLike): Server {
  return 'server' in server && typeof (server as McpServer).connect === 'function' && (server as McpServer).server !== undefined
    ? (server as McpServer).server
    : (server as Server);
}

function isRequest(m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId; method: string; params?: Record<string, unknown> } {
  return 'method' in m && 'id' in m && m.id !== undefined;
}

function isResponse(m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId } {
  return 'id' in m && m.id !== undefined && ('result' in m || 'error' in m);
}

/** Id prefix of the requests a replay feeds to the SDK. */
export const REPLAY_ID_PREFIX = 'sss-replay-';
const REPLAY_TIMEOUT_MS = 10_000;

export class LiveSession {
  sid: string | undefined;
  owner: Owner | undefined;
  /** The Mcp-Session-Id the transport currently answers to (and keys its log level by). */
  token: string | undefined;
  /** The log level applied to this server, as stored. */
  appliedLogLevel: string | undefined;
  readonly restored: boolean;
  transport!: WebStandardStreamableHTTPServerTransport;
  server!: McpServerLike;
  private events: SessionEventStore | undefined;
  private replaying = false;
  /** The id of the client's `initialize` request, until it is answered. */
  private pendingInit: RequestId | undefined;
  private initSeen = false;
  private readonly pendingSetLevel = new Map<RequestId, string>();
  /**
   * Settles once `initialize` is over: `saved` (answered after the session was stored), `refused`
   * (the SDK answered with an error; nothing stored) or `failed` (the save failed; not answered).
   */
  initDone: Promise<InitOutcome>;
  private resolveInit!: (outcome: InitOutcome) => void;
  closed = false;

  private constructor(
    private readonly deps: LiveSessionDeps,
    restored: boolean,
  ) {
    this.restored = restored;
    this.initDone = new Promise((resolve) => {
      this.resolveInit = resolve;
    });
  }

  /** A session for a new `initialize`: its id is minted by the SDK's synchronous generator. */
  static async create(deps: LiveSessionDeps, owner: Owner): Promise<LiveSession> {
    const live = new LiveSession(deps, false);
    live.owner = owner;
    await live.build(() => {
      const sid = createSessionId();
      // The id handed to the SDK is a signed token bound to the principal, never a bare random id.
      const token = deps.store.issueToken(sid, owner);
      live.bind(sid, token, deps.store.verifyToken(token, owner).expiresAt);
      return token;
    });
    return live;
  }

  /** A session rebuilt from the store (another instance created it, or this process restarted). */
  static async restore(
    deps: LiveSessionDeps,
    args: { sid: string; token: string; owner: Owner | undefined; expiresAt: number; init: StoredInit; logLevel: string | undefined; url: string; authInfo: AuthInfo | undefined },
  ): Promise<LiveSession> {
    const live = new LiveSession(deps, true);
    live.owner = args.owner;
    live.bind(args.sid, args.token, args.expiresAt);
    await live.build(() => args.token);
    try {
      await live.replay(args.init, args.logLevel, args.url, args.authInfo);
    } catch (err) {
      await live.close();
      throw err;
    }
    return live;
  }

  private bind(sid: string, token: string, expiresAt: number): void {
    this.sid = sid;
    this.token = token;
    this.events = this.deps.events?.forSession(sid, expiresAt);
  }

  private async build(sessionIdGenerator: () => string): Promise<void> {
    // The transport is made before the session id exists; its event store follows the binding.
    const eventStore: EventStore | undefined =
      this.deps.events === undefined
        ? undefined
        : {
            storeEvent: (streamId, message) => this.eventStore().storeEvent(streamId, message),
            getStreamIdForEventId: (eventId) => this.eventStore().getStreamIdForEventId(eventId),
            replayEventsAfter: (lastEventId, opts) => this.eventStore().replayEventsAfter(lastEventId, opts),
          };
    // The SDK loads here, at the first session, never at import (sdk.ts).
    const { WebStandardStreamableHTTPServerTransport: Transport } = await loadTransportModule();
    this.transport = new Transport({
      ...this.deps.transportOptions,
      sessionIdGenerator,
      ...(eventStore === undefined ? {} : { eventStore }),
    });
    this.server = await this.deps.createServer(this.context());
    await this.server.connect(this.transport);
    this.installHooks();
  }

  private eventStore(): SessionEventStore {
    if (this.events === undefined) throw new InvalidInputError('session events used before the session id exists');
    return this.events;
  }

  private context(): McpSessionContext {
    const self = this;
    const scoped = () => {
      if (self.sid === undefined || self.owner === undefined) throw new InvalidInputError('the MCP session is not initialized yet');
      return { sid: self.sid, scoped: self.deps.store.for(self.owner) };
    };
    return {
      get id() {
        return scoped().sid;
      },
      get owner() {
        if (self.owner === undefined) throw new InvalidInputError('the MCP session has no verified principal yet');
        return self.owner;
      },
      restored: this.restored,
      async state() {
        const { sid, scoped: s } = scoped();
        return appState(await s.load(sid));
      },
      async update(change: SessionState | ((current: SessionState) => SessionState)) {
        if (typeof change !== 'function') {
          assertState(change, 'partial');
          assertAppPartial(change);
        }
        const { sid, scoped: s } = scoped();
        let written: SessionState | undefined;
        // Runs inside the store's compare-and-swap loop: the last run is the one written.
        await s.update(sid, (current) => {
          const app = appState(current);
          let partial: SessionState;
          if (typeof change === 'function') {
            const result = partialOf(change, app);
            assertState(result, 'the state returned by the update function');
            assertAppPartial(result);
            partial = result;
          } else {
            partial = change;
          }
          written = { ...app, ...partial };
          return partial;
        });
        return written!;
      },
    };
  }

  /** Wraps the transport's public `onmessage` / `send` (set by `connect`) to observe the protocol. */
  private installHooks(): void {
    const transport = this.transport;
    const onmessage = transport.onmessage;
    transport.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
      if (isRequest(message)) {
        if (message.method === 'initialize' && !this.initSeen && !this.replaying) {
          this.initSeen = true;
          this.pendingInit = message.id;
        } else if (message.method === 'logging/setLevel' && !this.replaying && isLogLevel(message.params?.level)) {
          this.pendingSetLevel.set(message.id, message.params.level);
        }
      }
      onmessage?.call(transport, message, extra);
    };
    const send = transport.send.bind(transport);
    transport.send = async (message: JSONRPCMessage, options?: SendOptions) => {
      if (isResponse(message) && !this.replaying) {
        if (this.pendingInit !== undefined && message.id === this.pendingInit) {
          this.pendingInit = undefined;
          const settle = this.resolveInit;
          if (!('result' in message)) {
            await send(message, options);
            settle('refused');
            return;
          }
          let ok = true;
          try {
            await this.saveInit((message.result as { protocolVersion?: unknown }).protocolVersion);
          } catch {
            ok = false;
          }
          // Answer only after the save: until then the client must not learn (and use) the id.
          if (ok) await send(message, options);
          settle(ok ? 'saved' : 'failed');
          return;
        }
        const level = this.pendingSetLevel.get(message.id);
        if (level !== undefined) {
          this.pendingSetLevel.delete(message.id);
          if ('result' in message) {
            try {
              await this.persist({ [LOG_LEVEL_KEY]: level });
              this.appliedLogLevel = level;
            } catch {
              // The level is live here but not stored: say so rather than let instances disagree.
              await send({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: 'Internal error: log level not saved' } }, options);
              return;
            }
          }
        }
      }
      await send(message, options);
    };
  }

  private async saveInit(negotiated: unknown): Promise<void> {
    const low = lowLevel(this.server);
    const clientInfo = low.getClientVersion();
    const capabilities = low.getClientCapabilities();
    if (this.sid === undefined || this.owner === undefined || typeof negotiated !== 'string' || clientInfo === undefined || capabilities === undefined) {
      throw new InvalidInputError('initialize finished without a session id or client information');
    }
    const init: StoredInit = {
      v: 1,
      protocolVersion: negotiated,
      capabilities: JSON.parse(JSON.stringify(capabilities)) as SessionState,
      clientInfo: JSON.parse(JSON.stringify(clientInfo)) as SessionState,
    };
    const scoped = this.deps.store.for(this.owner);
    await scoped.save(this.sid, { [INIT_KEY]: init as unknown as SessionState }, this.deps.ttlMs === undefined ? {} : { ttlMs: this.deps.ttlMs });
  }

  private async persist(partial: SessionState): Promise<void> {
    if (this.sid === undefined || this.owner === undefined) throw new InvalidInputError('the MCP session is not bound to a stored session yet');
    await this.deps.store.for(this.owner).update(this.sid, partial);
  }

  /** Feeds the stored handshake (and log level) through the fresh transport, with side effects off. */
  private async replay(init: StoredInit, logLevel: string | undefined, url: string, authInfo: AuthInfo | undefined): Promise<void> {
    const low = lowLevel(this.server);
    const userHook = low.oninitialized;
    low.oninitialized = () => {};
    this.replaying = true;
    if (this.events !== undefined) this.events.suppressed = true;
    try {
      const base = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
      await this.feed(url, base, authInfo, {
        jsonrpc: '2.0',
        id: `${REPLAY_ID_PREFIX}init`,
        method: 'initialize',
        params: { protocolVersion: init.protocolVersion, capabilities: init.capabilities, clientInfo: init.clientInfo },
      });
      if (low.getClientCapabilities() === undefined) throw new BackendUnavailableError('the stored session could not be restored: its replayed initialize was not accepted');
      const session = { ...base, 'mcp-session-id': this.token!, 'mcp-protocol-version': init.protocolVersion };
      await this.feed(url, session, authInfo, { jsonrpc: '2.0', method: 'notifications/initialized' });
      if (logLevel !== undefined) {
        await this.feed(url, session, authInfo, { jsonrpc: '2.0', id: `${REPLAY_ID_PREFIX}level`, method: 'logging/setLevel', params: { level: logLevel } });
        this.appliedLogLevel = logLevel;
      }
    } finally {
      this.replaying = false;
      if (this.events !== undefined) this.events.suppressed = false;
      if (userHook === undefined) Reflect.deleteProperty(low, 'oninitialized');
      else low.oninitialized = userHook;
    }
  }

  private async feed(url: string, headers: Record<string, string>, authInfo: AuthInfo | undefined, body: unknown): Promise<void> {
    const request = new Request(url, { method: 'POST', headers });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        (async () => {
          const res = await this.transport.handleRequest(request, { parsedBody: body, ...(authInfo === undefined ? {} : { authInfo }) });
          const text = await res.text();
          if (!res.ok) throw new BackendUnavailableError(`the stored session could not be restored: replay refused by the SDK (${res.status}): ${text.slice(0, 200)}`);
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new BackendUnavailableError('the stored session could not be restored: replay timed out')), REPLAY_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the transport (ends its streams) and the server. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.resolveInit('failed');
    await this.server?.close().catch(() => undefined);
    await this.transport?.close().catch(() => undefined);
  }
}
