// Public surface of the server layer: the HTTPS REST API over the jobs layer
// and the catalog, with users, roles and API tokens (docs/api.md).
export { Server, type ServerOptions } from './server.js';
export { loadTls, tlsDir, type TlsMaterial, type TlsOptions } from './tls.js';
export { LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
export { RunningJobs } from './running-jobs.js';
export { VolumePool, type VolumePassword } from './volume-pool.js';
export { createLogger, LOG_LEVELS, type LogLevel } from './logger.js';
export { ACTION_ROLES, mayDo, minimumRole, type Action } from './roles.js';
export { HTTP_STATUS, toHttpProblem } from './http-errors.js';
