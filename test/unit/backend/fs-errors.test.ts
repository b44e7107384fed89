import { describe, expect, it } from 'vitest';
import { BackendError } from '../../../src/backend/backend.js';
import { mapFsError } from '../../../src/backend/local/fs-errors.js';

function sysError(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: something, open '/x/tmp~/abc.tmp'`);
  err.code = code;
  return err;
}

function mapped(code: string, activity: Parameters<typeof mapFsError>[2] = 'writing'): BackendError {
  const err = mapFsError(sysError(code), '/vol', activity, 'data/ab/abcd');
  expect(err).toBeInstanceOf(BackendError);
  return err as BackendError;
}

describe('mapFsError', () => {
  it.each(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'EFBIG'])('%s is permanent', (code) => {
    const err = mapped(code);
    expect(err.permanent).toBe(true);
    expect(err.notFound).toBe(false);
    expect(err.key).toBe('data/ab/abcd');
    expect(err.message).toMatch(new RegExp(`^volume /vol: .+ \\(${code}\\) while writing data/ab/abcd$`));
  });

  it('says "disk full" for ENOSPC', () => {
    expect(mapped('ENOSPC').message).toBe('volume /vol: disk full (ENOSPC) while writing data/ab/abcd');
  });

  it.each(['EAGAIN', 'EBUSY', 'EIO', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'ESTALE', 'ESOMETHINGNEW'])('%s is transient', (code) => {
    expect(mapped(code, 'reading').permanent).toBe(false);
  });

  it('ENOENT/ENOTDIR while reading or checking is not-found; while writing it is permanent, not not-found', () => {
    for (const code of ['ENOENT', 'ENOTDIR']) {
      const err = mapped(code, 'reading');
      expect(err.notFound).toBe(true);
      expect(err.permanent).toBe(true);
      expect(err.code).toBe('NOT_FOUND');
    }
    const w = mapped('ENOENT', 'writing');
    expect(w.notFound).toBe(false);
    expect(w.permanent).toBe(true);
  });

  it('keeps the system error as the cause and passes non-system errors through', () => {
    const cause = sysError('EIO');
    expect((mapFsError(cause, '/vol', 'reading', 'k') as BackendError).cause).toBe(cause);
    const bug = new TypeError('a bug');
    expect(mapFsError(bug, '/vol', 'reading', 'k')).toBe(bug);
  });
});
