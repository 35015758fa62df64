// Starts scripts/bench-proxy-worker.ts in a worker thread: module hooks (tsx) are not inherited
// by workers, so the worker registers them itself.
import { register } from 'tsx/esm/api';

register();
await import('./bench-proxy-worker.ts');
