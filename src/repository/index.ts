// The repository layer: a volume's objects as backups — packs, index, trees,
// manifests, sessions — on top of content (crypto, chunking) and backend
// (raw objects). Sources and jobs use it; it knows nothing of databases.

export * from './repository.js';
export * from './config.js';
export * from './manifest.js';
export * from './tree.js';
export * from './object-keys.js';
export * from './write-session.js';
export * from './blob-reader.js';
export * from './stream-saver.js';
export * from './session-lease.js';
export * from './notes.js';
export * from './prune/index.js';
export { BlobType, type PackEntry } from './pack/pack-footer.js';
export { BlobIndex, type BlobLocation } from './index/blob-index.js';
