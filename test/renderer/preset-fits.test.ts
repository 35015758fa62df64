/**
 * The Faults tab offers a preset only where the handshake's agreement makes it a fault.
 */
import { describe, expect, it } from 'vitest';
import { faultPresets } from '../../src/core/faults.ts';
import { presetFits } from '../../src/renderer/src/lib/preset-fits.ts';

const offered = (extension: string | null | undefined) => faultPresets.filter((p) => presetFits(p, extension)).map((p) => p.id);

describe('presets offered for a connection', () => {
  it('with permessage-deflate agreed: the RFC 7692 presets, and not rsv1-set', () => {
    expect(offered('permessage-deflate')).toEqual(expect.arrayContaining(['deflate-rsv1-continuation', 'deflate-rsv1-control', 'deflate-corrupt', 'deflate-bomb', 'rsv2-set']));
    expect(offered('permessage-deflate')).not.toContain('rsv1-set');
  });

  it('with no extension agreed: rsv1-set, and none of the RFC 7692 presets', () => {
    expect(offered(null)).toContain('rsv1-set');
    expect(offered(null).filter((id) => id.startsWith('deflate-'))).toEqual([]);
  });

  it('before the handshake is known: all of them (the service refuses what does not fit)', () => {
    expect(offered(undefined)).toHaveLength(faultPresets.length);
  });
});
