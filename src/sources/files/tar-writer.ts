// A small POSIX tar (pax) header writer for `arca export` of a directory
// tree: 512-byte ustar headers, preceded by a pax extended header ('x') when a
// path or link target does not fit ustar, is not ASCII, or when the mtime has
// a fraction of a second or a number overflows its octal field. GNU tar and
// bsdtar read the result. Content padding and the end-of-archive marker are
// here too; the caller streams the content between them.

const BLOCK = 512;

export type TarEntryType = 'file' | 'dir' | 'symlink';

export interface TarEntry {
  /** Path inside the archive (raw bytes, no leading slash; dirs without the trailing slash). */
  path: Buffer;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  linkTarget?: Buffer;
}

const TYPE_FLAG: Record<TarEntryType, string> = { file: '0', dir: '5', symlink: '2' };

/** Whether `value` fits an octal field of `width` bytes (digits + NUL). */
function fitsOctal(value: number, width: number): boolean {
  return value >= 0 && Number.isSafeInteger(value) && value < 8 ** (width - 1);
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  const v = fitsOctal(value, width) ? value : 0;
  buf.write(v.toString(8).padStart(width - 1, '0'), offset, width - 1, 'ascii');
  buf[offset + width - 1] = 0;
}

function isPlainAscii(b: Buffer): boolean {
  return b.every((c) => c >= 0x20 && c < 0x7f);
}

/** One pax record: "<len> <key>=<value>\n", where len counts the whole record. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

function formatNsTime(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const sec = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${sec}${frac ? `.${frac}` : ''}`;
}

function ustarHeader(name: Buffer, e: TarEntry, typeFlag: string, size: number, link: Buffer, mtimeSec: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  writeOctal(h, 100, 8, e.mode & 0o7777);
  writeOctal(h, 108, 8, e.uid);
  writeOctal(h, 116, 8, e.gid);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtimeSec);
  h.fill(0x20, 148, 156); // checksum placeholder: spaces
  h.write(typeFlag, 156, 1, 'ascii');
  link.copy(h, 157, 0, Math.min(link.length, 100));
  h.write('ustar\u000000', 257, 8, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** Pads content of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** Two zero blocks end an archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** The header block(s) of one entry: an optional pax header, then the ustar header. */
export function tarHeader(e: TarEntry): Buffer {
  const name = e.type === 'dir' ? Buffer.concat([e.path, Buffer.from('/')]) : e.path;
  const link = e.linkTarget ?? Buffer.alloc(0);
  const size = e.type === 'file' ? e.size : 0;
  const sec = e.mtimeNs / 1_000_000_000n;
  const records: Buffer[] = [];
  if (name.length > 100 || !isPlainAscii(name)) records.push(paxRecord('path', name));
  if (link.length > 100 || !isPlainAscii(link)) records.push(paxRecord('linkpath', link));
  if (e.mtimeNs % 1_000_000_000n !== 0n || !fitsOctal(Number(sec), 12)) records.push(paxRecord('mtime', Buffer.from(formatNsTime(e.mtimeNs))));
  if (!fitsOctal(size, 12)) records.push(paxRecord('size', Buffer.from(String(size))));
  if (!fitsOctal(e.uid, 8)) records.push(paxRecord('uid', Buffer.from(String(e.uid))));
  if (!fitsOctal(e.gid, 8)) records.push(paxRecord('gid', Buffer.from(String(e.gid))));
  const shortName = isPlainAscii(name) ? name.subarray(0, 100) : Buffer.from('PaxName');
  const shortLink = isPlainAscii(link) ? link.subarray(0, 100) : Buffer.from('PaxLink');
  const main = ustarHeader(shortName, e, TYPE_FLAG[e.type], size, shortLink, sec < 0n ? 0 : Number(sec));
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxName = Buffer.from(`PaxHeaders/${shortName.subarray(0, 80).toString('latin1').replace(/[^\x20-\x7e]/g, '_')}`, 'latin1');
  const paxHead = ustarHeader(paxName, { ...e, mode: 0o644 }, 'x', pax.length, Buffer.alloc(0), sec < 0n ? 0 : Number(sec));
  return Buffer.concat([paxHead, pax, tarPadding(pax.length), main]);
}
