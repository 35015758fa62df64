import { useMemo } from 'react';
import { conversationOf, counterpartOf, formatDelay, legPeer } from '../lib/conversation.ts';
import { useInspector } from '../store/store.ts';
import { FrameExpectations } from './RfcExpectations.tsx';
import './proxy.css';

/**
 * Proxy mode: the selected frame's counterpart on the other leg ("this frame from the client
 * became that frame to the server"), the delay the proxy added, and one click to jump to it.
 */
export function FramePairing() {
  const key = useInspector((s) => s.selectedFrameKey);
  const row = useInspector((s) => (s.selectedFrameKey ? s.framesByKey.get(s.selectedFrameKey) : undefined));
  const connections = useInspector((s) => s.status?.connections);
  const frames = useInspector((s) => s.frames);
  const frameVersion = useInspector((s) => s.frameVersion);
  const framesByKey = useInspector((s) => s.framesByKey);
  const selectConnection = useInspector((s) => s.selectConnection);
  const selectFrame = useInspector((s) => s.selectFrame);

  const leg = row && connections?.find((c) => c.id === row.connectionId)?.proxyLeg;
  const pair = useMemo(() => {
    if (!row || !leg) return null;
    return counterpartOf({ connectionId: row.connectionId, frameId: row.frameId, relay: row.relay }, frames.filter((f) => f.relay !== undefined));
    // frameVersion: the ring changes in place
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [row, leg, frames, frameVersion]);
  if (!row || !leg || !connections) return null;
  const shape = conversationOf(connections, row.connectionId);
  if (!shape) return null;
  const here = legPeer(shape, row.connectionId);
  const there = here === 'the client' ? 'the server' : 'the client';
  const thisWay = row.direction === 'in' ? `from ${here}` : `to ${here}`;
  if (!pair) {
    const why = row.direction === 'in' ? 'no copy of it has been sent to the other leg (yet: it may be held by step mode, or it was dropped)' : 'the proxy sent it on its own (an answer to a ping, its closing handshake, or a frame injected by the debugger)';
    return (
      <>
        <div className="pairing none" data-testid="frame-pairing">This frame {thisWay} has no counterpart on the other leg: {why}.</div>
        <FrameExpectations shape={shape} connectionId={row.connectionId} frameId={row.frameId} />
      </>
    );
  }
  const otherKey = `${pair.connectionId}:${pair.frameId}`;
  const otherHeld = framesByKey.has(otherKey);
  const thatWay = row.direction === 'in' ? `to ${there}` : `from ${there}`;
  const jump = () => {
    selectConnection(pair.connectionId);
    selectFrame(otherKey);
  };
  return (
    <>
    <div className="pairing" data-testid="frame-pairing">
      <span>
        {pair.isCopy
          ? <>This frame {thisWay} is the proxy&apos;s copy of frame #{pair.frameId} {thatWay}, sent <strong data-testid="pairing-delay">{formatDelay(pair.delayUs)}</strong> after it arrived.</>
          : <>This frame {thisWay} became frame #{pair.frameId} {thatWay}, <strong data-testid="pairing-delay">{formatDelay(pair.delayUs)}</strong> later (the delay the proxy added).</>}
      </span>
      <button className="button small" onClick={jump} disabled={!otherHeld} data-testid="pairing-jump" title={otherHeld ? `Open frame #${pair.frameId} on ${pair.connectionId}` : 'That frame has left the list (the list keeps the most recent frames)'}>
        Go to frame #{pair.frameId} →
      </button>
    </div>
    <FrameExpectations shape={shape} connectionId={row.connectionId} frameId={row.frameId} />
    </>
  );
}
