// The Arca server: one process with the REST API (and later the scheduler and
// the web UI). `start()` listens; `stop()` stops accepting connections, lets
// requests in flight finish, stops the jobs it runs (RunningJobs: they record
// their outcome) and closes the volumes it opened. The catalog belongs to the
// caller.
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import { Authenticator } from './authenticator.js';
import { buildApp } from './build-app.js';
import { LoginLimiter } from './login-limiter.js';
import { ManifestCache } from './manifest-cache.js';
import { createLogger } from './logger.js';
import { RunningJobs } from './running-jobs.js';
import type { ServerContext } from './server-context.js';
import { VolumePool, type VolumePassword } from './volume-pool.js';
import { lowerJobThreads } from '../common/priority.js';

export interface ServerOptions {
  catalog: Catalog;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** null: plain HTTP (only behind a TLS-terminating proxy: --insecure-http). */
  tls: { cert: string; key: string } | null;
  volumePassword: VolumePassword;
  version?: string;
  logger?: Logger;
  /** Failed-login throttling (injected in tests: a clock, other limits). */
  limiter?: LoginLimiter;
  trustProxy?: boolean;
  /** How long stop() waits for running jobs to record their outcome. Default 30 s. */
  jobStopTimeoutMs?: number;
  /** ARCA_HOME (uploads go under it); default: the catalog's folder. */
  home?: string;
  /** The largest upload accepted (bytes). Default 10 GiB. */
  uploadLimit?: number;
  /**
   * Run the jobs' worker threads and child tools at nice 10 (idle I/O), so
   * requests keep their speed while a backup runs. Default true.
   */
  niceJobs?: boolean;
}

export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 ** 3;

export class Server {
  readonly jobs = new RunningJobs();
  readonly volumes: VolumePool;
  readonly authenticator: Authenticator;
  readonly manifests = new ManifestCache();
  readonly context: ServerContext;
  private readonly stopController = new AbortController();
  private app: FastifyInstance | null = null;
  private address: AddressInfo | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: ServerOptions) {
    this.volumes = new VolumePool(options.catalog, options.volumePassword);
    this.authenticator = new Authenticator(options.catalog, options.limiter ? { limiter: options.limiter } : {});
    this.context = {
      catalog: options.catalog,
      volumes: this.volumes,
      jobs: this.jobs,
      version: options.version ?? 'unknown',
      manifests: this.manifests,
      home: options.home ?? dirname(options.catalog.path),
      uploadLimit: options.uploadLimit ?? DEFAULT_UPLOAD_LIMIT,
      stopping: this.stopController.signal,
      streams: new Set(),
      onJobFinished: () => this.manifests.invalidate(),
    };
  }

  /** The base URL, e.g. https://127.0.0.1:8443 (after start). */
  get url(): string {
    if (!this.address) throw new Error('the server is not listening');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${this.address.port}`;
  }

  get port(): number {
    if (!this.address) throw new Error('the server is not listening');
    return this.address.port;
  }

  async start(): Promise<string> {
    if (this.app) throw new Error('the server is already started');
    if (this.options.niceJobs !== false) lowerJobThreads();
    const logger = this.options.logger ?? createLogger();
    this.app = await buildApp(this.context, {
      tls: this.options.tls,
      logger,
      authenticator: this.authenticator,
      ...(this.options.trustProxy !== undefined ? { trustProxy: this.options.trustProxy } : {}),
    });
    await this.app.listen({ host: this.options.host, port: this.options.port });
    this.address = this.app.server.address() as AddressInfo;
    return this.url;
  }

  /** Graceful shutdown (see the module comment); safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const app = this.app;
    const log = app?.log;
    // Event streams write their last frame and end; their responses finish before connections close.
    this.stopController.abort();
    const streams = [...this.context.streams];
    if (streams.length > 0) await Promise.race([Promise.allSettled(streams), new Promise((r) => setTimeout(r, 2000))]);
    const [, jobs] = await Promise.all([
      app?.close(),
      this.jobs.stopAll('the server is shutting down', this.options.jobStopTimeoutMs ?? 30_000),
    ]);
    if (jobs.stuck > 0) log?.warn({ stuck: jobs.stuck }, 'jobs still running at shutdown');
    await this.volumes.closeAll();
  }
}
