// Test helpers for end-to-end tests of the real CLI: running it (and tracing
// the modules it loads), building and comparing trees, looking at a volume
// from outside, seeded randomness.

export * from './arca.js';
export * from './fixtures.js';
export * from './module-trace.js';
export * from './random.js';
export * from './temp.js';
export * from './tree.js';
export * from './volume.js';
