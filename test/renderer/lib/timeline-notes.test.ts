/** Notes as timeline rows (src/renderer/src/lib/timeline.ts): in an opened recording only. */

import { describe, expect, it } from 'vitest';
import { lifecycleRow } from '../../../src/renderer/src/lib/timeline.ts';
import type { TraceEvent } from '../../../src/core/trace.ts';

const note = (connectionId: string): TraceEvent => ({ type: 'note', text: 'Gap: 2008 bytes of the client → server stream are not read', seq: 7, time: 1000, connectionId });

describe('lifecycleRow for notes', () => {
  it('an opened recording\'s note is a row labelled note with its text', () => {
    expect(lifecycleRow(note('rec3:capture-1'), undefined)).toEqual({ kind: 'lifecycle', seq: 7, time: 1000, error: false, label: 'note', detail: 'Gap: 2008 bytes of the client → server stream are not read' });
  });
  it('a live connection\'s note is not (its timeline keeps to the connection\'s life)', () => {
    expect(lifecycleRow(note('server1:4'), 'server')).toBeNull();
    expect(lifecycleRow(note('conformance:case-1'), undefined)).toBeNull();
  });
});
