// A counting HTTP proxy for the S3 benchmark: both tools talk to the local S3
// server through it, so their requests are counted the same way (by method,
// with bytes up and down, as sent) without touching either tool. One
// translation: restic's S3 client (minio-go) signs plain-HTTP uploads as
// aws-chunked streams, which the test server's body checks do not decode, so
// such bodies are unframed here before they are forwarded (the server does
// not check signatures).

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
}

export interface CountingProxy {
  endpoint: string;
  port: number;
  /** The counts since the last reset. */
  counts(): RequestCounts;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let counts: RequestCounts = { total: 0, byMethod: {}, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<Socket>();
  const forwardUnchunked = async (req: http.IncomingMessage, upstream: http.ClientRequest): Promise<void> => {
    const parts: Buffer[] = [];
    for await (const b of req) parts.push(b as Buffer);
    const body = decodeAwsChunked(Buffer.concat(parts));
    upstream.removeHeader('content-encoding');
    upstream.setHeader('content-length', body.length);
    upstream.setHeader('x-amz-content-sha256', 'UNSIGNED-PAYLOAD');
    upstream.removeHeader('x-amz-decoded-content-length');
    upstream.end(body);
  };
  const server = http.createServer((req, res) => {
    counts.total++;
    const method = req.method ?? 'GET';
    counts.byMethod[method] = (counts.byMethod[method] ?? 0) + 1;
    const upstream = http.request(
      { host: to.hostname, port: to.port, method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (b: Buffer) => (counts.bytesDown += b.length));
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('data', (b: Buffer) => (counts.bytesUp += b.length));
    if (String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) void forwardUnchunked(req, upstream);
    else req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    counts: () => ({ ...counts, byMethod: { ...counts.byMethod } }),
    reset: () => void (counts = { total: 0, byMethod: {}, bytesUp: 0, bytesDown: 0 }),
    close: async () => {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The payload of an aws-chunked body: `hex-size;chunk-signature=…\r\n<bytes>\r\n` … until a chunk of size 0. */
function decodeAwsChunked(framed: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = framed.indexOf('\r\n', at);
    if (eol < 0) throw new Error('aws-chunked body without a chunk header');
    const size = parseInt(framed.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (!(size >= 0)) throw new Error('aws-chunked body with a bad chunk size');
    if (size === 0) return Buffer.concat(out);
    out.push(framed.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
