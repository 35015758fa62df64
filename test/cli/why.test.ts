/**
 * wsinspect why: the app's Why? boxes in a terminal, spawned as a user runs it; the same text
 * as src/core/whys.ts (one source), the RFC's sentences in quotation marks with their section.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WHYS } from '../../src/core/whys.ts';
import { killRunning, runCli } from '../support/cli.ts';

afterEach(() => killRunning());

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = runCli(args);
  const code = await r.exit;
  return { code, out: r.stdout(), err: r.stderr() };
}

const squash = (s: string) => s.replace(/\s+/g, ' ');

describe('wsinspect why', () => {
  it('lists every why with its id, question and sections', async () => {
    const { code, out } = await cli(['why']);
    expect(code).toBe(0);
    for (const w of Object.values(WHYS)) expect(out).toMatch(new RegExp(`^  ${w.id} +${w.title.replace(/[?()]/g, '\\$&')}  \\(${w.sections.join(', ')}\\)$`, 'm'));
  });

  it('prints one why: our words, then the RFC\'s sentences quoted with their section', async () => {
    const { code, out } = await cli(['why', 'masking']);
    expect(code).toBe(0);
    const text = squash(out);
    expect(text).toContain(WHYS.masking.explanation);
    expect(text).not.toContain(`“${WHYS.masking.explanation.slice(0, 20)}`);
    expect(text).toContain(`RFC 6455 §10.3: “${WHYS.masking.quotes[0]!.text}”`);
  });

  it('answers an unknown id with one line and exit 2, and is in --help', async () => {
    const bad = await cli(['why', '__proto__']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('wsinspect: no why "__proto__" (list them with: wsinspect why)\n');
    expect((await cli(['--help'])).out).toContain('wsinspect why [ID]');
  });
});
