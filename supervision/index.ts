/** The OTP layer over nact. Knows nothing about chat. */
export * from './child-spec.js';
export * from './exit-reason.js';
export * from './gen-server.js';
export * from './intensity.js';
export * from './process.js';
export * from './result.js';
export * from './supervisor.js';
