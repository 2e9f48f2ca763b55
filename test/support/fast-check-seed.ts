/**
 * Property tests explore a new random seed on every local run (that is how they find bugs), but CI
 * must be reproducible: under CI (or with SSS_TEST_FC_SEED) every fast-check run uses one fixed seed.
 * A failure prints its seed; SSS_TEST_FC_SEED=<seed> replays it.
 */
import fc from 'fast-check';

const fixed = process.env.SSS_TEST_FC_SEED ?? (process.env.CI ? '20261124' : undefined);
if (fixed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(fixed) });
