// S3 volumes (`s3://bucket/prefix`): the backend, its location syntax and
// its defaults. See s3-backend.ts for what it owns and s3-client.ts for how
// credentials, region, endpoint and retries are chosen.

export { S3Backend, S3_DEFAULTS, type S3BackendOptions } from './s3-backend.js';
export { parseS3Location, type S3Location } from './s3-location.js';
export { resolveEndpoint } from './s3-client.js';
export { toBackendError } from './s3-errors.js';
