/**
 * What the tabs of one origin share, injected into TabRouter: Web Locks and BroadcastChannels (the
 * real ones in the worker, fakes in Node tests: test/fake-tabs.ts).
 */

/** The part of BroadcastChannel used here. */
export interface Channel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** The part of the Web Locks API used here (navigator.locks). */
export interface Locks {
  request(name: string, callback: () => Promise<unknown>): Promise<unknown>;
  /** navigator.locks.query(): lets a new owner learn which tabs are alive, to wait for their pins. */
  query?(): Promise<{ held?: { name?: string }[] }>;
}

export interface TabPlatform {
  locks: Locks;
  channel(name: string): Channel;
}
