import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSessionJson } from '../../../src/core/capture/export-json.ts';
import { importHar, readHarFile } from '../../../src/core/capture/import-har.ts';
import { countJsonContainers } from '../../../src/core/capture/json-bounds.ts';

describe('countJsonContainers', () => {
  it('counts objects and arrays, not brackets inside strings (escaped quotes included), and stops past the bound', () => {
    expect(countJsonContainers('{"a":[1,{"b":"[{\\"}{["}],"c":{}}', 100)).toBe(4);
    expect(countJsonContainers('[' + '{},'.repeat(50) + '0]', 10)).toBe(11);
    // An even run of backslashes before a quote ends the string; an odd one does not.
    expect(countJsonContainers(JSON.stringify([{ a: 'x\\', b: ['\\"[{'] }, '\\\\', '"', {}]), 100)).toBe(4);
    expect(countJsonContainers('["unterminated [{', 100)).toBe(1);
  });
});

describe('whole-file JSON readers (wsinspect open), hostile files', () => {
  it('refuse a document of too many objects and arrays before parsing it (3 bytes of "{}," are ~80 bytes of heap: 256 MiB would be ~6.8 GB)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'json-bounds-'));
    try {
      const bomb = `{"log":{"version":"1.2","entries":[{"x":[${'{},'.repeat(2000)}0]}]}}`;
      const har = join(dir, 'bomb.har');
      writeFileSync(har, bomb);
      expect(readHarFile(har, { maxContainers: 1000 }).error).toMatch(/more than 1000 objects and arrays/);
      expect(importHar(bomb, { maxContainers: 1000 }).error).toMatch(/more than 1000 objects and arrays/);
      const json = join(dir, 'bomb.json');
      writeFileSync(json, `{"format":"x","records":[${'[],'.repeat(2000)}0]}`);
      expect(readSessionJson(json, { maxContainers: 1000 }).error).toMatch(/more than 1000 objects and arrays/);
      // The default bound leaves ordinary files alone.
      expect(importHar(bomb).error ?? '').not.toMatch(/objects and arrays/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
