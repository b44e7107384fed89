// A writer process for the SQLite tests: commits a transfer between the two
// account tables (keeping their sum) every few ms and logs it, measuring each
// commit; or ('hold') keeps one write transaction open, holding the lock.
// Prints "ready", then on SIGTERM one JSON line {commits, maxCommitMs, errors}.
/* global process, setTimeout, performance */
import Database from 'better-sqlite3';

const [path, everyMs, busyMs, mode] = process.argv.slice(2);
const db = new Database(path, { timeout: Number(busyMs) });
let stop = false;
process.on('SIGTERM', () => {
  stop = true;
});
const report = { commits: 0, maxCommitMs: 0, errors: [] };
const finish = () => {
  process.stdout.write(JSON.stringify(report) + '\n');
  db.close();
  process.exit(0);
};

if (mode === 'hold') {
  // An exclusive write lock (rollback journal: readers are locked out too).
  db.exec('BEGIN EXCLUSIVE');
  db.prepare('UPDATE a SET bal = bal WHERE id = 1').run();
  process.stdout.write('ready\n');
  const wait = () => (stop ? (db.exec('ROLLBACK'), finish()) : setTimeout(wait, 5));
  wait();
} else {
  const n = Number(db.prepare('SELECT count(*) FROM a').pluck().get());
  const dec = db.prepare('UPDATE a SET bal = bal - ? WHERE id = ?');
  const inc = db.prepare('UPDATE b SET bal = bal + ? WHERE id = ?');
  const log = db.prepare('INSERT INTO log (src, dst, amount, pad) VALUES (?, ?, ?, randomblob(300))');
  const transfer = db.transaction((src, dst, amount) => {
    dec.run(amount, src);
    inc.run(amount, dst);
    log.run(src, dst, amount);
  });
  const tick = () => {
    if (stop) return finish();
    const t = performance.now();
    try {
      const src = 1 + Math.floor(Math.random() * n);
      const dst = 1 + Math.floor(Math.random() * n);
      const amount = (Math.random() < 0.5 ? -1 : 1) * (1 + Math.floor(Math.random() * 9));
      transfer.immediate(src, dst, amount);
      report.commits++;
    } catch (err) {
      report.errors.push(String(err && err.message));
    }
    report.maxCommitMs = Math.max(report.maxCommitMs, performance.now() - t);
    setTimeout(tick, Number(everyMs));
  };
  process.stdout.write('ready\n');
  tick();
}
