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

/** Broadcasts every message to every other open connection. */
export const chatComponent: ServerComponent = {
  name: 'chat',
  onMessage(conn, message, server) {
    for (const other of server.openConnections()) {
      if (other === conn) continue;
      if (message.opcode === Opcode.Text) other.sendText(message.text ?? '');
      else other.sendBinary(message.data);
    }
  },
};

/** Does nothing by itself: every answer comes from the user. */
export const manualComponent: ServerComponent = { name: 'manual' };

export const components = { echo: echoComponent, chat: chatComponent, manual: manualComponent } as const;
export type ComponentName = keyof typeof components;

export function isComponentName(name: string): name is ComponentName {
  return name in components;
}
