// npm run package: a runnable copy of the desktop app with Electron's fuses flipped.
//
//   node scripts/package-electron.mjs [--electron-dist DIR] [--app DIR] [--out DIR]
//
// Copies Electron's binary distribution (node_modules/electron/dist) to
// dist/electron/websocket-inspector-<platform>-<arch>/, puts the built app (out/main, out/preload,
// out/renderer and a package.json) in resources/app.asar in place of Electron's default app, and
// flips the fuses (build-time switches compiled into the binary) with @electron/fuses:
//   RunAsNode off                              ELECTRON_RUN_AS_NODE cannot turn the app into a plain node
//   EnableNodeOptionsEnvironmentVariable off   NODE_OPTIONS cannot inject code (--require) or flags
//   EnableNodeCliInspectArguments off          --inspect cannot open a debugger on the main process
//   EnableCookieEncryption on                  cookies at rest are encrypted with the OS keystore
//   OnlyLoadAppFromAsar on                     only resources/app.asar is loaded, never a loose app/ folder
//   EnableEmbeddedAsarIntegrityValidation      on macOS, where this script also writes the archive's header
//                                              hash into Info.plist; not on Windows (the hash must be a
//                                              resource inside the .exe, which this script does not write)
//                                              nor on Linux (Electron does not support it there)
// GrantFileProtocolExtraPrivileges stays as Electron ships it (on): the renderer is loaded from
// file:// and its module scripts need it; turning it off means serving the page from a custom
// protocol first.
//
// The copy in node_modules is left alone: `npm start`, `npm run dev` and the Playwright smoke test
// need --inspect and a loose app, which the fuses forbid.
//
// Where there is no Electron binary (npm could not download it, as on machines without access to
// Electron's download host), this says so and exits 0 without packaging anything.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import asar from '@electron/asar';
import fuses from '@electron/fuses';

const { flipFuses, getCurrentFuseWire, FuseVersion, FuseV1Options } = fuses;
const root = fileURLToPath(new URL('..', import.meta.url));

/** Where the binary sits inside Electron's dist folder (what node_modules/electron/path.txt says). */
export function binaryPath(platform) {
  if (platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  if (platform === 'win32') return 'electron.exe';
  return 'electron';
}

/** The folder holding app.asar. */
export function resourcesPath(platform) {
  return platform === 'darwin' ? 'Electron.app/Contents/Resources' : 'resources';
}

/** The fuses for a package built on `platform`/`arch` (see the header for each one's reason). */
export function fuseConfig(platform, arch) {
  const config = {
    version: FuseVersion.V1,
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
  };
  if (platform === 'darwin') {
    config[FuseV1Options.EnableEmbeddedAsarIntegrityValidation] = true;
    // Flipping fuses breaks the ad-hoc signature that arm64 macOS requires; sign it ad hoc again.
    if (arch === 'arm64') config.resetAdHocDarwinSignature = true;
  }
  return config;
}

/** Info.plist with the ElectronAsarIntegrity entry for Resources/app.asar (macOS). */
export function withAsarIntegrity(plist, headerHash) {
  if (plist.includes('<key>ElectronAsarIntegrity</key>')) throw new Error('Info.plist already has ElectronAsarIntegrity');
  const end = /<\/dict>\s*<\/plist>\s*$/.exec(plist);
  if (!end) throw new Error('Info.plist is not an XML property list ending in </dict></plist>');
  const entry = '\t<key>ElectronAsarIntegrity</key>\n\t<dict>\n\t\t<key>Resources/app.asar</key>\n\t\t<dict>\n' +
    `\t\t\t<key>algorithm</key>\n\t\t\t<string>SHA256</string>\n\t\t\t<key>hash</key>\n\t\t\t<string>${headerHash}</string>\n\t\t</dict>\n\t</dict>\n`;
  return plist.slice(0, end.index) + entry + plist.slice(end.index);
}

function option(argv, name, fallback) {
  const index = argv.indexOf(name);
  return index >= 0 && argv[index + 1] ? resolve(argv[index + 1]) : fallback;
}

export async function packageApp(argv = process.argv.slice(2), { platform = process.platform, arch = process.arch } = {}) {
  const electronDist = option(argv, '--electron-dist', join(root, 'node_modules/electron/dist'));
  const appDir = option(argv, '--app', join(root, 'out'));
  const outDir = option(argv, '--out', join(root, 'dist/electron'));
  const binary = join(electronDist, binaryPath(platform));
  if (!existsSync(binary)) {
    console.log(`electron fuses: not applied, nothing packaged: there is no Electron binary at ${binary} (npm could not download Electron on this machine). ` +
      'Where Electron is installed, `npm run package` builds dist/electron/ with the fuses flipped.');
    return 0;
  }
  if (!existsSync(join(appDir, 'main/index.js'))) {
    console.error(`package: no built app in ${appDir} (run \`npm run build\` first; \`npm run package\` does).`);
    return 1;
  }

  const target = join(outDir, `websocket-inspector-${platform}-${arch}`);
  rmSync(target, { recursive: true, force: true });
  cpSync(electronDist, target, { recursive: true, verbatimSymlinks: true });
  const resources = join(target, resourcesPath(platform));
  rmSync(join(resources, 'default_app.asar'), { force: true });

  // The app: the build and a package.json naming its entry point. Nothing else ships.
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const stage = mkdtempSync(join(tmpdir(), 'wsi-package-'));
  try {
    for (const part of ['main', 'preload', 'renderer']) cpSync(join(appDir, part), join(stage, 'out', part), { recursive: true });
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, description: pkg.description, license: pkg.license, type: pkg.type, main: './out/main/index.js' }, null, 2)}\n`);
    await asar.createPackage(stage, join(resources, 'app.asar'));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }

  const config = fuseConfig(platform, arch);
  if (platform === 'darwin') {
    const hash = createHash('sha256').update(asar.getRawHeader(join(resources, 'app.asar')).headerString).digest('hex');
    const plist = join(target, 'Electron.app/Contents/Info.plist');
    writeFileSync(plist, withAsarIntegrity(readFileSync(plist, 'utf8'), hash));
  }
  const fuseTarget = platform === 'darwin' ? join(target, 'Electron.app') : join(target, binaryPath(platform));
  await flipFuses(fuseTarget, config);

  // Read the wire back: every fuse we set must now say so.
  const wire = await getCurrentFuseWire(fuseTarget);
  const states = { 48: 'off', 49: 'on', 114: 'removed' };
  for (const [index, wanted] of Object.entries(config)) {
    if (!/^\d+$/.test(index)) continue;
    const now = states[wire[index]] ?? `unknown (${wire[index]})`;
    if (now !== (wanted ? 'on' : 'off')) throw new Error(`fuse ${FuseV1Options[index]} is ${now} after flipping`);
    console.log(`electron fuses: ${FuseV1Options[index]} ${now}`);
  }
  console.log(`packaged: ${relative(process.cwd(), target) || target} (run ${binaryPath(platform)} there)`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  packageApp().then((code) => {
    process.exitCode = code;
  }, (error) => {
    console.error(`package: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
