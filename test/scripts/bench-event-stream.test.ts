/**
 * scripts/bench-event-stream.ts runs end to end on a short flood: the web host in its own
 * process, a subscriber that stops reading loses batches past its queue limit and, reading
 * again, is told how many, and the host is still up. It checks the script and the cap's
 * behaviour, not the memory figures (those depend on the machine; BENCHMARKS.md has them).
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown, runEventStreamBench } from '../../scripts/bench-event-stream.ts';

describe('npm run bench:event-stream (3 s)', () => {
  it('drops a stalled subscriber\'s batches, tells it how many, and keeps serving', async () => {
    // A 4 MiB queue (the app's is 64) and 2 KiB messages: the compact binary batches of a 3 s flood
    // of 256 B on a loaded machine carry ~10 MB, about what loopback's socket buffers can absorb.
    const r = await runEventStreamBench(3, 2048, 4);
    expect(r.messages).toBeGreaterThan(1000);
    expect(r.survived).toBe(true);
    expect(r.toldDropped).not.toBeNull();
    expect(r.toldDropped!).toBeGreaterThan(0);
    expect(r.retainedMiB.before).toBeGreaterThan(0);
    expect(renderMarkdown(r)).toContain('## Event stream: a subscriber that stops reading');
  }, 90_000);
});
