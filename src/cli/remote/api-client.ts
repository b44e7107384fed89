// The CLI's client of a remote Arca server (`arca --server URL …`): JSON
// requests with the API token from ARCA_TOKEN (Bearer), the server's error
// body turned back into an ArcaError with the same code (so exit statuses
// match a local run), and a job's Server-Sent Events followed to its end.
// TLS is verified: against the system's CAs, or the certificate file in
// ARCA_SERVER_CA / --server-ca (e.g. the server's self-signed one).
import http from 'node:http';
import https from 'node:https';
import { ArcaError, errorMessage, type ErrorCode } from '../../errors.js';
import type { JobRecord } from '../../catalog/jobs.js';
import type { ProgressView } from '../../jobs/progress-view.js';

export interface RemoteOptions {
  server: string;
  token: string;
  ca?: string;
}

const CODES = new Set<string>(['USAGE', 'NOT_FOUND', 'AMBIGUOUS', 'ALREADY_EXISTS', 'WRONG_PASSWORD', 'NO_PASSWORD', 'CORRUPT', 'FORMAT', 'BACKEND', 'SOURCE', 'ABORTED', 'CONFLICT', 'CHECK_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'TOO_LARGE', 'INTERNAL']);

export class ApiClient {
  private readonly base: URL;

  constructor(private readonly opts: RemoteOptions) {
    try {
      this.base = new URL(opts.server);
    } catch {
      throw new ArcaError('USAGE', `--server ${JSON.stringify(opts.server)} is not a URL (e.g. https://arca.example:8443)`);
    }
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') throw new ArcaError('USAGE', '--server must be an https:// (or http://) URL');
  }

  private send(method: string, path: string, body: unknown, onResponse: (res: http.IncomingMessage) => void, reject: (err: unknown) => void): void {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(path, this.base);
    const isHttps = url.protocol === 'https:';
    const req = (isHttps ? https : http).request(
      url,
      {
        method,
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          accept: 'application/json, text/event-stream',
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
        },
        ...(isHttps && this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
      },
      onResponse,
    );
    req.on('error', (err) => reject(new ArcaError('BACKEND', `cannot reach the server ${this.base.origin}: ${errorMessage(err)}`, { cause: err })));
    if (payload !== undefined) req.write(payload);
    req.end();
  }

  /** A JSON request; the answer's body, or the server's error as an ArcaError. */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.send(method, path, body, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(json as T);
          reject(serverError(status, json));
        });
      }, reject);
    });
  }

  /**
   * Follows `path` (a text/event-stream) to its `end` event; each `progress`
   * event goes to `onProgress`. Resolves with the end event's data.
   */
  follow<T>(path: string, onProgress: (data: unknown) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.send('GET', path, undefined, (res) => {
        const status = res.statusCode ?? 0;
        let buffer = '';
        let ended = false;
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          buffer += s;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const event = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (event === undefined || data === undefined) continue;
            const value = JSON.parse(data) as unknown;
            if (event === 'progress') onProgress(value);
            else if (event === 'end') {
              ended = true;
              resolve(value as T);
            } else if (event === 'shutdown') reject(new ArcaError('BACKEND', 'the server shut down while the job ran; see arca jobs'));
          }
        });
        res.on('end', () => {
          if (status < 200 || status >= 300) {
            let json: unknown;
            try {
              json = JSON.parse(buffer);
            } catch {
              json = undefined;
            }
            return reject(serverError(status, json));
          }
          if (!ended) reject(new ArcaError('BACKEND', 'the event stream ended before the job did; see arca jobs'));
        });
        res.on('error', reject);
      }, reject);
    });
  }

  /** Follows a job to its end: its record as recorded. */
  followJob(id: number, onProgress: (view: ProgressView) => void): Promise<JobRecord> {
    return this.follow<JobRecord>(`/api/v1/jobs/${id}/events`, (v) => onProgress(v as ProgressView));
  }
}

function serverError(status: number, json: unknown): ArcaError {
  const e = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof e?.code === 'string' && CODES.has(e.code) ? (e.code as ErrorCode) : status === 404 ? 'NOT_FOUND' : 'INTERNAL';
  const message = typeof e?.message === 'string' ? e.message : `the server answered ${status}`;
  return new ArcaError(code, `server: ${message}`);
}
