/**
 * A test-only entry point: the real server (src/main.ts, unchanged), plus a
 * trigger a test pulls (SIGUSR2) to make it fail as a bug would: a promise
 * rejected with nobody to handle it (FAULT=value: with a string, not an
 * Error), or with FAULT=exception an exception thrown outside any handler.
 */
function failLikeABug(): void {
  if (process.env['FAULT'] === 'exception') {
    setImmediate(() => {
      throw new Error('deliberate uncaught exception (test)');
    });
    return;
  }
  // Code may reject with anything, not only an Error.
  if (process.env['FAULT'] === 'value') void Promise.reject('a plain string, no stack');
  else void Promise.reject(new Error('deliberate unhandled rejection (test)'));
}

process.on('SIGUSR2', failLikeABug);
await import('../../src/main.js');
