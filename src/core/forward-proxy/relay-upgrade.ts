/**
 * A WebSocket handshake that came through the forward proxy, run as one of the reverse proxy's
 * conversations (src/core/proxy/conversation.ts): our server answers the client, our client
 * connects to the origin the URL names, and the relay carries and traces both legs.
 */

import { ProxyConversation, type ConversationOptions } from '../proxy/conversation.ts';
import type { WebSocketUpgrade } from './forward-proxy.ts';

export function relayUpgrade(upgrade: WebSocketUpgrade, options: Omit<ConversationOptions, 'target' | 'listenPath' | 'upstreamTls'> = {}): ProxyConversation {
  // The origin's root: the client's path and query are appended to it (upstreamRequestTarget).
  const origin = new URL(upgrade.url);
  const trace = options.tracer?.active ? options.tracer.forConnection(upgrade.id) : undefined;
  const conversation = new ProxyConversation(upgrade.downstream, upgrade.id, trace, {
    ...options, target: `${origin.protocol}//${origin.host}/`, listenPath: '/', ...(upgrade.tls ? { upstreamTls: upgrade.tls } : {}),
  });
  conversation.start(upgrade.initial);
  return conversation;
}
