/**
 * The service worker of the built app (vite-plugin-pwa's generateSW: Workbox precaches the app
 * shell, so the app opens with the network off). Registered in production builds only: the dev
 * server (`npm run demo`) and the browser tests' server have no service worker to register.
 */

/** Registers the built app's service worker; a failure is told to `onError`, not thrown. */
export function registerServiceWorker(onError: (message: string) => void): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  const base = import.meta.env.BASE_URL;
  navigator.serviceWorker
    .register(`${base}sw.js`, { scope: base })
    .catch((error: unknown) => onError(`Offline use is not available: ${String(error)}`));
}
