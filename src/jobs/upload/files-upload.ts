// An uploaded directory export (a tar, as `arca export` writes it): valid
// when `tar -tf` lists it. Restored by extracting it into a new folder
// beside the registered directory (GNU tar strips leading "/" and "../" from
// member names, so nothing lands outside it; owners are not restored), then
// swapping: the old directory is renamed aside, the new one into place, the
// old one removed. A failed extraction leaves the directory as it was.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcaError } from '../../errors.js';
import { runTool } from './child-tool.js';

export async function validateTarExport(file: string): Promise<'tar'> {
  await runTool('tar', ['-tf', file], { step: 'the upload is not a tar archive (tar -tf)', code: 'USAGE' });
  return 'tar';
}

export async function restoreTarExport(url: string, file: string, signal?: AbortSignal): Promise<{ target: string }> {
  const target = fileURLToPath(url);
  const parent = dirname(target);
  if (!(await stat(parent).then((s) => s.isDirectory(), () => false))) throw new ArcaError('USAGE', `the folder ${parent} of ${target} does not exist`);
  const tag = randomBytes(6).toString('hex');
  const fresh = join(parent, `.${basename(target)}.arca-upload-${tag}`);
  const old = join(parent, `.${basename(target)}.arca-old-${tag}`);
  await mkdir(fresh, { mode: 0o700 });
  try {
    await runTool('tar', ['-xf', file, '-C', fresh, '--no-same-owner', '--no-overwrite-dir'], { ...(signal ? { signal } : {}), step: 'extracting the upload (tar -xf)' });
    const had = await stat(target).then(() => true, () => false);
    if (had) await rename(target, old);
    try {
      await rename(fresh, target);
    } catch (err) {
      if (had) await rename(old, target);
      throw err;
    }
    if (had) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    throw err;
  }
  return { target };
}
