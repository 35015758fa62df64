/**
 * "Export the frames shown" (issue 13, per-selection export): the frame ids of one connection that
 * the timeline shows now, under its direction and type filters, search and display filter, computed
 * the way the frame list computes them (frame-filter.ts), at the moment of exporting. In message
 * mode a shown message brings all of its frames.
 */
import { holdsFrame, type InspectorStore } from '../store/store.ts';
import { IncrementalFrameFilter } from './frame-filter.ts';
import { MessageItem } from './timeline.ts';

type ShownState = Pick<InspectorStore, 'frames' | 'framesByKey' | 'evictedFrames' | 'direction' | 'type' | 'search' | 'displayFilter' | 'timelineMode'>;

export function shownFrameIds(state: ShownState, connectionId: string): number[] {
  const filter = new IncrementalFrameFilter();
  filter.update(state.frames, {
    connectionId, direction: state.direction, type: state.type, search: state.search, display: state.displayFilter, mode: state.timelineMode,
  }, state.evictedFrames, (row) => holdsFrame(state, row));
  const ids = new Set<number>();
  for (const row of filter.rows) {
    for (const frame of row instanceof MessageItem ? row.frames : [row]) {
      if (frame.connectionId === connectionId) ids.add(frame.frameId);
    }
  }
  return [...ids].sort((a, b) => a - b);
}
