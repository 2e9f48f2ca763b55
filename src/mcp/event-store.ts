/**
 * The encrypted per-session event store behind Streamable HTTP resumability (`Last-Event-ID`).
 *
 * The SDK's EventStore interface is given no session id (SDK issue #1004): one shared store can
 * replay one session's events into another. Here every transport gets its own `SessionEventStore`
 * bound to one session, and every event id carries a tag of that session, so an event id from
 * another session is refused before anything is read.
 *
 * Layout (record ids in the events backend, each value sealed by an `EncryptedStore` whose
 * namespace is `<namespace>:events`, so an event envelope never opens as a session or vice versa):
 *
 *   ev.<sid>.n      { n }            the last sequence number handed out (compare-and-swap counter)
 *   ev.<sid>.<seq>  { s, m }         stream id and JSON-RPC message of event <seq>
 *
 * Event ids are `<tag>.<seq>`, tag = first 96 bits of SHA-256(MCP_EVENT_TAG_LABEL ‖ 0x00 ‖ sid) in
 * base64url. The counter is a record in the shared backend advanced by compare-and-swap, so a
 * sequence continues across instances and survives the death of the process that wrote last.
 *
 * Bound: at most `maxEventsPerSession` events per session (default 1000). Writing event n deletes
 * event n - max: the oldest are dropped, and a client that fell further behind than that cannot
 * resume (its Last-Event-ID is refused and it must start a fresh stream). Every event record
 * expires with the session's absolute deadline; `deleteSession` removes them with the session.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import {
  EncryptedStore,
  InvalidInputError,
  type JsonValue,
  type Keyring,
  MCP_EVENT_TAG_LABEL,
  type RecordStore,
  type RekeyOptions,
  type RekeyResult,
  type SealedRecords,
  base64urlDecode,
  base64urlEncode,
  compareAndSwap,
  constantTimeEqual,
  intOption,
  redactedView,
  optionsObject,
  keyUsage,
  labelled,
  rekey,
  utf8Encode,
} from '../internal.js';

export const DEFAULT_MAX_EVENTS_PER_SESSION = 1000;
/** Event records read in parallel during a replay. */
const REPLAY_BATCH = 32;

export interface McpEventLogOptions {
  /**
   * Where the sealed events live. Give it its own key space (for Redis, a second `RedisStore` on
   * the same client with another `prefix`), so the session store's listing, re-key and key-usage
   * walks never meet event records.
   */
  backend: RecordStore;
  keyring: Keyring;
  /** Authenticated in every event envelope. Default: the session store's namespace + ':events'. */
  namespace: string;
  /** Events kept per session; older ones are dropped. Default 1000, at most 100 000. */
  maxEventsPerSession?: number;
  /** Largest event (JSON text) sealed; default 1 MiB. */
  maxEventBytes?: number;
  now?: () => number;
  /**
   * A failed event write (backend down, event too large). The message is still delivered live; only
   * its resumability is lost (its id is never resolvable). Default: ignored.
   */
  onError?: (error: unknown) => void;
}

/** The events of every session, sealed over one backend. */
export class McpEventLog {
  readonly store: EncryptedStore;
  /** The backend the sealed events live in (the namespace registry records where it is). */
  readonly backend: RecordStore;
  readonly maxEventsPerSession: number;
  readonly onError: (error: unknown) => void;
  /** The events backend under the sealing layer, and that layer's sealer: what re-key and key usage walk. */
  private readonly sealed: SealedRecords;

  constructor(options: McpEventLogOptions) {
    options = optionsObject(options, 'McpEventLog options', false);
    this.onError = options.onError ?? (() => {});
    this.maxEventsPerSession = intOption(options.maxEventsPerSession, DEFAULT_MAX_EVENTS_PER_SESSION, 1, 100_000, 'maxEventsPerSession');
    this.store = new EncryptedStore(options.backend, {
      keyring: options.keyring,
      namespace: options.namespace,
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.maxEventBytes === undefined ? {} : { maxPlaintextBytes: options.maxEventBytes }),
    });
    this.backend = options.backend;
    this.sealed = { inner: options.backend, sealer: this.store.sealer, now: options.now ?? Date.now };
  }

  /** An EventStore for one session; its events expire at `expiresAt` (the session's absolute deadline). */
  forSession(sessionId: string, expiresAt: number): SessionEventStore {
    return new SessionEventStore(this, sessionId, expiresAt);
  }

  /** Deletes every event of a session and its counter (best effort; the rest expire with the session). */
  async deleteSession(sessionId: string): Promise<void> {
    const counter = await this.store.loadRecord(counterId(sessionId)).catch(() => undefined);
    const head = counter !== undefined && typeof counter.value.n === 'number' ? counter.value.n : 0;
    const ids: string[] = [];
    for (let seq = Math.max(1, head - this.maxEventsPerSession - REPLAY_BATCH); seq <= head; seq++) ids.push(eventRecordId(sessionId, seq));
    for (let i = 0; i < ids.length; i += 256) {
      await Promise.all(ids.slice(i, i + 256).map((id) => this.store.deleteRecord(id).catch(() => false)));
    }
    await this.store.deleteRecord(counterId(sessionId)).catch(() => false);
  }

  /** Re-seals every live event under the primary encryption key (run it beside `SecureStore.rekey`). */
  rekey(options?: RekeyOptions): Promise<RekeyResult> {
    return rekey(this.sealed, options);
  }

  /**
   * Removes expired events (those of sessions that ended by idle timeout stay until the session's
   * absolute deadline). Redis drops them by native TTL; call this periodically on SQL backends.
   */
  cleanupExpired(): Promise<number> {
    return this.store.cleanupExpired();
  }

  /** Live events per encryption kid (check it too before retiring an encrypt key). */
  keyUsage(): Promise<Record<string, number>> {
    return keyUsage(this.sealed);
  }

  /** Closes the event layer and the events backend store (not an injected client). */
  close(): Promise<void> {
    return this.store.close();
  }
}

function counterId(sessionId: string): string {
  return `ev.${sessionId}.n`;
}

function eventRecordId(sessionId: string, seq: number): string {
  return `ev.${sessionId}.${seq}`;
}

/** The session tag inside event ids (not secret: the client holds the session id already). */
export function sessionEventTag(sessionId: string): string {
  return base64urlEncode(sha256(utf8Encode(labelled(MCP_EVENT_TAG_LABEL, sessionId))).subarray(0, 12));
}

const EVENT_ID = /^([A-Za-z0-9_-]{16})\.([1-9][0-9]{0,14})$/;

function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  return value !== null && typeof value === 'object' && (value as { jsonrpc?: unknown }).jsonrpc === '2.0';
}

/** One session's events; handed to that session's transport only. */
export class SessionEventStore implements EventStore {
  /** While true (a restore replaying `initialize`), events are not stored: they already were, on the first instance. */
  suppressed = false;
  private readonly tag: string;
  private readonly tagBytes: Uint8Array;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: McpEventLog,
    readonly sessionId: string,
    private readonly expiresAt: number,
  ) {
    this.tag = sessionEventTag(sessionId);
    this.tagBytes = utf8Encode(this.tag);
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    if (this.suppressed) return `${this.tag}.replayed`; // never resolvable: refused if presented
    try {
      return await this.append(streamId, message);
    } catch (err) {
      // Live delivery matters more than resumability: the SDK drops a message whose storage failed.
      this.log.onError(err);
      return `${this.tag}.unsaved`;
    }
  }

  private async append(streamId: string, message: JSONRPCMessage): Promise<string> {
    // The SDK's messages can hold `undefined` members (dropped by JSON on the wire); store the wire form.
    const wire = JSON.parse(JSON.stringify(message)) as JsonValue;
    const store = this.log.store;
    // Reservations of one session queue up in this process, so only other instances cause CAS retries.
    const reserve = this.chain.then(() =>
      compareAndSwap(store, counterId(this.sessionId), (cur) => ({
        value: { n: (cur !== undefined && typeof cur.value.n === 'number' ? cur.value.n : 0) + 1 },
        expiresAt: this.expiresAt,
      })),
    );
    this.chain = reserve.catch(() => undefined);
    const seq = (await reserve).value.n;
    await store.saveRecord(eventRecordId(this.sessionId, seq), { s: streamId, m: wire }, { expiresAt: this.expiresAt, ifAbsent: true });
    const drop = seq - this.log.maxEventsPerSession;
    if (drop >= 1) await store.deleteRecord(eventRecordId(this.sessionId, drop)).catch(() => false);
    return `${this.tag}.${seq}`;
  }

  /** The sequence number of an event id of THIS session, else undefined (another session's id is refused). */
  private parse(eventId: string): number | undefined {
    const m = EVENT_ID.exec(eventId);
    if (m === null) return undefined;
    // Refuse another session's event id before any read (cross-session replay, SDK issue #1004).
    if (!constantTimeEqual(utf8Encode(m[1]!), this.tagBytes) || base64urlDecode(m[1]!) === undefined) return undefined;
    return Number(m[2]);
  }

  private async load(seq: number): Promise<{ s: string; m: unknown } | undefined> {
    const rec = await this.log.store.loadRecord(eventRecordId(this.sessionId, seq));
    if (rec === undefined || typeof rec.value.s !== 'string') return undefined;
    return { s: rec.value.s, m: rec.value.m };
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const seq = this.parse(eventId);
    if (seq === undefined) return undefined;
    return (await this.load(seq))?.s;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const seq = this.parse(lastEventId);
    if (seq === undefined) throw new InvalidInputError('event id does not belong to this session');
    const first = await this.load(seq);
    if (first === undefined) throw new InvalidInputError('event is unknown or was dropped');
    const counter = await this.log.store.loadRecord(counterId(this.sessionId));
    const head = counter !== undefined && typeof counter.value.n === 'number' ? counter.value.n : seq;
    const from = Math.max(seq + 1, head - this.log.maxEventsPerSession + 1);
    for (let start = from; start <= head; start += REPLAY_BATCH) {
      const seqs = Array.from({ length: Math.min(REPLAY_BATCH, head - start + 1) }, (_, i) => start + i);
      const events = await Promise.all(seqs.map((n) => this.load(n).catch(() => undefined)));
      for (let i = 0; i < seqs.length; i++) {
        const ev = events[i];
        // Priming events (empty messages) only mark a position; they are not re-sent.
        if (ev === undefined || ev.s !== first.s || !isJsonRpcMessage(ev.m)) continue;
        await send(`${this.tag}.${seqs[i]!}`, ev.m);
      }
    }
    return first.s;
  }
}

// Logged or serialized: the namespace and bounds only, never the sealer's keys or a session's events.
redactedView(McpEventLog, (log) => ({ namespace: log.store.namespace, maxEventsPerSession: log.maxEventsPerSession }));
redactedView(SessionEventStore, () => ({}));
