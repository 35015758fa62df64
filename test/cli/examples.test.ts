/**
 * wsinspect examples: the RFC examples gallery, spawned as a user runs it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RFC_EXAMPLES } from '../../src/core/rfc-examples.ts';
import { killRunning, runCli as run } from '../support/cli.ts';

afterEach(() => killRunning());

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = run(args);
  const code = await r.exit;
  return { code, out: r.stdout(), err: r.stderr() };
}

describe('wsinspect examples', () => {
  it('lists every example with its section, title, bytes and what it shows', async () => {
    const { code, out } = await cli(['examples']);
    expect(code).toBe(0);
    for (const e of RFC_EXAMPLES) {
      expect(out).toContain(e.id);
      expect(out).toContain(`${e.rfc} ${e.section}  ${e.title}`);
      expect(out).toContain(e.shows);
    }
    expect(out).toContain('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    expect(out).toContain('01 03 48 65 6c / 80 02 6c 6f');
    expect(out).toContain('82 7f 00 00 00 00 00 01 00 00 + 65536 bytes of data');
    expect(out).toContain('c1 05 f2 00 11 00 00');
    expect(out).toContain('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    // RFC 7692 §7.2.3.6, with what is the RFC's and what is ours said.
    expect(out).toContain('RFC 7692 §7.2.3.6  An empty last fragment: one empty stored block');
    expect(out).toContain('41 0b f2 48 cd c9 c9 07 00 00 00 ff ff / 80 01 00');
    expect(out).toContain('The RFC gives the last fragment\'s payload, 00; the frame before it is ours');
  });

  it('prints one example decoded field by field', async () => {
    const masked = await cli(['examples', 'masked-hello']);
    expect(masked.code).toBe(0);
    expect(masked.out).toContain('RFC 6455 §5.7');
    expect(masked.out).toContain('FIN 1  RSV1 0  RSV2 0  RSV3 0  opcode 0x1 (text)');
    expect(masked.out).toContain('MASK 1  masking key 37 fa 21 3d  payload length 5');
    expect(masked.out).toContain('"Hello"');

    const big = await cli(['examples', 'binary-64k']);
    expect(big.out).toContain('payload length 65536 (length field 127, 64-bit extended)');

    const deflate = await cli(['examples', 'deflate-shared-window']);
    expect(deflate.out).toContain('permessage-deflate agreed');
    expect(deflate.out).toContain('"Hello", "Hello"');

    const empty = await cli(['examples', 'deflate-empty-fragment']);
    expect(empty.out).toContain('Frame 1: 41 0b f2 48 cd c9 c9 07 00 00 00 ff ff  (ours: not printed in the RFC)');
    expect(empty.out).toMatch(/Frame 2: 80 01 00\n/);
    expect(empty.out).toContain('Inflated (payloads + 00 00 ff ff, one window across messages): "Hello"');

    const hs = await cli(['examples', 'handshake']);
    expect(hs.out).toContain('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
    expect(hs.out).toContain('base64 s3pPLMBiTxaQ9kYGzzhZRbK+xOo= (matches the RFC)');
  });

  it('answers an unknown id with one line and exit 2, and is in --help', async () => {
    const bad = await cli(['examples', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('wsinspect: no RFC example "nope" (list them with: wsinspect examples)\n');
    const help = await cli(['--help']);
    expect(help.out).toContain('wsinspect examples [ID]');
  });
});
