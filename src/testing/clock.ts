/** A controllable clock for tests: TTLs are tested by moving time, never by sleeping. */
export interface FakeClock {
  now: () => number;
  advance(ms: number): void;
  set(epochMs: number): void;
}

export function createFakeClock(start: number = Date.now()): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    set(epochMs) {
      t = epochMs;
    },
  };
}
