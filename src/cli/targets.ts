// Restore targets: the helper moved to src/jobs/restore-target.ts (the server
// uses it too); re-exported here for the CLI.
export { registeredDatabaseAt } from '../jobs/restore-target.js';
