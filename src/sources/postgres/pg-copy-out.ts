// COPY … TO STDOUT without a stream per row: a pg Submittable that takes the
// client's socket over for the COPY OUT phase, parses the protocol framing
// itself ('d' + int32 length + payload) and yields the rows' bytes in large
// Buffers (CHUNK_BYTES each, the last one shorter), copied once out of the
// socket's data. Backpressure: the socket is paused while HIGH_WATER buffers
// wait for the consumer. When the copy ends (CopyDone) or the server reports
// an error, the socket goes back to pg's own parser, which sees
// CommandComplete / ErrorResponse and ReadyForQuery as for any query, so the
// connection stays usable. Abort (signal, or the consumer stopping early)
// sends a CancelRequest, discards the rest of the copy and rejects at once;
// the connection becomes usable again when the server has answered.
// Only for COPY TO; COPY FROM still goes through pg-copy-streams. On a
// recycling socket (pg-socket.ts) the reads come as views of the socket's
// one buffer, so the only copy of the data is the one into the yielded buffers.

import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { nativeContent, type NativeContent } from '../../content/native.js';
import { ArcaError } from '../../errors.js';
import { READ_BYTES, canReadRaw, setRawReader } from './pg-socket.js';

/** Bytes per yielded buffer (except the last). */
export const CHUNK_BYTES = 256 * 1024;
/** Buffers waiting for the consumer before the socket is paused. */
const HIGH_WATER = 4;

const MSG_COPY_DATA = 0x64; // 'd'
const MSG_COPY_DONE = 0x63; // 'c'
const MSG_COPY_OUT_RESPONSE = 0x48; // 'H'
const MSG_NOTICE = 0x4e; // 'N'
const MSG_PARAMETER_STATUS = 0x53; // 'S'
const MSG_NOTIFICATION = 0x41; // 'A'

type DataHandler = (chunk: Buffer) => void;

/** The parts of pg's Client this module uses that its typings leave out. */
interface ClientInternals {
  host?: string;
  port?: number;
  processID?: number | null;
  secretKey?: number | null;
}

export interface CopyOutOptions {
  signal?: AbortSignal;
  /** Bytes per yielded buffer; default CHUNK_BYTES. */
  chunkBytes?: number;
  /**
   * The consumer keeps no yielded buffer once it asks for the next one, so
   * its memory is refilled (no fresh allocation, and no page faults, per
   * buffer).
   */
  recycle?: boolean;
  /**
   * Bytes read ahead before the consumer first asks for data (a backup that
   * starts its first COPY while the volume still opens); from the first
   * request on, the usual few buffers. Default: the usual few buffers.
   */
  readAhead?: number;
}

export class CopyOut implements pg.Submittable, AsyncIterable<Buffer> {
  /** Rows copied, from the server's CommandComplete ("COPY n"); set when the iteration ends. */
  rowCount = 0;
  private socket: Duplex | undefined;
  private pgHandler: DataHandler | undefined;
  private readonly onData: DataHandler = (chunk) => this.parse(chunk);
  private readonly chunkBytes: number;
  // Framing state: the 5-byte header (type + int32 length) may arrive split.
  /** The native addon, for copyFrames (null: the JavaScript parser does all); fillState passes outFill to it. */
  private readonly native: NativeContent | null = nativeContent();
  private readonly fillState = new Int32Array(1);
  private readonly header = Buffer.alloc(5);
  private headerFill = 0;
  private type = 0;
  private bodyLeft = 0;
  private inBody = false;
  // Output: the buffer being filled, and full ones waiting for the consumer.
  private out: Buffer;
  private outFill = 0;
  private readonly ready: Buffer[] = [];
  /** With `recycle`: the buffer the consumer holds now, and full-size buffers to refill. */
  private lent: Buffer | undefined;
  private readonly spare: Buffer[] = [];
  private readonly recycle: boolean;
  /** Full buffers that may wait before the socket is paused. */
  private highWater: number;
  /** Refilled buffers kept for reuse: what may wait in normal flow (the rest of a read-ahead goes to the GC). */
  private readonly spareMax: number;
  private paused = false;
  private attached = false;
  private copyDone = false;
  private finished = false;
  private failure: Error | undefined;
  private aborted = false;
  private wake: (() => void) | undefined;
  private readonly unlisten: () => void;

  constructor(
    readonly text: string,
    private readonly client: pg.Client,
    opts: CopyOutOptions = {},
  ) {
    this.chunkBytes = Math.max(1, opts.chunkBytes ?? CHUNK_BYTES);
    this.recycle = opts.recycle ?? false;
    this.highWater = Math.max(HIGH_WATER, Math.ceil((opts.readAhead ?? 0) / this.chunkBytes));
    // One socket read (READ_BYTES: libuv's size too) may fill that many buffers that then wait at once.
    this.spareMax = HIGH_WATER + Math.ceil(READ_BYTES / this.chunkBytes) + 2;
    this.out = Buffer.allocUnsafeSlow(this.chunkBytes);
    const signal = opts.signal;
    if (signal?.aborted) this.failure = new ArcaError('ABORTED', 'copy aborted');
    const onAbort = () => this.abort(new ArcaError('ABORTED', 'copy aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.unlisten = () => signal?.removeEventListener('abort', onAbort);
  }

  /**
   * Called by pg when the query's turn comes: takes the socket's data over,
   * then sends the query. A returned error is handed back to handleError.
   */
  submit(connection: pg.Connection): Error | undefined {
    if (this.failure) return this.failure; // aborted before its turn: nothing sent
    const socket = connection.stream;
    if (canReadRaw(socket)) setRawReader(socket, this.onData);
    else {
      const listeners = socket.listeners('data') as DataHandler[];
      if (listeners.length !== 1) return new ArcaError('INTERNAL', `COPY OUT expects one data listener on the pg socket, found ${listeners.length}`);
      this.pgHandler = listeners[0]!;
      socket.removeListener('data', this.pgHandler);
      socket.on('data', this.onData);
    }
    this.socket = socket;
    this.attached = true;
    connection.query(this.text);
    return undefined;
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text ?? '');
    if (m) this.rowCount = Number(m[1]);
  }

  handleReadyForQuery(): void {
    if (!this.copyDone && !this.failure) this.failure = new ArcaError('SOURCE', `not a COPY TO STDOUT statement: ${this.text.slice(0, 80)}`);
    this.finished = true;
    this.unlisten();
    this.notify();
  }

  /** An ErrorResponse (handed to pg's parser), or the connection lost. */
  handleError(err: Error): void {
    this.detach(Buffer.alloc(0));
    this.failure ??= err;
    this.finished = true;
    this.unlisten();
    this.ready.length = 0;
    this.notify();
  }

  // Replies that only a non-COPY statement gets; handleReadyForQuery reports it.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: { sendCopyFail(msg: string): void }): void {
    connection.sendCopyFail('arca: expected COPY TO STDOUT');
  }

  /** Stops the copy (as a consumer that leaves the iteration does); a no-op once it has ended. */
  cancel(): void {
    this.abort(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () => this.next(),
      return: () => {
        this.abort(undefined);
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private async next(): Promise<IteratorResult<Buffer>> {
    this.highWater = HIGH_WATER; // the consumer is here: no more read-ahead
    if (this.lent) {
      if (this.lent.length === this.chunkBytes && this.spare.length < this.spareMax) this.spare.push(this.lent);
      this.lent = undefined;
    }
    for (;;) {
      if (this.failure) throw this.failure;
      const buf = this.ready.shift();
      if (buf) {
        if (this.paused && this.ready.length < this.highWater) {
          this.paused = false;
          this.socket?.resume();
        }
        if (this.recycle) this.lent = buf;
        return { done: false, value: buf };
      }
      if (this.finished) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /**
   * Stops the copy: rejects the iteration (unless the consumer stopped it),
   * asks the server to cancel the statement and discards the rest of its data.
   */
  private abort(err: Error | undefined): void {
    if (this.finished || this.aborted) return;
    this.aborted = true;
    this.unlisten();
    if (err) this.failure ??= err;
    else this.finished = true;
    this.ready.length = 0;
    if (this.paused) {
      this.paused = false;
      this.socket?.resume();
    }
    this.notify();
    if (this.attached) sendCancel(this.client);
  }

  /** Parses socket data while the COPY OUT phase lasts. */
  private parse(chunk: Buffer): void {
    let at = 0;
    const n = chunk.length;
    while (at < n) {
      // The common case in one native call: whole rows (CopyData) that fit in the current buffer.
      // What it leaves (a split frame, another message, a full buffer) the code below handles.
      if (this.native && !this.inBody && this.headerFill === 0 && !this.aborted) {
        this.fillState[0] = this.outFill;
        at = this.native.copyFrames(chunk, at, MSG_COPY_DATA, this.out, this.fillState);
        this.outFill = this.fillState[0]!;
        if (at >= n) break;
      }
      if (this.inBody) {
        const take = Math.min(this.bodyLeft, n - at);
        if (this.type === MSG_COPY_DATA && !this.aborted) this.emitBytes(chunk, at, take);
        at += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) this.inBody = false;
        continue;
      }
      // Header: type byte + int32 length (which counts itself).
      const start = at;
      if (this.headerFill === 0 && n - at >= 5) {
        this.type = chunk[at]!;
        this.bodyLeft = chunk.readUInt32BE(at + 1) - 4;
        at += 5;
      } else {
        const take = Math.min(5 - this.headerFill, n - at);
        chunk.copy(this.header, this.headerFill, at, at + take);
        this.headerFill += take;
        at += take;
        if (this.headerFill < 5) return;
        this.type = this.header[0]!;
        this.bodyLeft = this.header.readUInt32BE(1) - 4;
      }
      const split = this.headerFill > 0;
      this.headerFill = 0;
      const t = this.type;
      if (t === MSG_COPY_DATA || t === MSG_COPY_OUT_RESPONSE || t === MSG_NOTICE || t === MSG_PARAMETER_STATUS || t === MSG_NOTIFICATION) {
        this.inBody = this.bodyLeft > 0;
        continue;
      }
      if (t === MSG_COPY_DONE) {
        this.copyDone = true;
        this.flushOut();
        this.detach(chunk.subarray(at + this.bodyLeft));
        return;
      }
      // ErrorResponse or anything else: pg's parser takes it from its first byte.
      const rest = split ? Buffer.concat([this.headerBytes(), chunk.subarray(at)]) : chunk.subarray(start);
      this.detach(rest);
      return;
    }
  }

  private headerBytes(): Buffer {
    const h = Buffer.alloc(5);
    h[0] = this.type;
    h.writeUInt32BE(this.bodyLeft + 4, 1);
    return h;
  }

  private emitBytes(src: Buffer, at: number, len: number): void {
    while (len > 0) {
      const k = Math.min(len, this.chunkBytes - this.outFill);
      src.copy(this.out, this.outFill, at, at + k);
      this.outFill += k;
      at += k;
      len -= k;
      if (this.outFill === this.chunkBytes) {
        this.ready.push(this.out);
        this.out = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
        this.outFill = 0;
        if (this.ready.length >= this.highWater && !this.paused) {
          this.paused = true;
          this.socket?.pause();
        }
        this.notify();
      }
    }
  }

  private flushOut(): void {
    if (this.outFill > 0 && !this.aborted) this.ready.push(this.out.subarray(0, this.outFill));
    this.out = Buffer.alloc(0);
    this.outFill = 0;
    this.notify();
  }

  /** Gives the socket back to pg's parser, with the bytes it has to see first. */
  private detach(rest: Buffer): void {
    if (!this.attached) return;
    this.attached = false;
    const socket = this.socket!;
    const handler = this.pgHandler;
    if (handler) {
      socket.removeListener('data', this.onData);
      socket.on('data', handler);
    } else setRawReader(socket as Socket, undefined);
    if (this.paused) {
      this.paused = false;
      socket.resume();
    }
    if (rest.length === 0) return;
    if (handler) handler(rest);
    else socket.emit('data', Buffer.from(rest)); // a view of the socket's buffer: pg may keep what it gets
  }
}

/** Starts `COPY … TO STDOUT` on `client`; iterate the result for the data. */
export function copyOut(client: pg.Client, sql: string, opts: CopyOutOptions = {}): CopyOut {
  return client.query(new CopyOut(sql, client, opts));
}

/**
 * Sends a CancelRequest for `client`'s running statement on a new connection
 * (as libpq's PQcancel does), best effort: the server answers the statement
 * with an error (57014) on the client's own connection.
 */
export function sendCancel(client: pg.Client): void {
  const c = client as unknown as ClientInternals;
  if (typeof c.processID !== 'number' || typeof c.secretKey !== 'number') return;
  const msg = Buffer.alloc(16);
  msg.writeInt32BE(16, 0);
  msg.writeInt32BE(80877102, 4); // the cancel request code
  msg.writeInt32BE(c.processID, 8);
  msg.writeInt32BE(c.secretKey, 12);
  const host = c.host ?? 'localhost';
  const port = c.port ?? 5432;
  let sock: Socket;
  try {
    sock = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host);
  } catch {
    return;
  }
  sock.on('error', () => undefined);
  sock.setTimeout(10_000, () => sock.destroy());
  sock.on('connect', () => sock.end(msg));
}
