// The files driver: a directory given as `file:///abs/dir` or a plain path.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArcaError } from '../../errors.js';
import type { Source, SourceDriver } from '../source.js';
import { FilesSource } from './files-source.js';
import { exportFiles } from './files-export.js';
import { restoreFiles } from './files-restore.js';

function toPath(input: string): string | undefined {
  if (input.startsWith('file:')) {
    try {
      return fileURLToPath(input);
    } catch {
      throw new ArcaError('USAGE', `"${input}" is not a valid file:// URL (it needs an absolute path: file:///srv/data)`);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return undefined;
  return resolve(input);
}

export const filesDriver: SourceDriver = {
  kind: 'files',
  handles: (url) => url.startsWith('file:'),
  normalize(input) {
    const path = toPath(input);
    if (path === undefined) return undefined;
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new ArcaError('USAGE', `${path} does not exist (a files database is a directory)`);
    }
    if (!isDir) throw new ArcaError('USAGE', `${path} is not a directory`);
    return pathToFileURL(path).href;
  },
  open(url): Source {
    return new FilesSource(url, fileURLToPath(url));
  },
  restore: restoreFiles,
  export: exportFiles,
  exportExtension: 'tar',
};
