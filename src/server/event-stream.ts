// Server-Sent Events (text/event-stream) from the job registry: a poll of
// the catalog every `intervalMs` (one per second by default) becomes one
// event; the stream ends after the last event (a job's outcome) or when the
// client goes away or the server shuts down. The body is a PassThrough that
// fastify pipes to the client, so the request is logged like any other.
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export interface SseEvent {
  event: string;
  data: unknown;
}

/** One SSE frame. `data` is JSON on one line (JSON.stringify never emits raw newlines). */
export function sseFrame(e: SseEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export interface EventSource {
  /** The events of one tick; `last` ends the stream after them. */
  tick(): { events: SseEvent[]; last: boolean };
}

export function sendEventStream(
  reply: FastifyReply,
  source: EventSource,
  opts: { intervalMs: number; stopping: AbortSignal; streams?: Set<Promise<void>> },
): FastifyReply {
  const body = new PassThrough();
  const finished = new Promise<void>((resolve) => reply.raw.once('close', () => resolve()));
  opts.streams?.add(finished);
  void finished.then(() => opts.streams?.delete(finished));
  let timer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    clearTimeout(timer);
    opts.stopping.removeEventListener('abort', onStop);
    if (!body.writableEnded) body.end();
  };
  const onStop = (): void => {
    if (!body.writableEnded) body.write(sseFrame({ event: 'shutdown', data: { message: 'the server is shutting down' } }));
    finish();
  };
  const step = (): void => {
    if (body.destroyed || body.writableEnded) return finish();
    let result: { events: SseEvent[]; last: boolean };
    try {
      result = source.tick();
    } catch (err) {
      result = { events: [{ event: 'error', data: { message: err instanceof Error ? err.message : String(err) } }], last: true };
    }
    for (const e of result.events) body.write(sseFrame(e));
    if (result.last) return finish();
    timer = setTimeout(step, opts.intervalMs);
  };
  body.on('close', finish);
  if (opts.stopping.aborted) queueMicrotask(onStop);
  else opts.stopping.addEventListener('abort', onStop, { once: true });
  body.write('retry: 3000\n\n');
  step();
  return reply
    .code(200)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    .header('x-accel-buffering', 'no')
    .send(body);
}
