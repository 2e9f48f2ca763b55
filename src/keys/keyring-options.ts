/**
 * The options a keyring takes, and their defaults: kept apart from keyring.ts so that file stays
 * about keys. Re-exported by keyring.ts.
 */
import { intOption, optionsObject } from '../util/options.js';
import { type RandomSource, secureRandom } from '../util/random.js';
import type { KeyringManagerOptions } from './keyring-manager.js';
import type { FollowOptions } from './keyring-source.js';

/** Twelve hours: OWASP's usual upper bound for an absolute session lifetime. */
export const DEFAULT_MAX_SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

export interface KeyringOptions {
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Source of key material and kids; default the platform CSPRNG. */
  random?: RandomSource;
  /**
   * Longest a session (and so a token or owner hash made for it) may live. `sign` / `hash` keys
   * retire only this long after they stopped being primary, unless forced. Default 12 hours.
   */
  maxSessionLifetimeMs?: number;
  /**
   * Source-backed keyrings: poll the source and reload once on an unknown kid (keyring-source.ts
   * `FollowOptions`). `fromFile` follows by default; `false` turns it off. Stopped by `close()`.
   */
  follow?: false | FollowOptions;
}

export interface UsableKey {
  readonly kid: string;
  readonly key: Uint8Array;
}


/** The keyring's options with their defaults, checked (`invalid_input`). */
export function managerOptions(options: KeyringOptions): KeyringManagerOptions {
  options = optionsObject(options, 'keyring options');
  return Object.freeze({
    now: options.now ?? Date.now,
    random: options.random ?? secureRandom,
    maxSessionLifetimeMs: intOption(options.maxSessionLifetimeMs, DEFAULT_MAX_SESSION_LIFETIME_MS, 0, Number.MAX_SAFE_INTEGER, 'maxSessionLifetimeMs'),
  });
}

