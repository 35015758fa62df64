import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef } from 'react';
import type { ConnectionSummary } from '../../../shared/inspector-api.ts';
import { ConnectionItem } from './ConnectionsPanel.tsx';

/** Up to this many connections the list is plain; beyond, only the rows in view are in the DOM. */
export const VIRTUAL_FROM = 40;
/**
 * Every row of a long list is this tall (styles.css: .connections.virtual .connection): state and
 * id, remote, tags, peer facts, and a closed connection's detail. Measuring each row as it
 * scrolled in forced a layout per row (a third of the page's script time with 2,000 listed).
 */
export const VIRTUAL_ROW_HEIGHT = 84;
const GAP = 4;
const OVERSCAN = 6;

/**
 * A list of connections, newest first (issue 17: 10,000 concurrent connections). A short list is
 * a plain list; a long one scrolls in a box of its own and is virtualised (@tanstack/react-virtual,
 * as the frame list is) with rows of one height, so a status push with thousands of connections
 * re-renders a screenful of rows, not thousands.
 */
export function ConnectionList({ connections, label }: { connections: readonly ConnectionSummary[]; label: string }) {
  if (connections.length <= VIRTUAL_FROM) {
    return <ul className="connections" aria-label={label}>{connections.map((c) => <ConnectionItem key={c.id} c={c} />)}</ul>;
  }
  return <VirtualConnections connections={connections} label={label} />;
}

function VirtualConnections({ connections, label }: { connections: readonly ConnectionSummary[]; label: string }) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: connections.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => VIRTUAL_ROW_HEIGHT,
    overscan: OVERSCAN,
    gap: GAP,
    getItemKey: (index) => connections[index]!.id,
  });
  return (
    <div className="connections-scroll" ref={scrollRef} data-testid="connections-scroll" tabIndex={-1} aria-label={`${label}: ${connections.length.toLocaleString('en')} connections`}>
      <ul className="connections virtual" style={{ height: virtualizer.getTotalSize() }} aria-label={label}>
        {virtualizer.getVirtualItems().map((v) => {
          const c = connections[v.index]!;
          return <ConnectionItem key={v.key} c={c} slot={{ index: v.index, style: { transform: `translateY(${v.start}px)` } }} />;
        })}
      </ul>
    </div>
  );
}
