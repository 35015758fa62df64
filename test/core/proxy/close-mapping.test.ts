import { describe, expect, it } from 'vitest';
import { fitCloseReason, mapClose } from '../../../src/core/proxy/close-mapping.ts';

describe('close mapping (what the other leg gets)', () => {
  it('a Close with a code is passed on with its code and reason, from either side', () => {
    expect(mapClose('client', { kind: 'close-frame', code: 4001, reason: 'bye' })).toMatchObject({ code: 4001, reason: 'bye' });
    expect(mapClose('upstream', { kind: 'close-frame', code: 1000, reason: '' })).toMatchObject({ code: 1000, reason: '' });
    expect(mapClose('upstream', { kind: 'close-frame', code: 1008, reason: 'policy' })).toMatchObject({ code: 1008, reason: 'policy' });
  });

  it('a Close without a code (1005) becomes a Close without a body, never 1005 on the wire', () => {
    const mapped = mapClose('client', { kind: 'close-frame', code: null, reason: '' });
    expect(mapped.code).toBeNull();
    expect(mapped.reason).toBe('');
    expect(mapped.why).toContain('1005');
  });

  it('a code that may not be sent (let through by the observe policy) is treated as a failure of that side', () => {
    expect(mapClose('upstream', { kind: 'close-frame', code: 1006, reason: '' }).code).toBe(1014);
    expect(mapClose('client', { kind: 'close-frame', code: 1015, reason: '' }).code).toBe(1001);
  });

  it('the client failing or vanishing: 1001 Going Away to the upstream', () => {
    const violation = mapClose('client', { kind: 'violation', closeCode: 1007, message: 'Invalid UTF-8 at byte 3 of the text message.' });
    expect(violation.code).toBe(1001);
    expect(violation.reason).toContain('client broke the protocol (we closed it with 1007)');
    expect(violation.why).toContain('§7.4.1');
    expect(mapClose('client', { kind: 'lost', detail: 'TCP closed' }).code).toBe(1001);
  });

  it('the upstream failing or vanishing: 1014 Bad Gateway to the client (IANA), never its violation code', () => {
    const violation = mapClose('upstream', { kind: 'violation', closeCode: 1002, message: 'The server sent a masked frame.' });
    expect(violation.code).toBe(1014);
    expect(violation.why).toContain('IANA');
    const lost = mapClose('upstream', { kind: 'lost', detail: 'TCP closed without a closing handshake (1006)' });
    expect(lost.code).toBe(1014);
    expect(lost.reason).toMatch(/^upstream went away without a Close/);
  });

  it('the proxy stopping: 1001 to both sides', () => {
    expect(mapClose('client', { kind: 'proxy-stopping' }).code).toBe(1001);
    expect(mapClose('upstream', { kind: 'proxy-stopping' }).code).toBe(1001);
  });

  it('reasons fit in 123 bytes of UTF-8 without splitting a character (§5.5)', () => {
    const long = 'é'.repeat(100); // 200 bytes
    const fitted = fitCloseReason(long);
    expect(Buffer.byteLength(fitted, 'utf8')).toBeLessThanOrEqual(123);
    expect(fitted.endsWith('…')).toBe(true);
    expect(Buffer.from(fitted, 'utf8').toString('utf8')).toBe(fitted);
    expect(fitCloseReason('short')).toBe('short');
    const mapped = mapClose('upstream', { kind: 'close-frame', code: 4000, reason: 'x'.repeat(123) });
    expect(mapped.reason).toBe('x'.repeat(123));
  });
});
