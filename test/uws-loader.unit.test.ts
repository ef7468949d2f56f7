import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILDS, currentPlatform, loadUws } from '../src/endpoint/uws.js';

/**
 * The uWS loader with the real installed packages: which build it picks on this
 * machine, and its refusal where no binary fits. A wrong ABI is asked for by
 * name, so the refusal is the loader reading real package folders and dlopen
 * failing for real, not a stub.
 */

const platform = currentPlatform();
const [major = 0, minor = 0] = (platform.glibc ?? '0.0').split('.').map(Number);
const glibcAtLeast238 = major > 2 || (major === 2 && minor >= 38);
const [newest, older] = BUILDS;

describe('the uWS loader', () => {
  it('loads the newest build whose native binary loads here, and says why newer ones did not', () => {
    const loaded = loadUws();
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
    const { module, build, skipped } = loaded.value;
    assert.equal(typeof module.App, 'function');
    assert.equal(typeof module.us_socket_local_port, 'function');
    assert.equal(build.binary, `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
    if (glibcAtLeast238 || platform.glibc === undefined) {
      assert.equal(build.package, newest?.package);
      assert.deepEqual(skipped, []);
    } else {
      // glibc < 2.38 (Debian 12): v20.57's binaries need GLIBC_2.38, so Node 20 gets v20.30.
      assert.equal(build.package, older?.package);
      assert.equal(build.version, '20.30.0-unofficial.0');
      assert.equal(skipped[0]?.reason, 'load_failed');
      assert.match(skipped[0]?.detail ?? '', /GLIBC_2\.38/);
    }
  });

  it('refuses, naming Node, platform, glibc and what to do, when no build has a binary that loads', () => {
    // An ABI v20.57 has a binary for but v20.30 has not, and that is not this process's own.
    const abi = platform.abi === '127' ? '137' : '127';
    const refused = loadUws(BUILDS, { ...platform, node: 'v99.0.0', abi });
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    const { reason, tried, message } = refused.error;
    assert.equal(reason, 'no_native_build');
    assert.deepEqual(
      tried.map((t) => [t.package, t.reason]),
      // v20.57 has that binary, which dlopen refuses here (another ABI, and maybe too old a glibc); v20.30 has none.
      [
        [newest?.package, 'load_failed'],
        [older?.package, 'no_binary'],
      ],
    );
    assert.match(message, new RegExp(`Node v99\\.0\\.0 \\(ABI ${abi}\\)`));
    assert.match(message, new RegExp(`${process.platform}-${process.arch}`));
    assert.match(message, platform.glibc === undefined ? /no glibc/ : new RegExp(`glibc ${platform.glibc.replace('.', '\\.')}`));
    assert.match(message, new RegExp(`has no binary for ABI ${abi} \\(it has ABI 93, 108, 115\\)`));
    assert.match(message, glibcAtLeast238 ? /Native builds exist for Node 20, 22, 24 and 25/ : /run Node 20 here, or Node 22\/24 on a system with glibc 2\.38 or newer/);
    assert.match(message, /The pure-JS fallback is never used/);
  });

  it('names a build that is not installed, or has no binary for the ABI at all', () => {
    const refused = loadUws([{ package: 'uws-build-that-is-not-installed', binaries: '.' }, ...BUILDS], { ...platform, abi: '999' });
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.deepEqual(
      refused.error.tried.map((t) => t.reason),
      ['not_installed', 'no_binary', 'no_binary'],
    );
  });
});
