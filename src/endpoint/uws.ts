import uws from 'uWebSockets.js';

/**
 * The npm build of uWebSockets.js loads a native binary on Node 20 and silently
 * falls back to a slow pure-JS shim elsewhere. Only the native module exports
 * getParts, so its presence tells which one this process got.
 */
export const uwsRuntime: 'native' | 'fallback' =
  typeof (uws as unknown as Record<string, unknown>)['getParts'] === 'function' ? 'native' : 'fallback';

export { uws };
