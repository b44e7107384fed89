// The copy of an uploaded SQL script that its client tool loads instead of
// the upload, when a scan (mysql-script-scan.ts, pg-script-scan.ts) found
// lines to neutralise: written beside the upload as `<upload>.arca-load`
// (mode 0600) with each edit applied, and removed by restoreExport.
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArcaError, errorMessage } from '../../errors.js';

/** Bytes [start, end) of the upload replaced by `text` (latin1: the bytes as they were). */
export interface LineEdit {
  start: number;
  end: number;
  text: string;
}

const CHUNK = 1 << 20;

/** Writes `file` with `edits` (in order, not overlapping) applied to `out` (created, mode 0600). */
export async function writeEdited(file: string, edits: LineEdit[], out: string): Promise<void> {
  const src = await open(file, 'r');
  try {
    const dst = await open(out, 'w', 0o600);
    try {
      const buf = Buffer.alloc(CHUNK);
      const put = async (data: Buffer) => {
        for (let done = 0; done < data.length; ) done += (await dst.write(data, done, data.length - done)).bytesWritten;
      };
      let pos = 0;
      const copyTo = async (end: number) => {
        while (pos < end) {
          const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, end - pos), pos);
          if (bytesRead === 0) return;
          await put(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      };
      for (const e of edits) {
        await copyTo(e.start);
        await put(Buffer.from(e.text, 'latin1'));
        pos = e.end;
      }
      await copyTo(Infinity);
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

/**
 * The file the client loads: the upload itself when there is nothing to
 * edit, else the edited copy beside it. `what` says what the copy leaves out,
 * for the error when it cannot be written.
 */
export async function writeLoadCopy(file: string, edits: LineEdit[], what: string): Promise<string> {
  if (edits.length === 0) return file;
  const load = `${file}.arca-load`;
  try {
    await writeEdited(file, edits, load);
  } catch (err) {
    await rm(load, { force: true });
    throw new ArcaError('BACKEND', `cannot write the upload without ${what} beside it (${dirname(file)}): ${errorMessage(err)}`, { cause: err });
  }
  return load;
}
