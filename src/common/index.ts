// Small pure helpers shared by every layer: expiry durations, the backup
// guard rails' values, human-readable figures and the rules for names.
// Nothing here does I/O.
export { parseDuration, formatDurationSpec, MAX_DURATION_MS } from './duration.js';
export { checkJobs, parseJobs, parseMaxDuration, parseRateLimit, MAX_JOBS, type MaxDuration } from './guard-rails.js';
export {
  formatBytes,
  formatRate,
  formatDuration,
  formatEta,
  formatPercent,
  formatTimestamp,
} from './format.js';
export { NAME_PATTERN, isValidName, validateName, type NameKind } from './names.js';
