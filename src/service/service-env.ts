/**
 * The service's settings from the environment, read the same way by the Electron main process
 * and the web host (`npm run web`):
 *   WSI_FULL_FRAMES_MIB  MiB of full large-frame bytes kept for "load all" (default 256)
 * A value that is not a positive number is reported and the default used: a typo in a setting
 * never stops the app from starting.
 */
import type { InspectorServiceOptions } from './inspector-service.ts';

export function serviceOptionsFromEnv(env: Record<string, string | undefined>, warn: (message: string) => void = console.warn): InspectorServiceOptions {
  const options: InspectorServiceOptions = {};
  const mib = env['WSI_FULL_FRAMES_MIB'];
  if (mib !== undefined && mib.trim() !== '') {
    const value = Number(mib);
    if (Number.isFinite(value) && value > 0) options.fullFrameBudgetBytes = Math.round(value * 1024 * 1024);
    else warn(`WSI_FULL_FRAMES_MIB=${JSON.stringify(mib)} is not a positive number of MiB; keeping the default (256 MiB).`);
  }
  return options;
}
