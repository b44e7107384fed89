// Restore targets: the helper moved to src/jobs/restore-target.ts (the server
// uses it too); re-exported here for the CLI. It loads all the sources, so
// `arca restore` imports this module lazily (see program.ts).
export { registeredDatabaseAt } from '../jobs/restore-target.js';
