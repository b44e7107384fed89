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
// The S3 backend itself is not re-exported here: it loads the AWS SDK, which
// only S3 volumes need (openBackend loads it on demand; import ./s3/index.js).
export { parseS3Location, type S3Location } from './s3/s3-location.js';
export type { S3BackendOptions } from './s3/s3-backend.js';
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
