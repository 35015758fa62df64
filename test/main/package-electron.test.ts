/**
 * The packaging step that flips Electron's fuses (scripts/package-electron.mjs). The real
 * Electron binary cannot be downloaded here, so the script runs on a stand-in: a file holding
 * the fuse wire exactly as Electron lays it out (the sentinel, the wire version, its length, one
 * byte per fuse), which @electron/fuses finds and rewrites as in a real binary.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asar from '@electron/asar';
import fuses from '@electron/fuses';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryPath, fuseConfig, withAsarIntegrity } from '../../scripts/package-electron.mjs';

const { FuseV1Options, FuseVersion } = fuses;
const root = fileURLToPath(new URL('../..', import.meta.url));
const script = join(root, 'scripts/package-electron.mjs');
const work = mkdtempSync(join(tmpdir(), 'wsi-fuses-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's shipped defaults, in wire order: RunAsNode on, cookie encryption off, NODE_OPTIONS on, --inspect on, asar integrity off, only-asar off, V8 snapshot off, file:// privileges on, plus one fuse newer than @electron/fuses 1.x knows. */
const SHIPPED = '101100011';

function fakeElectron(dir: string): string {
  const binary = join(dir, binaryPath(process.platform));
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const wire = Buffer.concat([Buffer.from([1, SHIPPED.length]), Buffer.from(SHIPPED, 'latin1')]);
  writeFileSync(binary, Buffer.concat([Buffer.alloc(4096, 0x90), Buffer.from(SENTINEL, 'latin1'), wire, Buffer.alloc(4096, 0x90)]));
  writeFileSync(join(dir, 'resources/default_app.asar'), 'electron default app');
  writeFileSync(join(dir, 'LICENSE'), 'MIT');
  return binary;
}

function wireOf(binary: string): string {
  const bytes = readFileSync(binary);
  const at = bytes.indexOf(SENTINEL) + SENTINEL.length;
  return bytes.subarray(at + 2, at + 2 + bytes[at + 1]!).toString('latin1');
}

function fakeBuild(dir: string): void {
  for (const [path, text] of [['main/index.js', 'console.log("main")'], ['preload/index.cjs', '"use strict";'], ['renderer/index.html', '<!doctype html>']] as const) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const run = (args: string[]) => spawnSync(process.execPath, [script, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('fuseConfig', () => {
  it.each(['linux', 'win32', 'darwin'])('on %s: run-as-node, NODE_OPTIONS and --inspect off; cookie encryption and asar-only on', (platform) => {
    const config = fuseConfig(platform, 'x64');
    expect(config.version).toBe(FuseVersion.V1);
    expect(config[FuseV1Options.RunAsNode]).toBe(false);
    expect(config[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(false);
    expect(config[FuseV1Options.EnableNodeCliInspectArguments]).toBe(false);
    expect(config[FuseV1Options.EnableCookieEncryption]).toBe(true);
    expect(config[FuseV1Options.OnlyLoadAppFromAsar]).toBe(true);
    // file:// privileges stay as shipped: the renderer is a file:// page with module scripts.
    expect(config).not.toHaveProperty(String(FuseV1Options.GrantFileProtocolExtraPrivileges));
  });

  it('validates asar integrity only on macOS, where the script writes the header hash', () => {
    expect(fuseConfig('darwin', 'x64')[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(true);
    expect(fuseConfig('linux', 'x64')).not.toHaveProperty(String(FuseV1Options.EnableEmbeddedAsarIntegrityValidation));
    expect(fuseConfig('win32', 'x64')).not.toHaveProperty(String(FuseV1Options.EnableEmbeddedAsarIntegrityValidation));
    expect(fuseConfig('darwin', 'arm64').resetAdHocDarwinSignature).toBe(true);
    expect(fuseConfig('darwin', 'x64').resetAdHocDarwinSignature).toBeUndefined();
  });
});

describe('withAsarIntegrity', () => {
  const plist = '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n\t<key>CFBundleName</key>\n\t<string>Electron</string>\n</dict>\n</plist>\n';

  it('adds the SHA256 of the header for Resources/app.asar inside the top dict', () => {
    const out = withAsarIntegrity(plist, 'ab'.repeat(32));
    expect(out).toMatch(/<key>ElectronAsarIntegrity<\/key>\s*<dict>\s*<key>Resources\/app\.asar<\/key>\s*<dict>\s*<key>algorithm<\/key>\s*<string>SHA256<\/string>\s*<key>hash<\/key>\s*<string>(ab){32}<\/string>\s*<\/dict>\s*<\/dict>\s*<\/dict>\s*<\/plist>\s*$/);
    expect(out.startsWith(plist.slice(0, plist.lastIndexOf('</dict>')))).toBe(true);
  });

  it('refuses a plist it does not understand, or one that already has an entry', () => {
    expect(() => withAsarIntegrity('bplist00binary', 'x')).toThrow(/XML property list/);
    expect(() => withAsarIntegrity(withAsarIntegrity(plist, 'x'), 'y')).toThrow(/already/);
  });
});

describe('scripts/package-electron.mjs', () => {
  it('says plainly that there is no Electron binary, packages nothing and exits 0', () => {
    const empty = join(work, 'no-electron');
    mkdirSync(empty);
    const result = run(['--electron-dist', empty, '--out', join(work, 'out-none')]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^electron fuses: not applied, nothing packaged: there is no Electron binary at .*no-electron/);
    expect(existsSync(join(work, 'out-none'))).toBe(false);
  });

  it('fails when there is no build to package', () => {
    const dist = join(work, 'electron-nobuild');
    fakeElectron(dist);
    const result = run(['--electron-dist', dist, '--app', join(work, 'missing-build'), '--out', join(work, 'out-nobuild')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no built app/);
  });

  it('packages the build into app.asar in a copy of Electron and flips the fuses there, leaving node_modules\' copy alone', () => {
    const dist = join(work, 'electron-dist');
    const original = fakeElectron(dist);
    const build = join(work, 'build');
    fakeBuild(build);
    const out = join(work, 'package');
    const result = run(['--electron-dist', dist, '--app', build, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);

    const target = join(out, `websocket-inspector-${process.platform}-${process.arch}`);
    const packaged = join(target, binaryPath(process.platform));
    // Wire order: RunAsNode, cookie encryption, NODE_OPTIONS, --inspect, asar integrity (Linux: as shipped), only-asar, V8 snapshot, file:// privileges, the newer one.
    expect(wireOf(packaged)).toBe('010001011');
    expect(wireOf(original)).toBe(SHIPPED);
    for (const fuse of ['RunAsNode off', 'EnableNodeOptionsEnvironmentVariable off', 'EnableNodeCliInspectArguments off', 'EnableCookieEncryption on', 'OnlyLoadAppFromAsar on']) {
      expect(result.stdout).toContain(`electron fuses: ${fuse}`);
    }

    const resources = join(target, 'resources');
    expect(existsSync(join(resources, 'default_app.asar'))).toBe(false);
    expect(existsSync(join(target, 'LICENSE'))).toBe(true);
    const archive = join(resources, 'app.asar');
    const files = asar.listPackage(archive, { isPack: false }).map((f: string) => f.replace(/\\/g, '/')).sort();
    expect(files).toEqual(expect.arrayContaining(['/package.json', '/out/main/index.js', '/out/preload/index.cjs', '/out/renderer/index.html']));
    expect(files.filter((f: string) => !f.startsWith('/out'))).toEqual(['/package.json']);
    const manifest = JSON.parse(asar.extractFile(archive, 'package.json').toString()) as { main: string; type: string; name: string };
    expect(manifest).toMatchObject({ main: './out/main/index.js', name: 'websocket-inspector', type: 'module' });
    // The asar header carries the integrity hashes Electron checks when validation is on.
    type Entry = { files?: Record<string, Entry>; integrity?: { algorithm: string } };
    const header = asar.getRawHeader(archive).header as Entry;
    expect(header.files?.['out']?.files?.['main']?.files?.['index.js']?.integrity).toMatchObject({ algorithm: 'SHA256' });
  });
});
