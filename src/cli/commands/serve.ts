// `arca serve`: runs the REST API (HTTPS with the given or a self-signed
// certificate; plain HTTP only with --insecure-http) until SIGINT/SIGTERM,
// then shuts down gracefully and exits 0. Volume passwords come from
// ARCA_PASSWORD or --password-file (a server never prompts). The scheduler
// runs inside it (each job a child `arca` process, as `arca scheduler` does)
// unless --no-scheduler; on shutdown it launches nothing new and waits for
// its running jobs, which are asked to stop.
import { InvalidArgumentError, type Command } from 'commander';
import { ArcaError, errorMessage } from '../../errors.js';
import { countUsers } from '../../catalog/users.js';
import type { CliContext, ContextFactory } from '../context.js';
import { signalExitCode } from '../exit.js';
import { childLauncherOptions } from './scheduler.js';
import type { StopSignal } from '../io.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

export interface Listen {
  host: string;
  port: number;
}

/** `--listen HOST:PORT` ("127.0.0.1:8443", "[::1]:8443", "0.0.0.0:443"). */
export function parseListen(value: string): Listen {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:8443, 0.0.0.0:443 or [::1]:8443');
  }
  return { host: m[1] ?? m[2]!, port };
}

function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${LOG_LEVELS.join(', ')}`);
  return value as LogLevel;
}

interface ServeOptions {
  listen: Listen;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  trustProxy?: boolean;
  logLevel: LogLevel;
  scheduler: boolean;
  nice: boolean;
}

/** The server's volume passwords: ARCA_PASSWORD or --password-file, checked now; never a prompt. */
async function serverPasswords(ctx: CliContext): Promise<(volume: string) => Promise<string>> {
  const kind = ctx.passwords.kind();
  if (kind === 'file' || kind === 'env') {
    await ctx.passwords.get('server'); // a missing or empty --password-file fails now, not on the first request
    return (volume) => ctx.passwords.get(volume);
  }
  ctx.io.stderr.write('arca: no volume password (set ARCA_PASSWORD or use --password-file): endpoints that open volumes will fail\n');
  return () =>
    Promise.reject(
      new ArcaError('NO_PASSWORD', 'the server has no volume password: restart it with ARCA_PASSWORD set or with --password-file'),
    );
}

/** Resolves with the first SIGINT/SIGTERM; a second one ends the process at once. */
function untilStopSignal(ctx: CliContext): { stopped: Promise<StopSignal>; dispose: () => void } {
  const handlers = new Map<StopSignal, () => void>();
  let first: StopSignal | null = null;
  const stopped = new Promise<StopSignal>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => {
        if (first !== null) ctx.io.exitNow(signalExitCode(signal));
        first = signal;
        resolve(signal);
      };
      handlers.set(signal, handler);
      ctx.io.onSignal(signal, handler);
    }
  });
  return { stopped, dispose: () => handlers.forEach((h, s) => ctx.io.offSignal(s, h)) };
}

export function registerServeCommand(program: Command, contextOf: ContextFactory): void {
  program
    .command('serve')
    .description('run the REST API server (HTTPS) until SIGINT/SIGTERM')
    .option('--listen <host:port>', 'address and port to listen on', parseListen, { host: '127.0.0.1', port: 8443 })
    .option('--tls-cert <file>', 'the certificate (PEM); without it a self-signed one is made in the home and reused')
    .option('--tls-key <file>', 'the private key (PEM) of --tls-cert')
    .option('--insecure-http', 'serve plain HTTP (only behind a reverse proxy that terminates TLS)')
    .option('--trust-proxy', 'take the client address from X-Forwarded-For (behind a reverse proxy)')
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`, parseLogLevel, 'info')
    .option('--no-scheduler', 'do not run the schedules in this process (run `arca scheduler` elsewhere)')
    .option('--no-nice', "run the API's jobs (their worker threads and dump tools) at normal priority instead of nice 10, idle I/O")
    .action(async (opts: ServeOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.insecureHttp && (opts.tlsCert !== undefined || opts.tlsKey !== undefined)) {
        throw new ArcaError('USAGE', '--insecure-http serves plain HTTP: leave out --tls-cert and --tls-key');
      }
      const [{ Server, loadTls, createLogger }, { ChildLauncher, Scheduler, systemClock }] = await Promise.all([
        import('../../server/index.js'),
        import('../../scheduler/index.js'),
      ]);
      const catalog = ctx.catalog();
      const tls = opts.insecureHttp
        ? null
        : await loadTls(ctx.home, {
            ...(opts.tlsCert !== undefined ? { certFile: opts.tlsCert } : {}),
            ...(opts.tlsKey !== undefined ? { keyFile: opts.tlsKey } : {}),
            hosts: [opts.listen.host],
          });
      const volumePassword = await serverPasswords(ctx);
      const logger = createLogger({ level: opts.logLevel });
      const passwordKind = ctx.passwords.kind();
      const scheduler =
        opts.scheduler && (passwordKind === 'env' || passwordKind === 'file')
          ? new Scheduler({
              catalog,
              clock: systemClock,
              launcher: new ChildLauncher({ ...childLauncherOptions(ctx), globalArgs: ctx.options.debug ? ['--debug'] : [] }),
              onEvent: (e) => logger.info({ scheduler: e }, `schedule ${'schedule' in e ? (e.schedule ?? '') : ''}: ${e.type}`),
            })
          : null;
      const server = new Server({
        catalog,
        host: opts.listen.host,
        port: opts.listen.port,
        tls,
        volumePassword,
        version: program.version() ?? 'unknown',
        logger,
        trustProxy: opts.trustProxy === true,
        niceJobs: opts.nice,
      });
      const signals = untilStopSignal(ctx);
      try {
        let url: string;
        try {
          url = await server.start();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const where = `${opts.listen.host}:${opts.listen.port}`;
          if (code === 'EADDRINUSE') throw new ArcaError('CONFLICT', `cannot listen on ${where}: the address is in use`);
          if (code === 'EACCES') throw new ArcaError('USAGE', `cannot listen on ${where}: permission denied`);
          if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ArcaError('USAGE', `cannot listen on ${where}: no such local address`);
          throw new ArcaError('BACKEND', `cannot listen on ${where}: ${errorMessage(err)}`, { cause: err });
        }
        const certificate = tls ? { source: tls.source, certFile: tls.certFile, fingerprint: tls.fingerprint } : null;
        ctx.output.result({ url, certificate }, () =>
          [
            `listening on ${url}`,
            ...(tls?.source === 'generated' ? [`created a self-signed certificate: ${tls.certFile}`] : []),
            ...(tls && tls.source !== 'files' ? [`certificate ${tls.certFile} (SHA-256 ${tls.fingerprint})`] : []),
          ].join('\n'),
        );
        if (!tls) ctx.io.stderr.write('arca: serving plain HTTP (--insecure-http): put a TLS-terminating proxy in front\n');
        if (countUsers(catalog) === 0) {
          ctx.io.stderr.write('arca: no users yet: every request is refused until you create one with: arca user add NAME --role admin\n');
        }
        const scheduling = (scheduler?.run() ?? Promise.resolve()).catch((err: unknown) =>
          logger.error({ err: errorMessage(err) }, 'the scheduler stopped on an error; schedules do not run until a restart'),
        );
        if (!scheduler && opts.scheduler) ctx.io.stderr.write('arca: no volume password, so the schedules do not run here\n');
        await signals.stopped;
        await scheduler?.stop();
        await scheduling;
        await server.stop();
      } finally {
        signals.dispose();
        await server.stop();
      }
    });
}
