import { adaptSessionStoreSingleProcess } from 'sealed-session-store/kit';
import { runStoreContract } from 'sealed-session-store/testing';
import { MapSessionStore } from '../../examples/custom-store.js';

// A user-written, session-level-only store adapted to the record level (examples/custom-store.ts).
runStoreContract('user-written MapSessionStore via adaptSessionStoreSingleProcess', ({ now }) =>
  adaptSessionStoreSingleProcess(new MapSessionStore(now), { now }),
);
