// A fault-injecting HTTP proxy for S3 tests: Arca's S3 client talks to it as
// its endpoint, and it forwards to the real (local) S3 server, except that a
// seeded share of requests fail the way networks and S3 fail:
//
//   error           500 InternalError or 503 SlowDown, request not forwarded
//   reset-before    the connection is closed before anything is forwarded
//   reset-request   half of the request body reaches the server, then both
//                   connections are cut (a torn PUT / UploadPart)
//   reset-response  the server handled the request, the client gets the
//                   headers and half of the body, then the connection is cut
//   corrupt         one byte of the request body is flipped on the way (the
//                   server must refuse it: Content-MD5 / CRC32 / SHA-256), only
//                   in bodies that carry such a checksum: nothing on the wire
//                   protects the others (CompleteMultipartUpload's XML) from
//                   such a flip but TLS, and a flipped byte there is a 400 the
//                   client rightly does not retry
//   slow            the request waits `slowMs` before it is forwarded (longer
//                   than the client's timeout, sometimes)
//
// Replay a run with the seed it was created with.

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mulberry32 } from '../../src/common/prng.js';

export const FAULT_KINDS = ['error', 'reset-before', 'reset-request', 'reset-response', 'corrupt', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultProxyOptions {
  /** The S3 server to forward to: http://127.0.0.1:PORT. */
  target: string;
  seed: number;
  /** Probability of each fault per request (kinds that need a body apply only to requests with one). */
  rates: Partial<Record<FaultKind, number>>;
  /** Delay range of `slow`, ms (default 200–1500). */
  slowMs?: [number, number];
  /** Only requests this returns true for may fail (default: all). */
  applies?: (method: string, url: string) => boolean;
}

export interface FaultProxy {
  endpoint: string;
  /** Requests seen while faults were enabled, and how many got each fault. */
  readonly stats: Record<FaultKind | 'requests', number>;
  /** Turns faults on or off (on at start). */
  enabled: boolean;
  close(): Promise<void>;
}

function xmlError(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const random = mulberry32(opts.seed >>> 0);
  const [slowMin, slowMax] = opts.slowMs ?? [200, 1500];
  const stats = Object.fromEntries(['requests', ...FAULT_KINDS].map((k) => [k, 0])) as FaultProxy['stats'];
  const sockets = new Set<Socket>();
  const state = { enabled: true };

  const choose = (method: string, url: string, hasBody: boolean, hasChecksum: boolean): FaultKind | undefined => {
    if (!state.enabled || (opts.applies && !opts.applies(method, url))) return undefined;
    let r = random();
    for (const kind of FAULT_KINDS) {
      const rate = opts.rates[kind] ?? 0;
      if (kind === 'reset-request' && !hasBody) continue;
      if (kind === 'corrupt' && !(hasBody && hasChecksum)) continue;
      if (r < rate) return kind;
      r -= rate;
    }
    return undefined;
  };

  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
    onResponse: (status: number, headers: http.IncomingHttpHeaders, data: Buffer) => void,
    onError: () => void,
  ): http.ClientRequest => {
    const headers = { ...req.headers };
    delete headers['expect']; // the proxy already has the whole body
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => onResponse(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
        res.on('error', onError);
      },
    );
    up.on('error', onError);
    return up;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('end', () => {
      void (async () => {
        if (state.enabled) stats.requests++; // the requests that could have failed
        const body = Buffer.concat(chunks);
        const method = req.method ?? 'GET';
        const checksummed = req.headers['content-md5'] !== undefined || Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-'));
        const fault = choose(method, req.url ?? '/', body.length > 0, checksummed);
        if (fault) stats[fault]++;
        const kill = (): void => {
          req.socket.destroy();
        };
        const badGateway = (): void => {
          if (!res.headersSent && !res.destroyed) res.writeHead(502).end();
          else kill();
        };
        if (fault === 'error') {
          const slow = random() < 0.5;
          res.writeHead(slow ? 503 : 500, { 'content-type': 'application/xml' });
          res.end(slow ? xmlError('SlowDown', 'Please reduce your request rate.') : xmlError('InternalError', 'We encountered an internal error.'));
          return;
        }
        if (fault === 'reset-before') return kill();
        if (fault === 'slow') await new Promise((r) => setTimeout(r, slowMin + random() * (slowMax - slowMin)));
        if (req.socket.destroyed) return; // the client gave up (its timeout)
        if (fault === 'reset-request') {
          const up = forward(req, body, () => undefined, () => undefined);
          up.write(body.subarray(0, Math.floor(body.length / 2)));
          setTimeout(() => {
            up.destroy();
            kill();
          }, 20);
          return;
        }
        let sent = body;
        if (fault === 'corrupt') {
          sent = Buffer.from(body);
          const at = Math.floor(random() * sent.length);
          sent[at] = (sent[at] ?? 0) ^ 0x10;
        }
        const up = forward(
          req,
          sent,
          (status, headers, data) => {
            if (req.socket.destroyed) return;
            const out = { ...headers };
            delete out['connection']; // the proxy keeps the client's connection alive on its own
            delete out['keep-alive'];
            res.writeHead(status, out);
            if (fault === 'reset-response') {
              res.write(data.subarray(0, Math.floor(data.length / 2)));
              setTimeout(kill, 10);
              return;
            }
            res.end(data);
          },
          badGateway,
        );
        up.end(sent);
      })();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    get enabled() {
      return state.enabled;
    },
    set enabled(v: boolean) {
      state.enabled = v;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
