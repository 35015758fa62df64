/**
 * Application components for the embedded server: echo, chat (broadcast), and manual
 * (nothing automatic: the user answers by hand from the inspector).
 */

import { Opcode } from '../constants.ts';
import type { ServerComponent } from '../net/server.ts';

/** Sends every message back as it came: text as text, binary as binary. */
export const echoComponent: ServerComponent = {
  name: 'echo',
  onMessage(conn, message) {
    if (conn.state !== 'OPEN') return;
    if (message.opcode === Opcode.Text) conn.sendText(message.text ?? '');
    else conn.sendBinary(message.data);
  },
};

/**
 * Broadcasts every message to every other open connection. A member that reads slower than the
 * room talks is not fed without bound: while its queue is past the high-water mark, the speaker
 * is not read either (TCP pushes back on it) until that member has drained. (Echo needs nothing
 * of the kind: the connection it answers is the one it stops reading.)
 */
export const chatComponent: ServerComponent = {
  name: 'chat',
  onMessage(conn, message, server) {
    const slow: Promise<void>[] = [];
    for (const other of server.openConnections()) {
      if (other === conn) continue;
      if (message.opcode === Opcode.Text) other.sendText(message.text ?? '');
      else other.sendBinary(message.data);
      if (other.writableNeedsDrain) slow.push(other.drained());
    }
    if (slow.length > 0) void Promise.all(slow).then(conn.pauseReading());
  },
};

/** Does nothing by itself: every answer comes from the user. */
export const manualComponent: ServerComponent = { name: 'manual' };

export const components = { echo: echoComponent, chat: chatComponent, manual: manualComponent } as const;
export type ComponentName = keyof typeof components;

/**
 * An own property only: `name in components` is true for "__proto__", "constructor", "toString"
 * and every other name the object inherits, which would run no application at all.
 */
export function isComponentName(name: string): name is ComponentName {
  return Object.hasOwn(components, name);
}
