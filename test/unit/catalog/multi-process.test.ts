// Several `arca` processes open one fresh catalog at the same moment: the
// migrations must run exactly once and every process's write must land.
// The catalog's modules are transpiled (no build needed) into a temp dir and
// run in real child processes.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPath, listDatabases, listVolumes, MIGRATIONS, openCatalog } from '../../../src/catalog/index.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const sources = [
  'src/errors.ts',
  'src/common/names.ts',
  'src/catalog/catalog.ts',
  'src/catalog/migrations.ts',
  'src/catalog/volumes.ts',
  'src/catalog/databases.ts',
  'src/catalog/index.ts',
];

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'arca-catalog-mp-'));
  for (const file of sources) {
    const out = join(work, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    const { outputText } = ts.transpileModule(readFileSync(join(root, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    writeFileSync(out, outputText);
  }
  writeFileSync(join(work, 'package.json'), '{"type":"module"}');
  symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));
  writeFileSync(
    join(work, 'child.js'),
    `import { openCatalog, addVolume, addDatabase } from './src/catalog/index.js';
     const [file, n] = process.argv.slice(2);
     const c = openCatalog(file);
     addVolume(c, { name: 'v' + n, location: '/srv/v' + n, volumeId: 'id-' + n });
     addDatabase(c, { name: 'd' + n, url: 'file:///srv/d' + n });
     process.stdout.write(JSON.stringify(c.migration.applied));
     c.close();`,
  );
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('catalog shared by several processes', () => {
  it('migrates once and keeps every write when 8 processes start together', async () => {
    const home = join(work, 'home');
    mkdirSync(home);
    const file = catalogPath(home);
    const children = Array.from({ length: 8 }, (_, n) =>
      run(process.execPath, [join(work, 'child.js'), file, String(n)], { cwd: work }),
    );
    const results = await Promise.all(children);
    const applied = results.map((r) => JSON.parse(r.stdout) as number[]);
    // Exactly one process applied the migrations; the others found them done.
    expect(applied.filter((a) => a.length > 0)).toEqual([MIGRATIONS.map((m) => m.version)]);

    const c = openCatalog(file);
    try {
      expect(listVolumes(c)).toHaveLength(8);
      expect(listDatabases(c)).toHaveLength(8);
      const rows = c.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM schema_migrations').get();
      expect(rows?.n).toBe(MIGRATIONS.length);
    } finally {
      c.close();
    }
  });
});
