/**
 * Application names index a table: only its own entries count, never what every object inherits.
 */
import { describe, expect, it } from 'vitest';
import { components, isComponentName } from '../../../src/core/apps/index.ts';

describe('isComponentName', () => {
  it.each(['echo', 'chat', 'manual'])('%s is an application', (name) => {
    expect(isComponentName(name)).toBe(true);
    expect(components[name as keyof typeof components].name).toBe(name);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'Echo', ''])('%j is not (inherited or unknown)', (name) => {
    expect(isComponentName(name)).toBe(false);
  });
});
