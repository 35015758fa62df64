/**
 * The crafter's form with permessage-deflate (frame-form.ts): "compress this payload" asks the
 * service to compress the plain payload and previews the compressed bytes; the rules know what
 * RSV1 means once permessage-deflate is agreed (RFC 7692 §6, §6.1).
 */
import { describe, expect, it } from 'vitest';
import { emptyForm, encodeForm, formToFields, ruleChecks } from '../../src/renderer/src/lib/frame-form.ts';

const hello = Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00);
const texts = (checks: ReturnType<typeof ruleChecks>) => checks.map((c) => `${c.level}: ${c.text} (${c.rfcSection})`);

describe('the crafter form with "compress this payload"', () => {
  it('sends the plain payload with compress set, and previews the compressed bytes it was given', () => {
    const form = { ...emptyForm('server'), compress: true, rsv1: true };
    expect(formToFields(form)).toMatchObject({ compress: true, rsv1: true, payloadHex: '48656c6c6f' });
    expect(encodeForm(form)).toEqual({ error: 'Compressing the payload…' });
    const draft = encodeForm(form, hello);
    expect('bytes' in draft && Array.from(draft.bytes)).toEqual([0xc1, 0x07, ...hello]);
    // Without the switch the compressed bytes are ignored.
    const plain = encodeForm({ ...form, compress: false, rsv1: false }, hello);
    expect('fields' in plain && plain.fields.compress).toBeUndefined();
    expect('bytes' in plain && Array.from(plain.bytes)).toEqual([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
  });

  it('without permessage-deflate agreed, RSV1 is the §5.2 error it always was', () => {
    expect(texts(ruleChecks({ ...emptyForm('server'), rsv1: true }, 'server'))).toContain('bad: RSV1 set and no extension negotiated: the client must fail the connection with 1002. (§5.2)');
  });

  it('with it agreed: compressed is fine; RSV1 on a control or continuation frame, or RSV2, is not; mismatches are warned about', () => {
    const deflate = { deflate: true };
    expect(texts(ruleChecks({ ...emptyForm('server'), rsv1: true, compress: true }, 'server', deflate))).toEqual([
      'ok: A valid text frame: the client should accept it. (§5.2)',
      'ok: RSV1 set: the message is compressed. The client appends 00 00 ff ff and inflates the payload before reading it. (RFC 7692 §6, §7.2.2)',
    ]);
    expect(texts(ruleChecks({ ...emptyForm('client'), opcode: 9, rsv1: true }, 'client', deflate))[0]).toMatch(/^bad: RSV1 on a control frame: .* 1002\. \(RFC 7692 §6\.1\)$/);
    expect(texts(ruleChecks({ ...emptyForm('client'), opcode: 0, rsv1: true }, 'client', deflate))[0]).toMatch(/^bad: RSV1 on a continuation frame: .*\(RFC 7692 §6\.1\)$/);
    expect(texts(ruleChecks({ ...emptyForm('server'), rsv2: true }, 'server', deflate))[0]).toMatch(/^bad: RSV2 set: permessage-deflate gives a meaning to RSV1 only/);
    expect(texts(ruleChecks({ ...emptyForm('server'), rsv1: true }, 'server', deflate))[0]).toMatch(/^warn: RSV1 set: the client appends 00 00 ff ff and inflates this payload as DEFLATE data/);
    expect(texts(ruleChecks({ ...emptyForm('server'), compress: true }, 'server', deflate))[0]).toMatch(/^warn: A compressed payload with RSV1 clear/);
  });

  it('checks the UTF-8 of the plain text, not of DEFLATE bytes read as such', () => {
    const bad = { ...emptyForm('server'), payloadMode: 'hex' as const, payloadHex: 'c0 af' };
    expect(texts(ruleChecks({ ...bad, rsv1: true, compress: true }, 'server', { deflate: true })).some((t) => t.includes('not valid UTF-8'))).toBe(true);
    expect(texts(ruleChecks({ ...bad, rsv1: true }, 'server', { deflate: true })).some((t) => t.includes('not valid UTF-8'))).toBe(false);
  });
});
