/**
 * A keyring's link to where its keyset lives between processes (a keyset file, an environment
 * variable, your own store): `reload()` and `watch()` pick up changes made elsewhere, and
 * `transaction()` changes a writable source under its lock: read the stored keyset, change it
 * through a `KeyringManager`, check the invariants, write, then install the result in the keyring.
 * Locking and re-reading first is what keeps two rotations at once (two processes, two instances)
 * from losing a key.
 */
import { InvalidInputError, KeyStateError } from '../contract/errors.js';
import { intOption } from '../util/options.js';
import { type KeyEntry, parseJwks, toJwks } from './jwks.js';
import { KeyringManager, type KeyringManagerOptions } from './keyring-manager.js';
import type { KeyringSource } from './source.js';

export interface WatchOptions {
  /** Polling interval; default 2000 ms. */
  intervalMs?: number;
  /** Called when a reload fails (the keyring keeps its current keys). Default: ignore. */
  onError?: (err: unknown) => void;
}

/** Default polling interval of a followed keyset: a rotation reaches this process within about this long. */
export const DEFAULT_FOLLOW_INTERVAL_MS = 1000;
/** Default spacing of unknown-kid reloads (`KeyringSync.catchUp`). */
export const DEFAULT_UNKNOWN_KID_RELOAD_MS = 1000;

/**
 * How a source-backed keyring follows its source on its own (`Keyring.fromFile` does by default;
 * `false` turns it off): polling for changes, and one rate-limited reload when an envelope or token
 * names a kid the keyring does not hold.
 */
export interface FollowOptions {
  /** Polling interval; default 1000 ms (1 .. 3 600 000). */
  intervalMs?: number;
  /** Shortest time between two reloads caused by unknown kids; default 1000 ms (0 .. 3 600 000). */
  unknownKidReloadMs?: number;
  /** Called when a reload fails; the keyring keeps the keys it had. Default: ignore. */
  onError?: (err: unknown) => void;
}

/**
 * What the sync may do to its keyring, handed over by the keyring itself: install a new keyset
 * (which also fires its change listeners). Nothing else gets this function, so only the source's
 * own contents ever replace a source-backed keyring's keys.
 */
export interface KeyringAccess {
  readonly options: KeyringManagerOptions;
  install(entries: KeyEntry[]): void;
}

export class KeyringSync {
  private fingerprint: string;
  /** What this keyring holds now: what a reloaded keyset must be a successor of (refuseRollback). */
  private installed: readonly KeyEntry[];
  private chain: Promise<unknown> = Promise.resolve();
  private readonly stops = new Set<() => void>();
  private followed: { unknownKidReloadMs: number; onError: (err: unknown) => void } | undefined;
  private catchingUp: Promise<boolean> | undefined;
  private lastCatchUp = Number.NEGATIVE_INFINITY;

  constructor(
    readonly source: KeyringSource,
    loaded: readonly KeyEntry[],
    private readonly ring: KeyringAccess,
  ) {
    this.fingerprint = fingerprintOf(loaded);
    this.installed = snapshot(loaded);
  }

  /** Re-reads the source; installs the keys when they changed. Resolves whether anything changed. */
  async reload(): Promise<boolean> {
    const current = await this.source.read();
    if (current === undefined) throw new KeyStateError(`${this.source.description} holds no keyset`);
    const parsed = parseJwks(current);
    const fingerprint = fingerprintOf(parsed);
    if (fingerprint === this.fingerprint) return false;
    refuseRollback(this.installed, parsed, this.source.description);
    this.ring.install(parsed);
    this.fingerprint = fingerprint;
    this.installed = snapshot(parsed);
    return true;
  }

  /** Reloads whenever the source reports a change. Returns a stop function; `close()` stops it too. */
  watch(options: WatchOptions = {}): () => void {
    if (this.source.watch === undefined) throw new KeyStateError('this keyring has no source that can be watched');
    const intervalMs = intOption(options.intervalMs, 2000, 1, 3_600_000, 'watch intervalMs');
    const onError = options.onError ?? (() => {});
    const stopWatch = this.source.watch(
      () => {
        this.reload().catch(onError);
      },
      { intervalMs },
    );
    const stop = () => {
      if (this.stops.delete(stop)) stopWatch();
    };
    this.stops.add(stop);
    return stop;
  }

  /**
   * Follows the source: watches it (when it can be watched) and arms `catchUp`. The polling timer
   * never keeps the process alive; `close()` stops it.
   */
  follow(options: FollowOptions): void {
    const intervalMs = intOption(options.intervalMs, DEFAULT_FOLLOW_INTERVAL_MS, 1, 3_600_000, 'follow.intervalMs');
    const unknownKidReloadMs = intOption(options.unknownKidReloadMs, DEFAULT_UNKNOWN_KID_RELOAD_MS, 0, 3_600_000, 'follow.unknownKidReloadMs');
    const onError = options.onError ?? (() => {});
    if (typeof onError !== 'function') throw new InvalidInputError('follow.onError must be a function');
    // A reporter that throws must not turn a failed reload into an unhandled rejection.
    const report = (err: unknown) => {
      try {
        onError(err);
      } catch {
        // ignored: the keyring keeps its keys whatever the reporter does
      }
    };
    this.followed = { unknownKidReloadMs, onError: report };
    if (this.source.watch !== undefined) this.watch({ intervalMs, onError: report });
  }

  /** Whether the keyring follows its source (`follow()` was called and `close()` was not). */
  get following(): boolean {
    return this.followed !== undefined;
  }

  /**
   * One reload because a record or token names a kid this keyring does not hold: another process
   * may have rotated before this one's next poll. Resolves whether the kid is known afterwards
   * (`known`); a failed reload resolves false (reported, keys kept).
   *
   * Threat: a forged envelope or token can name any kid. Were every unknown kid to cause a reload,
   * a stream of random kids would make the application re-read (and, for a wrapped keyset,
   * re-derive the passphrase key or call the KMS on) every request: a cheap denial of service.
   * So concurrent callers share one reload, and a new one starts at most once per
   * `unknownKidReloadMs` (on the keyring's clock); in between, an unknown kid is `unknown_key`
   * straight away.
   */
  catchUp(now: number, known: () => boolean): Promise<boolean> {
    const followed = this.followed;
    if (followed === undefined) return Promise.resolve(false);
    // Whatever happens, the answer is whether the kid is known now (a poll may have brought it).
    if (this.catchingUp !== undefined) return this.catchingUp.then(known);
    if (now - this.lastCatchUp < followed.unknownKidReloadMs) return Promise.resolve(known());
    this.lastCatchUp = now;
    const run = this.reload().then(known, (err: unknown) => {
      followed.onError(err);
      return false;
    });
    this.catchingUp = run.finally(() => {
      this.catchingUp = undefined;
    });
    return this.catchingUp;
  }

  /** Stops following and every watch. Idempotent. */
  close(): void {
    this.followed = undefined;
    for (const stop of [...this.stops]) stop();
  }

  /**
   * Under the source's lock: reads the stored keyset, runs `fn` on a manager over it, checks the
   * invariants, writes the result, then installs it in the keyring. When `fn` (or the write)
   * throws, nothing is stored and the keyring keeps the keys it had. One transaction at a time per
   * keyring; the source's lock orders them across keyrings and processes.
   */
  transaction<T>(fn: (manager: KeyringManager) => T | Promise<T>): Promise<T> {
    const source = this.source;
    if (!source.writable || source.transaction === undefined) return Promise.reject(new KeyStateError(`${source.description} is read-only`));
    const run = async (): Promise<T> => {
      let result: T | undefined;
      let installed: KeyEntry[] = [];
      await source.transaction!(async (stored) => {
        const manager = new KeyringManager(stored === undefined ? [] : parseJwks(stored), this.ring.options);
        result = await fn(manager);
        installed = manager.finish();
        return toJwks(installed);
      });
      this.ring.install(installed);
      this.fingerprint = fingerprintOf(installed);
      this.installed = snapshot(installed);
      return result as T;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** A cheap identity of a keyset's state (kids, statuses, timestamps) for change detection. */
function fingerprintOf(entries: Iterable<KeyEntry>): string {
  const parts: string[] = [];
  for (const e of entries) parts.push(`${e.info.kid}:${e.info.purpose}:${e.info.status}:${e.info.createdAt}:${e.info.demotedAt ?? ''}`);
  return parts.sort().join('|');
}

/** The facts refuseRollback compares (kid and status), without the key material. */
function snapshot(entries: readonly KeyEntry[]): KeyEntry[] {
  return entries.map((e) => ({ info: { ...e.info }, key: undefined }));
}

/**
 * A reloaded keyset must be a successor of the one in use: kids are never removed from a keyset
 * (a destroyed key stays listed) and a destroyed key never comes back. Threat: whoever can write the
 * keyset's storage (the store-held keyset's record, a keyset file) but not the key-encryption key
 * can still put back an OLDER wrapped copy; reloading it would drop every newer key (sessions sealed
 * under them become unreadable, and the fleet splits) and bring destroyed keys back to life. Such a
 * reload is refused: the keyring keeps its keys and the failure is reported like any failed reload.
 */
function refuseRollback(current: readonly KeyEntry[], next: readonly KeyEntry[], where: string): void {
  const nextByKid = new Map(next.map((e) => [e.info.kid, e.info.status]));
  for (const e of current) {
    const status = nextByKid.get(e.info.kid);
    if (status === undefined) throw new KeyStateError(`${where} no longer lists key ${e.info.kid}, which this process holds: an older copy of the keyset was put back? The keys in use are kept`);
    if (e.info.status === 'destroyed' && status !== 'destroyed') throw new KeyStateError(`${where} lists key ${e.info.kid} as ${status}, which was destroyed: an older copy of the keyset was put back? The keys in use are kept`);
  }
}
