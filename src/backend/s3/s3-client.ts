// Builds the S3Client for a volume: credentials and region from the AWS SDK's
// default chain (environment, shared config and credentials files,
// AWS_PROFILE, SSO, container and instance roles), the endpoint from the
// location or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, path-style addressing
// when an endpoint is set, bounded keep-alive sockets and timeouts.
//
// Retries: the SDK's own retries are OFF (maxAttempts 1). RetryBackend, which
// openBackend wraps around every backend, is the one retry layer: it knows
// which BackendErrors are permanent, backs off with full jitter, restarts a
// listing without repeating keys and retries a multipart put as one atomic
// operation. Two layers would multiply (3 SDK tries × 6 = 18 requests).

import http from 'node:http';
import https from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { parseEndpoint, type S3Location } from './s3-location.js';

export interface S3ClientOptions {
  /** Sockets per protocol (and requests in flight). */
  connections: number;
  /** Time to establish a connection, ms. */
  connectTimeoutMs: number;
  /**
   * Time a connection may stay silent during a request, ms (the SDK's
   * socketTimeout). There is no limit on a request's total time: a pack on a
   * slow link may take long while bytes keep flowing.
   */
  idleTimeoutMs: number;
  /** The environment to read endpoint settings from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Fixed credentials instead of the default chain (tests, embedding). */
  credentials?: S3ClientConfig['credentials'];
  /** A fixed region unless the location has ?region= (tests, embedding); it replaces the AWS chain's. */
  defaultRegion?: string;
}

export interface BuiltClient {
  client: S3Client;
  /** Where requests go, for messages: the custom endpoint or "AWS S3". */
  endpoint: string;
  pathStyle: boolean;
  /** Releases the sockets. */
  destroy(): void;
}

/**
 * The endpoint Arca passes to the SDK: `?endpoint=`, else AWS_ENDPOINT_URL_S3,
 * else AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true).
 * An `endpoint_url` in the shared config file is still honoured by the SDK
 * itself, but then path-style stays off unless the location says
 * `?path-style=true`.
 */
export function resolveEndpoint(loc: S3Location, env: NodeJS.ProcessEnv): string | undefined {
  if (loc.endpoint !== undefined) return loc.endpoint;
  if ((env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] ?? '').toLowerCase() === 'true') return undefined;
  const fromEnv = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'];
  if (!fromEnv) return undefined;
  const name = env['AWS_ENDPOINT_URL_S3'] ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  return parseEndpoint(fromEnv, `${loc.display} (from ${name})`);
}

/** The SDK logs to the console by default; Arca reports failures through its errors instead. */
const noop = (): void => undefined;
const SILENT = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };

export function buildS3Client(loc: S3Location, opts: S3ClientOptions): BuiltClient {
  const env = opts.env ?? process.env;
  // The SDK warns on every start under Node 20, which Arca supports; a CLI
  // error must stay one line on stderr. Setting the variable yourself wins.
  if (process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] === undefined) {
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
  }
  const endpoint = resolveEndpoint(loc, env);
  const pathStyle = loc.pathStyle ?? endpoint !== undefined;
  const agentOptions = { keepAlive: true, maxSockets: opts.connections, maxFreeSockets: opts.connections };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const config: S3ClientConfig = {
    maxAttempts: 1,
    forcePathStyle: pathStyle,
    // AWS answers 301 for a bucket in another region; the SDK then asks the right one.
    followRegionRedirects: true,
    requestHandler: {
      connectionTimeout: opts.connectTimeoutMs,
      socketTimeout: opts.idleTimeoutMs,
      httpAgent,
      httpsAgent,
      logger: SILENT,
    },
    logger: SILENT,
  };
  if (endpoint !== undefined) config.endpoint = endpoint;
  const region = loc.region ?? opts.defaultRegion;
  if (region !== undefined) config.region = region;
  if (opts.credentials !== undefined) config.credentials = opts.credentials;
  const client = new S3Client(config);
  return {
    client,
    endpoint: endpoint ?? 'AWS S3',
    pathStyle,
    destroy: () => {
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
