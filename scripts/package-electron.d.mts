// Types for scripts/package-electron.mjs (imported by test/main/package-electron.test.ts).
import type { FuseV1Config } from '@electron/fuses';

export function binaryPath(platform: string): string;
export function resourcesPath(platform: string): string;
export function fuseConfig(platform: string, arch: string): FuseV1Config;
export function withAsarIntegrity(plist: string, headerHash: string): string;
export function packageApp(argv?: string[], target?: { platform?: string; arch?: string }): Promise<number>;
