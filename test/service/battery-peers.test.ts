import { describe, expect, it } from 'vitest';
import { BATTERY_USER_AGENT, isBatteryRequest } from '../../src/service/battery-peers.ts';
import type { TracedHead } from '../../src/core/trace.ts';

const head = (kind: TracedHead['kind'], headers: Array<[string, string]>): TracedHead => ({
  kind, startLine: kind === 'request' ? 'GET / HTTP/1.1' : 'HTTP/1.1 101 Switching Protocols', headers: headers.map(([name, value]) => ({ name, value })), raw: new Uint8Array(),
});

describe('the conformance battery\'s own peers', () => {
  it('are known by the exact User-Agent the service gives the battery, in any letter case of the name', () => {
    expect(isBatteryRequest(head('request', [['user-agent', BATTERY_USER_AGENT]]))).toBe(true);
    expect(isBatteryRequest(head('request', [['User-Agent', `${BATTERY_USER_AGENT} `]]))).toBe(false);
    expect(isBatteryRequest(head('request', [['User-Agent', 'Mozilla/5.0']]))).toBe(false);
    expect(isBatteryRequest(head('response', [['User-Agent', BATTERY_USER_AGENT]]))).toBe(false);
  });
});
