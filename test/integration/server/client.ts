// A small real HTTP(S) client for the API tests: node:https with the server's
// certificate as the only trusted CA (so TLS is verified, not switched off),
// Basic or Bearer credentials, raw bodies for malformed-input tests.
import http from 'node:http';
import https from 'node:https';

export type Auth = { user: string; password: string } | { token: string } | { header: string } | null;

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body (undefined when empty or not JSON). */
  json: unknown;
  /** The body as received. */
  body: Buffer;
}

/** One Server-Sent Event. */
export interface SseMessage {
  event: string;
  data: unknown;
}

/** The events of a text/event-stream body. */
export function parseSse(text: string): SseMessage[] {
  return text
    .split('\n\n')
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      return event !== undefined && data !== undefined ? { event, data: JSON.parse(data) as unknown } : null;
    })
    .filter((m): m is SseMessage => m !== null);
}

/** A multipart/form-data body: fields in the given order, files as {filename, data}. */
export function multipart(parts: Array<[string, string | { filename: string; data: Buffer }]>): { body: Buffer; contentType: string } {
  const boundary = `----arcatest${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of parts) {
    if (typeof value === 'string') {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
      chunks.push(value.data, Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface RequestOptions {
  auth?: Auth;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (with content-type application/json unless headers say otherwise). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly ca: string | null,
    readonly defaultAuth: Auth = null,
  ) {}

  withAuth(auth: Auth): ApiClient {
    return new ApiClient(this.baseUrl, this.ca, auth);
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const url = new URL(this.baseUrl);
    const headers: Record<string, string> = { ...options.headers };
    const auth = options.auth === undefined ? this.defaultAuth : options.auth;
    if (auth && 'user' in auth) headers['authorization'] = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
    else if (auth && 'token' in auth) headers['authorization'] = `Bearer ${auth.token}`;
    else if (auth && 'header' in auth) headers['authorization'] = auth.header;
    let payload: string | Buffer | undefined;
    if (options.rawBody !== undefined) payload = options.rawBody;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const isHttps = url.protocol === 'https:';
    const requestOptions: https.RequestOptions = {
      method,
      hostname: url.hostname,
      port: url.port,
      path, // sent exactly as given (no normalization of "..")
      headers,
      agent: false,
      ...(isHttps && this.ca !== null ? { ca: this.ca } : {}),
    };
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get(path: string, options?: RequestOptions): Promise<ApiResponse> {
    return this.request('GET', path, options);
  }
  post(path: string, body: unknown, options?: RequestOptions): Promise<ApiResponse> {
    return this.request('POST', path, { ...options, body });
  }
  put(path: string, options?: RequestOptions): Promise<ApiResponse> {
    return this.request('PUT', path, options);
  }
  delete(path: string, options?: RequestOptions): Promise<ApiResponse> {
    return this.request('DELETE', path, options);
  }
  patch(path: string, body: unknown, options?: RequestOptions): Promise<ApiResponse> {
    return this.request('PATCH', path, { ...options, body });
  }
  /** A multipart/form-data POST. */
  upload(path: string, parts: Array<[string, string | { filename: string; data: Buffer }]>, options?: RequestOptions): Promise<ApiResponse> {
    const { body, contentType } = multipart(parts);
    return this.request('POST', path, { ...options, rawBody: body, headers: { ...options?.headers, 'content-type': contentType } });
  }
}

/** The `{error: {code, message}}` body of a failed response (throws when it is not one). */
export function errorOf(r: ApiResponse): { code: string; message: string } {
  const body = r.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  if (!body?.error || typeof body.error.code !== 'string' || typeof body.error.message !== 'string') {
    throw new Error(`expected an error body, got ${r.status} ${r.text}`);
  }
  return { code: body.error.code, message: body.error.message };
}
