/**
 * The service's settings from the environment: a good value is used, a bad one is reported
 * and the default kept, so a typo never stops the app from starting.
 */
import { describe, expect, it } from 'vitest';
import { serviceOptionsFromEnv } from '../../src/service/service-env.ts';

describe('serviceOptionsFromEnv', () => {
  it('reads WSI_FULL_FRAMES_MIB as MiB of full frame bytes', () => {
    expect(serviceOptionsFromEnv({ WSI_FULL_FRAMES_MIB: '64' })).toEqual({ fullFrameBudgetBytes: 64 * 1024 * 1024 });
    expect(serviceOptionsFromEnv({ WSI_FULL_FRAMES_MIB: '0.5' })).toEqual({ fullFrameBudgetBytes: 512 * 1024 });
    expect(serviceOptionsFromEnv({})).toEqual({});
    expect(serviceOptionsFromEnv({ WSI_FULL_FRAMES_MIB: ' ' })).toEqual({});
  });

  it.each(['lots', '-5', '0', 'Infinity'])('reports %j plainly and keeps the default', (value) => {
    const warnings: string[] = [];
    expect(serviceOptionsFromEnv({ WSI_FULL_FRAMES_MIB: value }, (m) => warnings.push(m))).toEqual({});
    expect(warnings).toEqual([`WSI_FULL_FRAMES_MIB=${JSON.stringify(value)} is not a positive number of MiB; keeping the default (256 MiB).`]);
  });
});
