// The content layer: what a chunk becomes on the volume and back — chunking
// (FastCDC), keyed blob ids, compression, encryption, and the worker pool that
// does the heavy parts, and the checksum recorded for each table's stream.
// It knows nothing of packs, indexes or backups.

export * from './keys.js';
export * from './seal.js';
export * from './blob-codec.js';
export * from './blob-pool.js';
export * from './chunker.js';
export * from './gear.js';
export * from './stream-checksum.js';
