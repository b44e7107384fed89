// An Arca server started in-process for the API tests, over real HTTPS with
// its self-signed certificate: a catalog in a scratch home, one volume with
// one backup of a small folder, three users (one per role), a login limiter
// on a clock the test moves, and a client per role.
import { mkdirSync, writeFileSync } from 'node:fs';
import { openCatalog, catalogPath, addVolume, addDatabase, type Catalog } from '../../../src/catalog/index.js';
import { addUser, type ScryptParams, type UserRole } from '../../../src/catalog/users.js';
import { initOrAttachVolume, openVolume, runBackup } from '../../../src/jobs/index.js';
import { createLogger, LoginLimiter, loadTls, Server, type TlsMaterial } from '../../../src/server/index.js';
import { makeScratch, TEST_PASSWORD, type Scratch } from '../../helpers/index.js';
import { expect } from 'vitest';
import type { z } from 'zod';
import { JobSchema } from '../../../src/server/schemas.js';
import { ApiClient, parseSse } from './client.js';

type Job = z.output<typeof JobSchema>;

/** Cheap scrypt for test users (the format stores the parameters, so the server honours them). */
export const TEST_SCRYPT: ScryptParams = { log2N: 10, r: 8, p: 1 };
export const PASSWORDS: Record<UserRole, string> = {
  admin: 'admin password 1',
  operator: 'operator password 2',
  viewer: 'viewer password 3',
};

export interface TestServer {
  scratch: Scratch;
  home: string;
  catalog: Catalog;
  server: Server;
  tls: TlsMaterial | null;
  /** No credentials. */
  anon: ApiClient;
  as: Record<UserRole, ApiClient>;
  /** Moves the login limiter's clock. */
  advance(ms: number): void;
  backupId: string;
  close(): Promise<void>;
}

export async function startTestServer(
  options: { label?: string; insecureHttp?: boolean; trustProxy?: boolean; uploadLimit?: number } = {},
): Promise<TestServer> {
  const scratch = makeScratch(options.label ?? 'api');
  const home = scratch.path('home');
  mkdirSync(home, { recursive: true });
  const catalog = openCatalog(catalogPath(home));
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    await addUser(catalog, { name: role, role, password: PASSWORDS[role] }, TEST_SCRYPT);
  }
  const volumeDir = scratch.path('volume');
  const { volumeId } = await initOrAttachVolume(volumeDir, TEST_PASSWORD);
  addVolume(catalog, { name: 'local', location: volumeDir, volumeId });
  const docs = scratch.path('docs');
  mkdirSync(docs);
  writeFileSync(`${docs}/readme.txt`, 'hello from the api test\n');
  addDatabase(catalog, { name: 'docs', url: `file://${docs}` });
  const volume = await openVolume({ name: 'local', location: volumeDir }, TEST_PASSWORD);
  const backup = await runBackup({ volume, database: { name: 'docs', url: `file://${docs}` }, level: 0, expiresAt: null });
  await volume.close();

  let now = Date.now();
  const limiter = new LoginLimiter({ now: () => now });
  const tls = options.insecureHttp ? null : await loadTls(home);
  const server = new Server({
    catalog,
    host: '127.0.0.1',
    port: 0,
    tls,
    volumePassword: async () => TEST_PASSWORD,
    version: 'test',
    logger: createLogger({ level: 'silent' }),
    limiter,
    trustProxy: options.trustProxy === true,
    ...(options.uploadLimit !== undefined ? { uploadLimit: options.uploadLimit } : {}),
  });
  const url = await server.start();
  const anon = new ApiClient(url, tls?.cert ?? null);
  const as = {
    admin: anon.withAuth({ user: 'admin', password: PASSWORDS.admin }),
    operator: anon.withAuth({ user: 'operator', password: PASSWORDS.operator }),
    viewer: anon.withAuth({ user: 'viewer', password: PASSWORDS.viewer }),
  };
  return {
    scratch,
    home,
    catalog,
    server,
    tls,
    anon,
    as,
    advance: (ms) => {
      now += ms;
    },
    backupId: backup.id,
    close: async () => {
      await server.stop();
      catalog.close();
      scratch.cleanup();
    },
  };
}

/** Follows a job's event stream to its end; the job as it ended. */
export async function followJob(client: ApiClient, id: number): Promise<Job> {
  const r = await client.get(`/api/v1/jobs/${id}/events?interval=100`);
  return JobSchema.parse(parseSse(r.text).at(-1)!.data);
}

/** Backs a registered database up over the API (operator), waits for it, and downloads the backup's export file. */
export async function backupAndDownload(t: TestServer, db: string): Promise<Buffer> {
  const started = await t.as.operator.put(`/api/v1/databases/${db}/backups/start`, { body: {} });
  expect(started.status, started.text).toBe(202);
  const end = await followJob(t.as.viewer, JobSchema.parse(started.json).id);
  expect(end.status, end.error ?? '').toBe('succeeded');
  const r = await t.as.operator.get(`/api/v1/backups/${String(end.figures['backup'])}/download`);
  expect(r.status).toBe(200);
  return r.body;
}
