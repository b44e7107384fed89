// The files purge engine (see purge-engine.ts for the contract): regular
// files under a directory whose path relative to it matches a glob and whose
// mtime is older than the cutoff. The walk never follows a symlink (a
// symlinked directory is not entered, a symlink is never deleted), never
// deletes a directory (nor the root, nor anything above it), and before each
// unlink checks again that the file is still a regular file, still old, and
// that its real parent directory is still inside the root.
//
// Globs are matched against the whole relative path with `/` separators:
// `*` and `?` stay within one path segment, `**` spans segments (`**/*.log`
// is any .log at any depth, `*.log` only those at the top), `[abc]`/`[!abc]`
// are character classes, `{a,b}` alternatives. Dot files are matched too.
import { lstat, readdir, realpath, stat, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcaError, errorMessage } from '../../errors.js';
import type { FilesRule, PurgeRuleSpec } from '../../catalog/purge-rules.js';
import type { PurgeCount, PurgeEngine, PurgeRunOptions, PurgeRunResult } from './purge-engine.js';
import { filesRuleOf, runBatches } from './purge-batches.js';

/** Compiles a glob (see above) to a regular expression over `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  const bad = (why: string): never => {
    throw new ArcaError('USAGE', `invalid --glob "${glob}": ${why}`);
  };
  if (glob.startsWith('/')) bad('it must be relative to the directory (no leading /)');
  if (glob.includes('\\')) bad('use / as the separator; backslashes are not allowed');
  const segments = glob.split('/');
  if (segments.some((s) => s === '..' || s === '.')) bad('"." and ".." segments are not allowed');
  if (segments.some((s) => s === '')) bad('it has an empty path segment');
  let re = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const atStart = i === 0 || glob[i - 1] === '/';
      const atEnd = i + 2 === glob.length || glob[i + 2] === '/';
      if (!atStart || !atEnd) bad('** must be a whole path segment');
      if (i + 2 === glob.length) re += '.*';
      else re += '(?:[^/]*/)*';
      i += i + 2 === glob.length ? 1 : 2; // also skip the '/' after **
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) bad('a [ without ]');
      let body = glob.slice(i + 1, end);
      if (body.includes('/')) bad('a character class cannot hold /');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '{') {
      if (inBraces) bad('nested { } are not supported');
      inBraces = true;
      re += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      re += ')';
    } else if (c === ',' && inBraces) re += '|';
    else re += c.replace(/[.+^$()|\\{}]/g, '\\$&');
  }
  if (inBraces) bad('a { without }');
  return new RegExp(`^${re}$`, 's');
}

interface Candidate {
  path: string;
  size: number;
}

class FilesPurge implements PurgeEngine {
  readonly kind = 'files';

  constructor(
    private readonly root: string,
    private readonly realRoot: string,
  ) {}

  async check(spec: PurgeRuleSpec): Promise<PurgeRuleSpec> {
    const rule = filesRuleOf(spec);
    globToRegExp(rule.glob);
    return rule;
  }

  /** Every regular file the rule selects now, in walk order. */
  private async select(rule: FilesRule, cutoff: Date): Promise<Candidate[]> {
    const re = globToRegExp(rule.glob);
    const found: Candidate[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        throw new ArcaError('SOURCE', `cannot read the directory ${dir}: ${errorMessage(err)}`, { cause: err });
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const path = join(dir, e.name);
        const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) await walk(path, relPath);
        else if (e.isFile() && re.test(relPath)) {
          const st = await lstat(path).catch(() => null);
          if (st?.isFile() && st.mtimeMs < cutoff.getTime()) found.push({ path, size: st.size });
        }
      }
    };
    await walk(this.root, '');
    return found;
  }

  async count(spec: PurgeRuleSpec, cutoff: Date): Promise<PurgeCount> {
    const files = await this.select(filesRuleOf(spec), cutoff);
    return { items: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
  }

  async purge(spec: PurgeRuleSpec, opts: PurgeRunOptions): Promise<PurgeRunResult> {
    const files = await this.select(filesRuleOf(spec), opts.cutoff);
    let next = 0;
    return runBatches(opts, async () => {
      let deleted = 0;
      let bytes = 0;
      for (const f of files.slice(next, next + opts.batchSize)) {
        if (await this.unlinkIfStillOld(f.path, opts.cutoff)) {
          deleted++;
          bytes += f.size;
        }
      }
      next += opts.batchSize;
      return { deleted, bytes, more: next < files.length };
    });
  }

  /** Deletes one file if it is still a regular, old file whose real directory is inside the root. */
  private async unlinkIfStillOld(path: string, cutoff: Date): Promise<boolean> {
    try {
      const parent = await realpath(dirname(path));
      if (parent !== this.realRoot && !parent.startsWith(this.realRoot + sep)) return false;
      const st = await lstat(path);
      if (!st.isFile() || st.mtimeMs >= cutoff.getTime()) return false;
      await unlink(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // gone meanwhile
      throw new ArcaError('SOURCE', `cannot delete ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    // nothing held open
  }
}

export async function openFilesPurge(url: string): Promise<PurgeEngine> {
  const root = fileURLToPath(url);
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
    return new FilesPurge(root, await realpath(root));
  } catch (err) {
    throw new ArcaError('SOURCE', `cannot open the directory ${root}: ${errorMessage(err)}`, { cause: err });
  }
}
