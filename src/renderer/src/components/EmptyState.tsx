import { useInspector } from '../store/store.ts';

/** What a new user sees first: how to get a conversation going. */
export function EmptyState() {
  const server = useInspector((s) => s.status?.server);
  const url = server?.url ?? `ws://127.0.0.1:${server?.port ?? 9001}/`;
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
        <li>or from a terminal: <pre>{`npx wsinspect connect ${url} --send Hello`}</pre> or <pre>{`wscat -c ${url}`}</pre></li>
        <li>or use <b>Connect client</b> on the left to open a connection from this app.</li>
      </ol>
      <p className="hint">Every handshake header, the Sec-WebSocket-Accept computation and every frame will appear here as it crosses the wire.</p>
      <p className="hint">To check a server or a client against RFC 6455 case by case, open the <b>Conformance</b> tab above: it runs the battery and needs no connection.</p>
    </div>
  );
}
