/** The Chromium binary for browser tests and benchmarks. @throws Error saying how to install one. */
export function chromiumPath(): string;
/** Flags for headless Chromium in a sandboxed machine without network. */
export const CHROMIUM_ARGS: string[];
