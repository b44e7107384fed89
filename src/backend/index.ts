// The backend layer's public surface: the Backend contract, its
// implementations (local, memory, s3), the wrappers (retry, faults) and
// openBackend(), which turns a volume location into a Backend.

export {
  assertValidKey,
  assertValidPrefix,
  BackendError,
  isNotFound,
  type Backend,
  type ByteRange,
  type ObjectInfo,
} from './backend.js';
export { assertValidRange, resolveRange } from './range.js';
export { LocalBackend, TEMP_DIR } from './local/local-backend.js';
export { MemoryBackend } from './memory/memory-backend.js';
export { parseS3Location, S3Backend, S3_DEFAULTS, type S3BackendOptions, type S3Location } from './s3/index.js';
export {
  BACKEND_OPERATIONS,
  FaultBackend,
  mulberry32,
  type BackendOperation,
  type FaultOptions,
  type OperationCounts,
} from './faults/fault-backend.js';
export { isTransient, RetryBackend, type RetryInfo, type RetryOptions } from './retry/retry-backend.js';
export {
  describeLocation,
  openBackend,
  parseLocation,
  type OpenBackendOptions,
  type ParsedLocation,
} from './open-backend.js';
