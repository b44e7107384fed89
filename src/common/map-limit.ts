// Runs an async function over items with at most `limit` calls in flight,
// failing fast on the first error.

export async function mapLimit<T, R>(items: Iterable<T>, limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const list = [...items];
  const results = new Array<R>(list.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < list.length) {
      const i = next++;
      try {
        results[i] = await fn(list[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, list.length)) }, worker));
  return results;
}
