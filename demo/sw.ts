/**
 * The built app's service worker (vite-plugin-pwa's injectManifest builds it, and writes the list
 * of the app shell's files into `self.__WB_MANIFEST`):
 *   1. note attachments by URL: `<scope>shelfdb/blob/<hash>` is answered by shelfdb's blob route
 *      from the blob files of this origin's databases (ranges, ETag, offline: nothing leaves the
 *      browser), so the list writes `<img src>` with `blobPath(file)`, no object URL to revoke;
 *   2. the app shell precached by Workbox, as the generated worker did before, so the app opens
 *      with the network off.
 * A new build takes over at once (skipWaiting, clientsClaim): the app has no "update available"
 * prompt, and the first load is controlled, so it works offline right away.
 */
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';
import { serveBlob } from 'shelfdb/service-worker';

/** The parts of the ServiceWorkerGlobalScope used here (the page's DOM lib does not type it). */
interface WorkerScope {
  __WB_MANIFEST: (string | { url: string; revision: string | null })[];
  skipWaiting(): Promise<void>;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
}

/** A service worker's FetchEvent, the part used. */
interface FetchEventLike {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}

// Typed here as a service worker's global (in this module only); `self.__WB_MANIFEST` must be
// written as such: the build replaces that very text with the list.
declare const self: WorkerScope;

// First, so blob URLs never reach the precache's route (they are not in it anyway) or the network.
self.addEventListener('fetch', (event) => {
  // respondWith must be called synchronously: the cheap test of the path decides.
  if (!new URL(event.request.url).pathname.includes('/shelfdb/blob/')) return;
  event.respondWith(serveBlob(event.request).then((response) => response ?? fetch(event.request)));
});

void self.skipWaiting();
clientsClaim();
cleanupOutdatedCaches();
// The explorer's address carries the database (`explorer.html?db=notes`): the same page.
precacheAndRoute(self.__WB_MANIFEST, { ignoreURLParametersMatching: [/./] });
