import { useInspector } from '../store/store.ts';

/** What a new user sees first: how to get a conversation going. */
export function EmptyState() {
  const server = useInspector((s) => s.status?.server);
  const url = server?.url ?? `ws://127.0.0.1:${server?.port ?? 9001}/`;
  // wss:// with a certificate nobody vouches for: the terminal clients need to be told to trust it.
  const ca = server?.tls ? ` --ca ${server.tls.certPath}` : '';
  return (
    <div className="empty-state">
      <h1>Watch a WebSocket conversation, down to the bit</h1>
      {server?.running ? (
        <p>The embedded server is listening on <code>{url}</code>. Connect something to it:</p>
      ) : (
        <p>Start the embedded server above, then connect something to it:</p>
      )}
      <ol>
        <li>
          Open a browser console and run
          <pre>{`const ws = new WebSocket('${url}');\nws.onmessage = (e) => console.log(e.data);\nws.onopen = () => ws.send('Hello');`}</pre>
        </li>
        <li>or from a terminal: <pre>{`npx wsinspect connect ${url}${ca} --send Hello`}</pre> or <pre>{`wscat -c ${url}${ca}`}</pre></li>
        <li>or use <b>Connect client</b> on the left to open a connection from this app.</li>
      </ol>
      {server?.tls && <p className="hint">The server speaks TLS with a certificate a browser does not trust yet: open <b>How to trust this certificate in a browser</b> in the top bar first.</p>}
      <p className="hint">Every handshake header, the Sec-WebSocket-Accept computation and every frame will appear here as it crosses the wire.</p>
      <p className="hint">To check a server or a client against RFC 6455 case by case, open the <b>Conformance</b> tab above: it runs the battery and needs no connection.</p>
    </div>
  );
}
