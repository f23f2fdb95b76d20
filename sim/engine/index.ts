export { withoutWallClock, withoutWallClockAsync } from './no-wall-clock.ts';
export { EventScheduler } from './scheduler.ts';
export { TraceHash } from './trace-hash.ts';
export { VirtualClock } from './virtual-clock.ts';
