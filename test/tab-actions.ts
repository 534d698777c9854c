/**
 * The actions of the model-based tab tests (tab-scenario.ts) and the arbitraries generating them:
 * joins, commits, closes, crashes, freezes, pins, packs, waits and stray messages, each naming
 * the tab it acts on by an index into the live tabs (so fast-check shrinks them freely).
 */
import fc from 'fast-check';
import { PROTOCOL_VERSION } from '../src/shared/protocol.js';

/** The tab model's busyTimeout, in ms: small, so busy paths run often. */
export const BUSY = 150;
export const MAX_TABS = 5;

export type Feature =
  | 'owner-close' // closing the owner while calls are in flight
  | 'crash'
  | 'freeze'
  | 'pin'
  | 'pack'
  | 'stray-malformed' // garbage and other protocol versions
  | 'stray-close' // a 'close' call from a tab that does not exist
  | 'stray-pin' // a 'pin' call from a tab that does not exist, or with a tid that is not one
  | 'stray-answer' // results and errors for ids never asked, owner announcements of no tab
  | 'busy-resend'; // resending a commit that failed with StorageBusyError

type Stray = { feature: Feature; message: unknown };

export type Action =
  | { kind: 'join' }
  | { kind: 'commit'; tab: number; shared: boolean }
  | { kind: 'close'; tab: number; owner: boolean }
  | { kind: 'crash'; tab: number; owner: boolean }
  | { kind: 'freeze'; tab: number; owner: boolean; ms: number }
  | { kind: 'pin'; tab: number; release: boolean }
  | { kind: 'pack'; tab: number }
  | { kind: 'stray'; channel: 'main' | 'calls' | 'answer'; tab: number; stray: Stray }
  | { kind: 'wait'; ms: number };

const weirdNumber = fc.constantFrom<unknown>('3', Number.NaN, -1, 0.5, 2 ** 60, null, {}, [1]);
const strangerId = fc.constantFrom('stranger', 'tab99', '');

const strayArb: fc.Arbitrary<Stray> = fc.oneof(
  fc
    .oneof(
      fc.constant<unknown>(null),
      fc.string(),
      fc.integer(),
      fc.record({ v: fc.constant(PROTOCOL_VERSION), type: fc.string() }),
      fc.record({
        v: fc.constant(PROTOCOL_VERSION + 1),
        type: fc.constant('result'),
        id: fc.nat(20),
        value: fc.nat(),
      }),
      fc.record({
        v: fc.constant(PROTOCOL_VERSION),
        type: fc.constant('call'),
        id: fc.nat(),
        method: fc.constant('load'),
        args: fc.constant('x'),
      }),
    )
    .map((message) => ({ feature: 'stray-malformed' as const, message })),
  fc.record({ id: fc.nat(), from: strangerId }).map(({ id, from }) => ({
    feature: 'stray-close' as const,
    message: { v: PROTOCOL_VERSION, type: 'call', id, method: 'close', args: [], from },
  })),
  fc.record({ id: fc.nat(), from: strangerId, tid: weirdNumber }).map(({ id, from, tid }) => ({
    feature: 'stray-pin' as const,
    message: { v: PROTOCOL_VERSION, type: 'call', id, method: 'pin', args: ['holder', tid], from },
  })),
  fc
    .oneof(
      fc.nat().map((n) => ({ v: PROTOCOL_VERSION, type: 'result', id: 1_000_000 + n, value: 'x' })),
      fc.nat().map((n) => ({
        v: PROTOCOL_VERSION,
        type: 'error',
        id: 1_000_000 + n,
        error: { shelfError: true, name: 'WriteConflictError', message: 'stray', oids: [1] },
      })),
      fc.constant({ v: PROTOCOL_VERSION, type: 'hello', tabId: 'ghost' }),
    )
    .map((message) => ({ feature: 'stray-answer' as const, message })),
);

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'join' as const }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('commit' as const),
      tab: fc.nat(MAX_TABS - 1),
      shared: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('close' as const),
      tab: fc.nat(MAX_TABS - 1),
      owner: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      tab: fc.nat(MAX_TABS - 1),
      owner: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('freeze' as const),
      tab: fc.nat(MAX_TABS - 1),
      owner: fc.boolean(),
      ms: fc.integer({ min: 10, max: 3 * BUSY }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('pin' as const),
      tab: fc.nat(MAX_TABS - 1),
      release: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('pack' as const), tab: fc.nat(MAX_TABS - 1) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('stray' as const),
      channel: fc.constantFrom('main' as const, 'calls' as const, 'answer' as const),
      tab: fc.nat(MAX_TABS - 1),
      stray: strayArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(40) }) },
);

/** The features an action exercises (for KNOWN_FAILING). */
export function features(action: Action): Feature[] {
  switch (action.kind) {
    case 'close':
      return action.owner ? ['owner-close'] : [];
    case 'crash':
      return ['crash'];
    case 'freeze':
      return ['freeze'];
    case 'pin':
      return ['pin'];
    case 'pack':
      return ['pack'];
    case 'stray':
      return [action.stray.feature];
    default:
      return [];
  }
}
