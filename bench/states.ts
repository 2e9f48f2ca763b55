/**
 * Realistic MCP-like session states of a chosen JSON size, built deterministically (a fixed-seed
 * PRNG), so every run measures the same bytes: protocol version, client info, negotiated
 * capabilities, pending requests with tool-call arguments, resource subscriptions and app state.
 */
import type { SessionState } from '../src/index.js';

export const SIZES = { '256B': 256, '1KB': 1024, '16KB': 16 * 1024, '256KB': 256 * 1024 } as const;
export type SizeName = keyof typeof SIZES;

/** xorshift32: deterministic filler, not randomness anyone relies on. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const WORDS = ['alpha', 'report', 'query', 'invoice', 'customer', 'region', 'north', 'draft', 'summary', 'ticket', 'deploy', 'review'];
const TOOLS = ['search_docs', 'create_ticket', 'run_query', 'fetch_url', 'summarize', 'list_files'];

function words(rand: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  return out.join(' ');
}

/** The fixed part every MCP session carries (about 200 bytes of JSON). */
function base(): SessionState {
  return {
    protocolVersion: '2025-06-18',
    clientInfo: { name: 'claude-desktop', version: '1.4.2' },
    capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
    initialized: true,
    logLevel: 'info',
    pendingRequests: [],
    subscriptions: [],
    appState: { history: [] },
  };
}

/** A state whose JSON text is at least `bytes` long (and within one entry of it). */
export function mcpState(bytes: number, seed = 42): SessionState {
  const rand = prng(seed);
  const state = base();
  const pending = state.pendingRequests as SessionState[];
  const subs = state.subscriptions as string[];
  const history = (state.appState as { history: SessionState[] }).history;
  let n = 0;
  // Track the JSON length incrementally (re-serializing each step would be quadratic at 256 KB):
  // each array entry adds its own JSON plus one comma.
  let length = JSON.stringify(state).length;
  const add = <T>(list: T[], entry: T) => {
    list.push(entry);
    length += JSON.stringify(entry).length + (list.length > 1 ? 1 : 0);
  };
  while (length < bytes) {
    switch (n % 3) {
      case 0:
        add(pending, {
          id: n,
          method: 'tools/call',
          params: { name: TOOLS[n % TOOLS.length]!, arguments: { q: words(rand, 4), limit: 1 + Math.floor(rand() * 50) } },
          startedAt: 1_760_000_000_000 + n * 1000,
        } as SessionState);
        break;
      case 1:
        add(subs, `file:///workspace/${words(rand, 2).replace(' ', '/')}-${n}.md`);
        break;
      default:
        add(history, { at: 1_760_000_000_000 + n * 997, event: words(rand, 3), ok: rand() > 0.1 });
    }
    n++;
  }
  return state;
}

/** States for every size, built once per run. */
export function statesFor(sizes: readonly SizeName[]): Map<SizeName, SessionState> {
  return new Map(sizes.map((s) => [s, mcpState(SIZES[s])]));
}
