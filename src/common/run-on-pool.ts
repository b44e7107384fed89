// Runs jobs on a fixed set of workers (database connections), one job at a
// time per worker. The first failure stops handing out jobs, calls
// `onFailure` (e.g. to cancel the other workers' queries) and is rethrown
// after every running job has settled.

export async function runOnPool<C, T>(workers: C[], jobs: T[], run: (worker: C, job: T) => Promise<void>, onFailure: () => void): Promise<void> {
  let next = 0;
  let failure: unknown;
  const loop = async (worker: C) => {
    while (failure === undefined && next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await run(worker, job);
      } catch (err) {
        if (failure === undefined) {
          failure = err;
          onFailure();
        }
      }
    }
  };
  await Promise.all(workers.map(loop));
  if (failure !== undefined) throw failure;
}
