/**
 * The state checks every write runs once (src/contract/validate.ts), beyond what the compliance suite
 * asks of every store: how getters are read, that a getter which throws is still a typed refusal, and
 * that the string check on the JSON text neither misses a NUL or lone surrogate nor refuses a string
 * that merely looks like one.
 */
import { describe, expect, it } from 'vitest';
import { assertState, serializeState, stateJson } from '../../src/contract/validate.js';
import { codeOf as refusal } from '../support/codes.js';


describe('state validation', () => {
  it('reads a getter like a data property, as JSON.stringify does', () => {
    const state = Object.defineProperty({ a: 1 }, 'b', { get: () => [2, 3], enumerable: true });
    expect(refusal(() => assertState(state))).toBeUndefined();
    expect(JSON.parse(stateJson(state))).toEqual({ a: 1, b: [2, 3] });
    // A getter is checked for what it returns.
    const bad = Object.defineProperty({}, 'when', { get: () => new Date(0), enumerable: true });
    expect(refusal(() => stateJson(bad))).toBe('invalid_input');
  });

  it('a getter that throws is a typed refusal, never the getter’s own error', () => {
    const state = Object.defineProperty({ a: 1 }, 'b', { get: () => { throw new Error('boom'); }, enumerable: true });
    expect(refusal(() => assertState(state))).toBe('invalid_input');
    expect(refusal(() => stateJson(state))).toBe('invalid_input');
  });

  it('finds a NUL or a lone surrogate anywhere, in values and keys, at any depth', () => {
    const deep = (v: unknown) => ({ a: [{ b: { c: v } }] });
    for (const bad of ['x\u0000y', '\ud800', 'tail \udfff']) {
      expect(refusal(() => stateJson(deep(bad)))).toBe('invalid_input');
      expect(refusal(() => stateJson({ nested: { [bad]: 1 } }))).toBe('invalid_input');
      expect(refusal(() => assertState(deep(bad)))).toBe('invalid_input');
    }
  });

  it('accepts strings whose JSON text merely holds a \\u escape: control characters, a literal backslash-u', () => {
    const state = { control: '\u0001\u001f', literal: '\\u0000 and \\ud800', mixed: 'ok \u0007 \\u' };
    expect(JSON.parse(stateJson(state))).toEqual(state);
  });

  it('refuses symbol keys at any depth (JSON would drop them silently)', () => {
    expect(refusal(() => stateJson({ a: { [Symbol('s')]: 1 } }))).toBe('invalid_input');
    expect(refusal(() => assertState({ a: [{ [Symbol('s')]: 1 }] }))).toBe('invalid_input');
  });

  it('measures size in UTF-8 bytes when a bound is given', () => {
    expect(refusal(() => serializeState({ s: 'é'.repeat(600) }, 1000))).toBe('payload_too_large');
    expect(refusal(() => serializeState({ s: 'e'.repeat(600) }, 1000))).toBeUndefined();
  });
});
