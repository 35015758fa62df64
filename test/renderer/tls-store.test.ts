/**
 * The renderer store keeps each connection's TLS event (issue 11), beside its handshake, and
 * forgets it with the connection.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/core/trace.ts';
import type { TlsInfo } from '../../src/core/tls-types.ts';
import { useInspector } from '../../src/renderer/src/store/store.ts';

const tls: TlsInfo = {
  role: 'client', ok: true, verified: false, insecure: true, protocol: 'TLSv1.3', cipher: { name: 'x', standardName: 'TLS_AES_256_GCM_SHA384', version: 'TLSv1.3' },
  alpn: 'http/1.1', alpnOffered: ['http/1.1'], sni: null, host: '127.0.0.1', peerCertificates: [], localCertificate: null,
};

const event = (seq: number, body: Record<string, unknown>, connectionId = 'client:9'): TraceEvent => ({ seq, time: seq, connectionId, ...body }) as TraceEvent;

describe('the tls event in the store', () => {
  it('is kept per connection, after connection-opened, and survives later events', () => {
    useInspector.getState().applyBatch({
      events: [
        event(1, { type: 'connection-opened', role: 'client', local: '127.0.0.1:1', remote: '127.0.0.1:2', url: 'wss://127.0.0.1:2/' }),
        event(2, { type: 'tls', tls }),
        event(3, { type: 'note', text: 'a note' }),
        event(4, { type: 'connection-opened', role: 'server', local: '127.0.0.1:2', remote: '127.0.0.1:1' }, 'server1:1'),
      ],
    });
    const details = useInspector.getState().details;
    expect(details['client:9']?.tls?.tls).toEqual(tls);
    expect(details['client:9']?.notes).toHaveLength(1);
    expect(details['server1:1']?.tls).toBeUndefined();
  });

  it('goes with the connection when the service no longer lists it', () => {
    useInspector.getState().applyBatch({ events: [], status: { server: useInspector.getState().status?.server ?? ({} as never), connections: [] } });
    expect(useInspector.getState().details['client:9']).toBeUndefined();
  });
});
