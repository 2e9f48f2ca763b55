import { MemoryStore } from 'sealed-session-store';
import { runStoreContract } from 'sealed-session-store/testing';

runStoreContract('MemoryStore', ({ now }) => new MemoryStore({ now }));
