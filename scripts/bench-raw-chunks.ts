/**
 * npm run bench:raw-chunks — what the raw chunk store (src/service/raw-chunks.ts) costs per socket
 * write/read and its frame position, alone, in the pattern of the 64 B sequential echo (issue 17):
 * per round trip on a connection, a frame position out (traced just before its write), a 70-byte
 * write (a masked 64 B frame), a 66-byte read (the unmasked echo) and its frame position in. On 1
 * connection and round robin over 100, with the default budgets (1 MiB per connection, 32 MiB in
 * all), so eviction runs steadily: per connection on one, the total budget on a hundred.
 *
 * Holds the store against the one before its columns rewrite (test/support/raw-chunks-reference.ts)
 * in ABBA order (round r runs current then reference, round r+1 the other way round), a fresh store
 * per run, and prints the median of the runs: ns per chunk (its frame position included), CPU ms,
 * GC ms per million chunks (PerformanceObserver 'gc' entries) and the heap the store holds at the end.
 * Prints a table only; it writes no section of BENCHMARKS.md.
 *
 * Environment: RAW_ROUND_TRIPS (default 1000000), RAW_ROUNDS (default 5), RAW_IMPL=current|reference
 * (only that one).
 */

import { PerformanceObserver } from 'node:perf_hooks';
import { RawChunkStore } from '../src/service/raw-chunks.ts';
import { ReferenceRawChunkStore } from '../test/support/raw-chunks-reference.ts';
import type { Direction } from '../src/core/trace.ts';

interface Store {
  addChunk(connectionId: string, direction: Direction, bytes: Uint8Array, seq: number, time: number): void;
  frameAt(connectionId: string, direction: Direction, frameId: number, length: number, first: number): void;
  usage(): { total: number; chunks: number; connections: number };
}
type Impl = 'current' | 'reference';
const makers: Record<Impl, () => Store> = { current: () => new RawChunkStore(), reference: () => new ReferenceRawChunkStore() };

interface Run {
  nsPerChunk: number;
  cpuMs: number;
  gcMsPerMillion: number;
  heapMiB: number;
  keptChunks: number;
}

let gcMs = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
observer.observe({ entryTypes: ['gc'] });

const settle = () => new Promise((r) => setTimeout(r, 20));
const collect = () => (globalThis as { gc?: () => void }).gc?.();

async function run(impl: Impl, roundTrips: number, connections: number): Promise<Run> {
  const ids = Array.from({ length: connections }, (_, i) => `conn-${i + 1}`);
  const out = new Uint8Array(70).fill(0x82);
  const back = new Uint8Array(66).fill(0x82);
  collect();
  await settle();
  const heapBefore = process.memoryUsage();
  gcMs = 0;
  const store = makers[impl]();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  let seq = 0;
  let frameId = 0;
  for (let i = 0; i < roundTrips; i++) {
    const id = ids[i % connections]!;
    const time = i; // a number like Date.now()'s, without the call's cost
    store.frameAt(id, 'out', ++frameId, 70, 0x82);
    store.addChunk(id, 'out', out, ++seq, time);
    store.addChunk(id, 'in', back, ++seq, time);
    store.frameAt(id, 'in', ++frameId, 66, 0x82);
  }
  const ns = Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  await settle(); // the observer's entries arrive in a later turn
  const chunks = 2 * roundTrips;
  const heapAfter = process.memoryUsage();
  const heap = heapAfter.heapUsed + heapAfter.arrayBuffers - heapBefore.heapUsed - heapBefore.arrayBuffers;
  const keptChunks = store.usage().chunks;
  return { nsPerChunk: ns / chunks, cpuMs: (used.user + used.system) / 1000, gcMsPerMillion: (gcMs * 1e6) / chunks, heapMiB: heap / 2 ** 20, keptChunks };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const roundTrips = Number(process.env.RAW_ROUND_TRIPS ?? 1_000_000);
  const rounds = Number(process.env.RAW_ROUNDS ?? 5);
  const only = process.env.RAW_IMPL as Impl | undefined;
  const impls: Impl[] = only ? [only] : ['current', 'reference'];
  if (!(roundTrips > 0) || !(rounds > 0) || impls.some((i) => !(i in makers))) {
    console.error('RAW_ROUND_TRIPS and RAW_ROUNDS must be positive numbers, RAW_IMPL current or reference');
    process.exit(2);
  }
  if (!(globalThis as { gc?: unknown }).gc) console.warn('(run with node --expose-gc for a settled heap between runs)');
  console.log(`raw chunk store, 64 B echo pattern: ${roundTrips} round trips (${2 * roundTrips} chunks + as many frame positions), median of ${rounds} runs${impls.length > 1 ? ', ABBA' : ''}`);
  console.log('connections  store      ns/chunk  cpu ms  gc ms/1M chunks  heap MiB  kept chunks');
  for (const connections of [1, 100]) {
    const runs = new Map<Impl, Run[]>(impls.map((i) => [i, []]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? impls : [...impls].reverse();
      for (const impl of order) runs.get(impl)!.push(await run(impl, roundTrips, connections));
    }
    for (const impl of impls) {
      const rs = runs.get(impl)!;
      const m = (f: (x: Run) => number) => median(rs.map(f));
      console.log(
        `${String(connections).padStart(11)}  ${impl.padEnd(9)}  ${m((x) => x.nsPerChunk).toFixed(0).padStart(8)}  ${m((x) => x.cpuMs).toFixed(0).padStart(6)}` +
        `  ${m((x) => x.gcMsPerMillion).toFixed(1).padStart(15)}  ${m((x) => x.heapMiB).toFixed(1).padStart(8)}  ${String(m((x) => x.keptChunks)).padStart(11)}`,
      );
    }
  }
  observer.disconnect();
}

await main();
