/**
 * Every error the library throws carries a documented code. Each public function and constructor of
 * every entry is called with bad options (nothing, null, numbers, strings, empty or foreign objects,
 * functions): it may accept them, but if it refuses, the refusal is a `SessionStoreError` with a code
 * (`invalid_input` for bad options), never a plain `TypeError` or `RangeError`. A table of known-bad
 * options then checks the refusals that must happen.
 */
import * as root from 'sealed-session-store';
import { isSessionStoreError } from 'sealed-session-store';
import * as config from 'sealed-session-store/config';
import * as kit from 'sealed-session-store/kit';
import * as mcp from 'sealed-session-store/mcp';
import * as pglite from 'sealed-session-store/pglite';
import * as postgres from 'sealed-session-store/postgres';
import * as redis from 'sealed-session-store/redis';
import * as tokens from 'sealed-session-store/tokens';
import { describe, expect, it } from 'vitest';

const ENTRIES = { root, kit, tokens, config, redis, postgres, pglite, mcp } as const;

const GARBAGE: unknown[][] = [
  [],
  [undefined],
  [null],
  [42],
  ['x'],
  [{}],
  [{ bogus: 1 }],
  [[], []],
  [{}, {}],
  [Symbol('s')],
  [() => 1],
  ['x', 'y', 'z'],
  [{}, 'x', 5],
  [null, null, null],
];

/** Not callable by applications: the error classes themselves (they take a message). */
const SKIP = new Set(['Keyring']); // its constructor is protected: applications use the static factories
const isClass = (fn: Function) => /^class\b/.test(Function.prototype.toString.call(fn));

async function outcome(call: () => unknown): Promise<unknown> {
  try {
    const r = call();
    if (r instanceof Promise) await Promise.race([r, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('no public function or constructor throws an error without a code', () => {
  for (const [entry, mod] of Object.entries(ENTRIES)) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || /Error$/.test(name) || SKIP.has(name)) continue;
      const fn = value as (...args: unknown[]) => unknown;
      it(`${entry}: ${name}`, async () => {
        const untyped: string[] = [];
        for (const args of GARBAGE) {
          const err = await outcome(() => (isClass(fn) ? Reflect.construct(fn, args) : fn(...args)));
          if (err !== undefined && !isSessionStoreError(err)) untyped.push(`(${args.map((a) => typeof a).join(', ')}) ${String(err)}`);
        }
        expect(untyped).toEqual([]);
      });
    }
  }

  it('Keyring static factories', async () => {
    for (const args of GARBAGE) {
      for (const make of [
        () => root.Keyring.generate(...(args as [])),
        () => root.Keyring.insecureFromCleartextJwks(...(args as [unknown])),
        () => root.Keyring.fromSource(...(args as [never])),
        () => root.Keyring.fromFile(...(args as [never, never])),
        () => root.Keyring.fromEnv(...(args as [never, never])),
        () => root.Keyring.fromWrapped(...(args as [never, never])),
      ]) {
        const err = await outcome(make);
        if (err !== undefined) expect(isSessionStoreError(err), String(err)).toBe(true);
      }
    }
  });
});

describe('bad options are invalid_input', () => {
  const fakeClient = { status: 'wait' } as never;
  const backend = () => new root.MemoryStore();
  const cases: Array<[string, () => unknown]> = [
    ['secureStore without options', () => root.secureStore(backend(), undefined as never)],
    ['secureStore with null options', () => root.secureStore(backend(), null as never)],
    ['MemoryStore with null options', () => new root.MemoryStore(null as never)],
    ['MemoryStore with a bad number', () => new root.MemoryStore({ defaultTtlMs: -1 })],
    ['KeysetFileSource without options', () => new root.KeysetFileSource('k.json', undefined as never)],
    ['KeysetEnvSource without options', () => new root.KeysetEnvSource('K', undefined as never)],
    ['RedisStore without a client', () => new redis.RedisStore({} as never)],
    ['RedisStore with null options', () => new redis.RedisStore(null as never)],
    ['RedisStore with a bad timeout', () => new redis.RedisStore({ client: fakeClient, commandTimeoutMs: 0 })],
    ['PostgresStore without options', () => new postgres.PostgresStore(undefined as never)],
    ['PostgresStore with a bad timeout', () => new postgres.PostgresStore({ pool: { connect() {}, on() {}, off() {} } as never, timeoutMs: -5 })],
    ['PgliteStore without options', () => new pglite.PgliteStore(undefined as never)],
    ['compareAndSwap without a store', () => kit.compareAndSwap(undefined as never, 'id', () => ({ value: {}, expiresAt: 1 }))],
    ['compareAndSwap without next', () => kit.compareAndSwap(backend(), 'id', undefined as never)],
    ['newVersion with a bad random source', () => kit.newVersion(42 as never)],
    ['newVersion with a short random source', () => kit.newVersion(() => new Uint8Array(3))],
    ['createSessionId with a bad random source', () => tokens.createSessionId('x' as never)],
    ['constantTimeEqual with no bytes', () => tokens.constantTimeEqual(undefined as never, new Uint8Array(1))],
    ['loadConfigFromEnv with null', () => config.loadConfigFromEnv(null as never)],
    ['loadKeyring without a config', () => config.loadKeyring(undefined as never)],
    ['validateConfig with a bad adapter', () => config.validateConfig({ adapter: 'nope' } as never)],
    ['mcpSessions without options', () => mcp.mcpSessions(undefined as never)],
    ['McpEventLog without options', () => new mcp.McpEventLog(undefined as never)],
    ['requestStateCodec without options', () => mcp.requestStateCodec(undefined as never)],
    ['handleNodeRequest without a handler', () => mcp.handleNodeRequest(undefined as never, {} as never, {} as never)],
  ];
  for (const [what, call] of cases) {
    it(what, async () => {
      const err = await outcome(call);
      expect(err, 'expected a refusal').toBeDefined();
      expect(isSessionStoreError(err, 'invalid_input'), String(err)).toBe(true);
    });
  }

  it('isRecordStore answers false for anything that is not a store', () => {
    for (const v of [undefined, null, 42, 'x', {}]) expect(kit.isRecordStore(v as never)).toBe(false);
  });
});
