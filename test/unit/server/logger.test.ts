// The server log never carries credentials: Authorization headers, password
// and token fields are censored, and URLs with passwords are masked.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/server/logger.js';

describe('createLogger', () => {
  it('redacts credentials', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = createLogger({ level: 'info', destination });
    log.info({ req: { headers: { authorization: 'Basic c2VjcmV0' } } }, 'request');
    log.info({ body: { password: 'hunter22', token: 'arca_x_y' } }, 'body');
    log.warn('could not reach postgres://app:pa55word@db/app');
    const text = lines.join('');
    expect(text).not.toMatch(/c2VjcmV0|hunter22|arca_x_y|pa55word/);
    expect(text).toContain('***');
  });
});
