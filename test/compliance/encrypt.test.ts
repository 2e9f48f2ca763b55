import { MemoryStore } from 'sealed-session-store';
import { runStoreContract } from 'sealed-session-store/testing';
import { Keyring } from '../../src/keys/keyring.js';
import { EncryptedStore } from '../../src/layers/encrypt.js';

// The encrypting layer over the embedded default, on each engine and algorithm: its record level
// carries plain JSON states (the envelopes are the inner store's business).
const keyring = Keyring.generate();
for (const [label, options] of [
  ['aes-256-gcm, auto engine', {}],
  ['aes-256-gcm, noble engine', { engine: 'noble' }],
  ['aes-256-gcm-siv', { algorithm: 'aes-256-gcm-siv' }],
  ['xchacha20-poly1305', { algorithm: 'xchacha20-poly1305' }],
] as const) {
  runStoreContract(`EncryptedStore (${label}) over MemoryStore`, ({ now }) => new EncryptedStore(new MemoryStore({ now }), { keyring, namespace: 'contract', now, ...options }), {
    bytes: false,
  });
}
