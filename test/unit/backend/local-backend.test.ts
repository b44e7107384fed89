import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../../src/backend/backend.js';
import { LocalBackend, TEMP_DIR } from '../../../src/backend/local/local-backend.js';
import { backendError, collect, runBackendContract } from './contract.js';

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'arca-local-'));
}

runBackendContract('LocalBackend', async () => {
  const dir = await tempDir();
  const backend = await LocalBackend.create(path.join(dir, 'volume'));
  return { backend, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
});

describe('LocalBackend', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('create makes nested folders and is idempotent; open finds them', async () => {
    const root = path.join(dir, 'a', 'b', 'vol');
    const b = await LocalBackend.create(root);
    expect(b.location).toBe(root);
    await b.put('config', Buffer.from('c'));
    const again = await LocalBackend.create(root);
    expect((await again.get('config')).toString()).toBe('c');
    const opened = await LocalBackend.open(path.relative(process.cwd(), root));
    expect(opened.location).toBe(root); // always absolute
    expect((await fsp.readFile(path.join(root, 'config'))).toString()).toBe('c');
  });

  it('open fails with NOT_FOUND naming a missing folder, and refuses a file', async () => {
    const missing = path.join(dir, 'does-not-exist');
    const err = await backendError(LocalBackend.open(missing));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(missing);
    const file = path.join(dir, 'plain-file');
    await fsp.writeFile(file, 'x');
    expect((await backendError(LocalBackend.open(file))).message).toMatch(/not a folder/);
    expect((await backendError(LocalBackend.create(path.join(file, 'sub')))).permanent).toBe(true);
  });

  it('never lists or returns a crashed writer\'s temp file, and cleanupTemp removes old ones', async () => {
    const b = await LocalBackend.create(path.join(dir, 'crash'));
    await b.put('data/aa/kept', Buffer.from('whole'));
    const tmp = path.join(b.root, TEMP_DIR);
    await fsp.writeFile(path.join(tmp, 'dead1.tmp'), 'half an obj');
    await fsp.writeFile(path.join(tmp, 'dead2.tmp'), 'recent');
    const old = new Date(Date.now() - 2 * 3600_000);
    await fsp.utimes(path.join(tmp, 'dead1.tmp'), old, old);
    expect(await collect(b.list(''))).toEqual([{ key: 'data/aa/kept', size: 5 }]);
    // tmp~ is not a valid key, so a temp file cannot be addressed at all.
    expect((await backendError(b.get(`${TEMP_DIR}/dead1.tmp`))).permanent).toBe(true);
    expect(await b.cleanupTemp(3600_000)).toBe(1);
    expect((await fsp.readdir(tmp)).sort()).toEqual(['dead2.tmp']);
    expect(await b.cleanupTemp(0)).toBe(1);
    expect(await fsp.readdir(tmp)).toEqual([]);
  });

  it('leaves no temp files behind after puts', async () => {
    const b = await LocalBackend.create(path.join(dir, 'clean'));
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.put(`x/${i}`, Buffer.alloc(1000, i))));
    expect(await fsp.readdir(path.join(b.root, TEMP_DIR))).toEqual([]);
  });

  it('recreates a missing temp folder', async () => {
    const b = await LocalBackend.create(path.join(dir, 'notmp'));
    await fsp.rm(path.join(b.root, TEMP_DIR), { recursive: true });
    await b.put('config', Buffer.from('ok'));
    expect((await b.get('config')).toString()).toBe('ok');
  });

  it('skips entries that are not valid keys (lost+found, stray names)', async () => {
    const b = await LocalBackend.create(path.join(dir, 'stray'));
    await b.put('data/aa/ok', Buffer.from('1'));
    await fsp.mkdir(path.join(b.root, 'lost+found'));
    await fsp.writeFile(path.join(b.root, 'lost+found', 'x'), 'x');
    await fsp.writeFile(path.join(b.root, 'data', 'aa', 'bad name'), 'x');
    expect(await collect(b.list(''))).toEqual([{ key: 'data/aa/ok', size: 1 }]);
  });

  it('follows symlinked folders once, without looping', async () => {
    const b = await LocalBackend.create(path.join(dir, 'links'));
    const elsewhere = path.join(dir, 'elsewhere');
    await fsp.mkdir(elsewhere);
    await fsp.symlink(elsewhere, path.join(b.root, 'data'));
    await b.put('data/aa/obj', Buffer.from('abc'));
    await fsp.symlink(b.root, path.join(elsewhere, 'loop'));
    expect(await collect(b.list('data/'))).toEqual([{ key: 'data/aa/obj', size: 3 }]);
    expect((await collect(b.list(''))).map((o) => o.key)).toContain('data/aa/obj');
  });

  it('fails permanently and clearly when a key collides with a folder or a file', async () => {
    const b = await LocalBackend.create(path.join(dir, 'collide'));
    await b.put('a/b', Buffer.from('1'));
    const e1 = await backendError(b.put('a', Buffer.from('2')));
    expect(e1.permanent).toBe(true);
    expect(e1.message).toContain('cannot store object a');
    await b.put('c', Buffer.from('1'));
    const e2 = await backendError(b.put('c/d', Buffer.from('2')));
    expect(e2.permanent).toBe(true);
    expect(e2.message).toContain('c/d');
    expect(await fsp.readdir(path.join(b.root, TEMP_DIR))).toEqual([]);
  });

  // Root bypasses file permissions (CAP_DAC_OVERRIDE), so chmod cannot provoke
  // EACCES when the tests run as root; the read-only mount test in
  // local-backend-disk.test.ts covers the same "cannot write" path with EROFS.
  it.skipIf(process.getuid?.() === 0)('a put into a read-only folder fails permanently (EACCES)', async () => {
    const b = await LocalBackend.create(path.join(dir, 'ro'));
    await fsp.chmod(b.root, 0o555);
    await fsp.chmod(path.join(b.root, TEMP_DIR), 0o555);
    try {
      const err = await backendError(b.put('config', Buffer.from('x')));
      expect(err.permanent).toBe(true);
      expect(err.message).toMatch(/permission denied \(EACCES\)/);
      expect(err.message).toContain(b.root);
    } finally {
      await fsp.chmod(path.join(b.root, TEMP_DIR), 0o700);
      await fsp.chmod(b.root, 0o700);
    }
  });

  it('reports errors as BackendError with the volume and key in the message', async () => {
    const b = await LocalBackend.create(path.join(dir, 'msg'));
    const err = await backendError(b.get('snapshots/x'));
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toBe(`volume ${b.root}: object snapshots/x not found`);
  });
});
