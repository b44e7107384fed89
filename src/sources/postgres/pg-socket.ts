// The socket under a pg Client without TLS: it reads into one reused buffer
// (net.Socket's `onread`) instead of a fresh 64 KiB Buffer per read. A
// backup reads ~16,000 of those per GB, and their external memory made V8 run
// a full GC every ~40 MB (decision 0007). pg still gets its 'data' events,
// as copies (it may keep views of what it is given); a raw reader (CopyOut,
// during COPY OUT) gets views of the reused buffer instead, valid only during
// the call, with no copy and no allocation. TLS connections keep pg's own
// socket: TLS reads from the handle itself.

import net from 'node:net';

/** Bytes read at most per system call (as libuv's default for streams). */
export const READ_BYTES = 64 * 1024;

/** Receives the bytes of one read: a view valid only during the call. */
export type RawReader = (bytes: Buffer) => void;

const readers = new WeakMap<net.Socket, RawReader>();
const recycling = new WeakSet<net.Socket>();

/** A socket whose reads go to a raw reader when one is set (setRawReader), else to 'data' listeners as copies. */
export function recyclingSocket(): net.Socket {
  const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
  // The constructor takes `onread` (Node's net.js), though @types/node lists it for connect() only.
  const opts: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
    onread: {
      buffer,
      // Returning true keeps reading (false would pause; the readers pause the socket themselves).
      callback: (n: number, buf: Uint8Array): boolean => {
        const bytes = Buffer.from(buf.buffer, buf.byteOffset, n);
        const raw = readers.get(socket);
        if (raw) raw(bytes);
        else socket.emit('data', Buffer.from(bytes));
        return true;
      },
    },
  };
  const socket: net.Socket = new net.Socket(opts);
  recycling.add(socket);
  return socket;
}

/** True when `socket` came from recyclingSocket(), so setRawReader works on it. */
export function canReadRaw(socket: unknown): socket is net.Socket {
  return socket instanceof net.Socket && recycling.has(socket);
}

/** Sends the socket's reads to `reader` (views, no copies) until called with undefined; 'data' listeners get nothing meanwhile. */
export function setRawReader(socket: net.Socket, reader: RawReader | undefined): void {
  if (reader) readers.set(socket, reader);
  else readers.delete(socket);
}

/**
 * The `stream` option for a pg Client: a recycling socket unless the
 * connection will use TLS (pg calls it with its connection config, which
 * holds `ssl`; its typings declare no argument).
 */
export function pgStream(...args: unknown[]): net.Socket {
  const config = args[0] as { ssl?: unknown } | undefined;
  return config?.ssl ? new net.Socket() : recyclingSocket();
}
