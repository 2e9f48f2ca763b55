import { MemoryStore } from 'sealed-session-store';
import { runStoreContract } from 'sealed-session-store/testing';
import { TtlStore } from '../../src/layers/ttl.js';

// The TTL layer alone over the embedded default (its record level carries the sealed shape, not bytes).
runStoreContract('TtlStore over MemoryStore', ({ now }) => new TtlStore(new MemoryStore({ now }), { now }), { recordLevel: false });
