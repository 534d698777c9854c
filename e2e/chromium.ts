/** The browser tests' Chromium: one rule for tests and benchmarks (scripts/chromium.mjs). */
export { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.mjs';
