/**
 * Which fault presets the Faults tab offers for a connection. What the opening handshake agreed
 * decides what a frame means: with permessage-deflate agreed, RSV1 on a message's first frame is
 * the "Per-Message Compressed" bit (RFC 7692 §6), so "RSV1 with no extension" is no fault there,
 * and the RFC 7692 presets only make sense there. The service refuses a preset that does not fit
 * (src/core/faults.ts presetApplies); this only keeps the list honest.
 */
import type { PresetInfo } from '../../../shared/inspector-api.ts';

/** extension: the agreed extension's name, null for none, undefined while the handshake is not known (then every preset is offered). */
export function presetFits(preset: Pick<PresetInfo, 'needs'>, extension: string | null | undefined): boolean {
  if (extension === undefined || !preset.needs) return true;
  return preset.needs === 'no-extension' ? extension === null : extension === 'permessage-deflate';
}
