/// <reference types="vite/client" />
// import.meta.env in the demo (offline.ts: the service worker is for production builds).
