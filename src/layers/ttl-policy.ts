/**
 * The TTL rules as pure functions over a frozen policy: the meta of a new session, rounding to the
 * backend's granularity, sliding renewal, and the clamp to the absolute deadline. `TtlStore`
 * enforces them on every read and write; the ownership layer builds its writes with the same
 * functions, so the two can never disagree on what a deadline is.
 *
 * Defaults follow OWASP's Session Management Cheat Sheet: 30 min idle (it suggests 15-30 min for
 * most applications) and 12 h absolute (it suggests 4-8 h for office workers; 12 h covers a long
 * working day of an MCP client). Sliding renewal is off by default.
 */
import { MAX_TTL_MS, normalizeTtl } from '../contract/validate.js';
import { boolOption, intOption } from '../util/options.js';
import { SEALED_FORMAT, type SessionMeta } from './sealed.js';

export const DEFAULT_IDLE_MS = 30 * 60 * 1000;
export const DEFAULT_ABSOLUTE_MS = 12 * 60 * 60 * 1000;

export interface TtlPolicyOptions {
  /** Idle timeout (the default TTL of a save). Default 30 min. */
  idleMs?: number;
  /** Absolute lifetime from creation; nothing extends a session past it. Default 12 h. */
  absoluteMs?: number;
  /** Renew the idle window on access when less than half of it remains. Default false. */
  sliding?: boolean;
  /** The backend's expiry granularity; TTLs round UP to a multiple of it. Default 1 ms. */
  granularityMs?: number;
}

export interface TtlPolicy {
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly sliding: boolean;
  readonly granularityMs: number;
}

/** A checked, frozen policy (`invalid_input` for a bad option). */
export function ttlPolicy(options: TtlPolicyOptions = {}): TtlPolicy {
  return Object.freeze({
    idleMs: intOption(options.idleMs, DEFAULT_IDLE_MS, 1, MAX_TTL_MS, 'idleMs'),
    absoluteMs: intOption(options.absoluteMs, DEFAULT_ABSOLUTE_MS, 1, MAX_TTL_MS, 'absoluteMs'),
    sliding: boolOption(options.sliding, false, 'sliding'),
    granularityMs: intOption(options.granularityMs, 1, 1, MAX_TTL_MS, 'granularityMs'),
  });
}

/** A caller's TTL (`invalid_input` when bad) rounded UP to the granularity: never down, so a session never ends early. */
export function roundTtl(policy: TtlPolicy, ttlMs: number): number {
  const ttl = normalizeTtl(ttlMs);
  return Math.ceil(ttl / policy.granularityMs) * policy.granularityMs;
}

/** Meta of a session created at `now` with idle window `ttlMs`. */
export function newMeta(policy: TtlPolicy, now: number, ttlMs: number): SessionMeta {
  return { v: SEALED_FORMAT, createdAt: now, expiresAt: now + ttlMs, absoluteAt: now + policy.absoluteMs, ttlMs };
}

/** When a record with this meta expires: its idle expiry, never past its absolute deadline. */
export function expiryOf(meta: SessionMeta): number {
  return Math.min(meta.expiresAt, meta.absoluteAt);
}

/** An expiry a write asks for, clamped to the absolute deadline: nothing a caller passes can outlive it. */
export function clampToDeadline(meta: SessionMeta, expiresAt: number): number {
  return Math.min(expiresAt, meta.absoluteAt);
}

/**
 * The expiry a write at `now` should carry for a record expiring at `expiresAt`: renewed to
 * now + ttl when sliding is on and less than half the idle window remains, else unchanged. Folded
 * into the write a request makes anyway; the write clamps it to the absolute deadline.
 */
export function renewedExpiry(policy: TtlPolicy, meta: SessionMeta, expiresAt: number, now: number): number {
  if (policy.sliding && expiresAt - now < meta.ttlMs / 2 && expiresAt < meta.absoluteAt) return now + meta.ttlMs;
  return expiresAt;
}

/** Meta for a re-save at `now` with idle window `ttlMs`: a live session keeps its createdAt and absolute deadline. */
export function resavedMeta(policy: TtlPolicy, live: SessionMeta | undefined, now: number, ttlMs: number): SessionMeta {
  return live !== undefined ? { ...live, ttlMs } : newMeta(policy, now, ttlMs);
}

/** Migration: meta for a plain state written before the TTL layer existed, taken as created at `now`. */
export function legacyMeta(policy: TtlPolicy, now: number, backendExpiresAt: number): SessionMeta {
  return { v: SEALED_FORMAT, createdAt: now, expiresAt: backendExpiresAt, absoluteAt: now + policy.absoluteMs, ttlMs: policy.idleMs };
}
