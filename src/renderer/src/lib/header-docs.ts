/**
 * Plain words for each handshake header, with the RFC section it comes from.
 */
export interface HeaderDoc {
  meaning: string;
  rfcSection: string;
}

const docs: Record<string, HeaderDoc> = {
  host: { meaning: 'Which host (and port) the client wants; lets one server serve several names.', rfcSection: '§4.1 (4)' },
  upgrade: { meaning: 'Asks to switch this HTTP connection to another protocol: here "websocket".', rfcSection: '§4.1 (5), §4.2.2' },
  connection: { meaning: 'Must list "Upgrade", so proxies know the Upgrade header is meant for this hop.', rfcSection: '§4.1 (6)' },
  'sec-websocket-key': { meaning: '16 random bytes in base64, fresh for each connection. The server proves it read the handshake by hashing it into Sec-WebSocket-Accept.', rfcSection: '§4.1 (7)' },
  'sec-websocket-version': { meaning: 'The protocol version the client speaks. RFC 6455 is version 13; a server that speaks another answers 426 with the versions it knows.', rfcSection: '§4.1 (9), §4.4' },
  'sec-websocket-accept': { meaning: 'base64(SHA-1(Sec-WebSocket-Key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")): the server proves it read a WebSocket handshake, so it does not accept connections that are not WebSocket connections (e.g. requests crafted with XMLHttpRequest or a form submission).', rfcSection: '§1.3, §4.2.2 (5.4)' },
  'sec-websocket-protocol': { meaning: 'Subprotocols: the client offers a list in order of preference; the server picks at most one of them.', rfcSection: '§4.1 (10), §11.3.4' },
  'sec-websocket-extensions': { meaning: 'Extensions such as permessage-deflate: in the request, the offers, most preferred first; in the response, the one the server accepted, with the parameters in force. Without one, frames go as they are and RSV bits must stay 0.', rfcSection: '§9.1, RFC 7692 §5' },
  origin: { meaning: 'The web page that opened the connection (browsers always send it). Servers use it to refuse pages they do not trust.', rfcSection: '§4.1 (8), §10.2' },
  'user-agent': { meaning: 'The client software. Not part of the WebSocket handshake rules.', rfcSection: 'RFC 9110 §10.1.5' },
  'cache-control': { meaning: 'HTTP caching hints; browsers send "no-cache" so no proxy answers from a cache.', rfcSection: 'RFC 9111 §5.2' },
  pragma: { meaning: 'The old HTTP/1.0 form of Cache-Control: no-cache.', rfcSection: 'RFC 9111 §5.4' },
  'accept-encoding': { meaning: 'Compression the client accepts for HTTP bodies; irrelevant once the connection upgrades.', rfcSection: 'RFC 9110 §12.5.3' },
  'accept-language': { meaning: 'The user\'s languages; not used by the WebSocket handshake.', rfcSection: 'RFC 9110 §12.5.4' },
  'content-length': { meaning: 'Length of the HTTP body that follows (error responses carry a plain-text explanation).', rfcSection: 'RFC 9110 §8.6' },
  'content-type': { meaning: 'The media type of the HTTP body.', rfcSection: 'RFC 9110 §8.3' },
  allow: { meaning: 'The methods the resource accepts; sent with 405.', rfcSection: 'RFC 9110 §10.2.1' },
  cookie: { meaning: 'Cookies for the server; browsers send them with the handshake like any request.', rfcSection: 'RFC 6265' },
  authorization: { meaning: 'Credentials for the server (e.g. Basic or Bearer).', rfcSection: 'RFC 9110 §11.6.2' },
};

/** In the server's 101 answer some headers come from §4.2.2's list rather than §4.1's. */
const responseDocs: Record<string, HeaderDoc> = {
  connection: { meaning: 'Must be "Upgrade": the server confirms, for this hop, that the connection switches to the protocol named in Upgrade.', rfcSection: '§4.2.2 (5.3)' },
};

/** In a refusal (any status but 101) some headers mean something else. */
const refusalDocs: Record<string, HeaderDoc> = {
  connection: { meaning: '"close": the server closes the TCP connection after this response.', rfcSection: 'RFC 9112 §9.6' },
  upgrade: { meaning: 'With 426, the protocol the client must upgrade to in order to be served.', rfcSection: 'RFC 9110 §15.5.22' },
  'sec-websocket-version': { meaning: 'The WebSocket versions this server speaks; sent with 426 when the client asked for another.', rfcSection: '§4.4' },
};

/** The header name comes from the peer: own properties only ("__proto__" or "constructor" is no doc). */
export function headerDoc(name: string, context: 'upgrade' | 'response' | 'refusal' = 'upgrade'): HeaderDoc | undefined {
  const key = name.toLowerCase();
  const own = (table: Record<string, HeaderDoc>) => (Object.hasOwn(table, key) ? table[key] : undefined);
  const special = context === 'refusal' ? own(refusalDocs) : context === 'response' ? own(responseDocs) : undefined;
  return special ?? own(docs);
}
