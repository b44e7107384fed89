// What the database services were doing when an integration test failed or
// timed out: MariaDB's process list and InnoDB lock waits, PostgreSQL's
// sessions with their wait events and locks not granted, and the processes
// that hold connections. Printed to stderr, so a CI log that shows a hang also
// shows what it waited for. Every probe has its own short timeout and never throws.

import { execFile } from 'node:child_process';

const PROBE_TIMEOUT_MS = 10_000;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: PROBE_TIMEOUT_MS, maxBuffer: 4 << 20, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } }, (err, stdout, stderr) => {
      resolve(err ? `(${command} failed: ${(stderr || err.message).trim().split('\n')[0]})` : stdout.trim());
    });
  });
}

const MARIADB_SQL = [
  'SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, LEFT(INFO, 160) AS INFO FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() ORDER BY TIME DESC',
  'SELECT trx_mysql_thread_id AS thread, trx_state, trx_started, trx_wait_started, LEFT(trx_query, 160) AS query FROM information_schema.INNODB_TRX',
].join(';\n');

const POSTGRES_SQL = `
SELECT pid, usename, datname, application_name, state, wait_event_type, wait_event,
       now() - xact_start AS in_xact, LEFT(query, 160) AS query
  FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
 ORDER BY xact_start NULLS LAST;
SELECT l.pid, l.locktype, l.mode, l.relation::regclass AS relation, pg_blocking_pids(l.pid) AS blocked_by
  FROM pg_locks l WHERE NOT l.granted;`;

/** A report of the services' sessions, locks and the processes on this machine, for a failed test. */
export async function serviceStateReport(): Promise<string> {
  const [maria, pg, ps, df] = await Promise.all([
    run('mariadb', ['--no-defaults', '--protocol=tcp', '-h127.0.0.1', '-uroot', '--connect-timeout=5', '-t', '-e', MARIADB_SQL]),
    run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-X', '-c', POSTGRES_SQL]),
    run('ps', ['-eo', 'pid,ppid,etimes,stat,pcpu,rss,args', '--sort=-pcpu']),
    // MariaDB waits (without an error) for space when its disk is full.
    run('df', ['-h', '/tmp', '/var/lib']),
  ]);
  const top = ps.split('\n').slice(0, 25).map((line) => line.slice(0, 240)).join('\n');
  return [`--- MariaDB sessions and InnoDB transactions ---`, maria || '(none)', `--- PostgreSQL sessions and locks not granted ---`, pg, `--- processes (most CPU first) ---`, top, `--- disk space ---`, df].join('\n');
}
