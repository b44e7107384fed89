// runTool's stdin progress: how far a client tool has read its stdin file is
// taken from the kernel's file offset (/proc/PID/fdinfo/0), not guessed.
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runTool } from '../../../src/jobs/upload/child-tool.js';
import { makeScratch } from '../../helpers/index.js';

const scratch = makeScratch('child-tool');
afterAll(() => scratch.cleanup());

describe.runIf(process.platform === 'linux')('runTool stdin progress', () => {
  it('reports the bytes the tool has read from its stdin file while it runs', async () => {
    const file = scratch.path('big.sql');
    writeFileSync(file, Buffer.alloc(4 << 20, 0x61));
    const seen: number[] = [];
    // Reads exactly 512 KiB, then pauses long enough for the offset to be polled, then reads the rest.
    await runTool('sh', ['-c', 'dd bs=65536 count=8 of=/dev/null 2>/dev/null; sleep 2.5; cat > /dev/null'], {
      step: 'test',
      stdinFile: file,
      onStdinRead: (n) => seen.push(n),
    });
    expect(seen).toContain(512 * 1024);
    expect(seen.every((n) => n >= 0 && n <= 4 << 20)).toBe(true);
  });

  it('never reports less than before when the tool seeks back in its stdin file', async () => {
    const file = scratch.path('seek.dump');
    writeFileSync(file, Buffer.alloc(2 << 20, 0x62));
    const seen: number[] = [];
    // Reads 1 MiB, waits to be polled, seeks back to the start (as pg_restore jumps to a data block), waits again.
    const script = 'import os, time\nn = 0\nwhile n < 1 << 20: n += len(os.read(0, (1 << 20) - n))\ntime.sleep(1.5)\nos.lseek(0, 0, 0)\ntime.sleep(1.5)\n';
    await runTool('python3', ['-c', script], { step: 'test', stdinFile: file, onStdinRead: (n) => seen.push(n) });
    expect(seen).toEqual([1 << 20]);
  });

  it('a tool that fails: its stderr becomes the error', async () => {
    const file = scratch.path('small.sql');
    writeFileSync(file, 'hello\n');
    await expect(runTool('sh', ['-c', 'cat >/dev/null; echo "ERROR 1064 at line 1" >&2; exit 1'], { step: 'loading', stdinFile: file })).rejects.toMatchObject({
      code: 'SOURCE',
      message: 'loading: ERROR 1064 at line 1',
    });
  });
});
