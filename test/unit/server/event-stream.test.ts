// Unit tests of small server pieces: SSE frames, notification targets
// (validation, masking) and which outcomes a target wants.
import { describe, expect, it } from 'vitest';
import { sseFrame } from '../../../src/server/event-stream.js';
import { maskNotification, maskWebhook, validateNotification } from '../../../src/catalog/notifications.js';
import { wants } from '../../../src/jobs/notify/notifier.js';
import { jobText } from '../../../src/jobs/notify/message.js';
import { expiryFrom } from '../../../src/common/duration.js';
import type { JobRecord } from '../../../src/catalog/jobs.js';

const job = (status: JobRecord['status'], error: string | null = null): JobRecord => ({
  id: 7, kind: 'backup', database: 'app', volume: 'local', schedule: null, host: 'h', pid: 1, startedAt: '2026-01-01T00:00:00.000Z',
  heartbeatAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:03.000Z', status, progress: null, figures: {}, error, abortRequested: false,
});

describe('server helpers', () => {
  it('writes one SSE frame per event, data on one line', () => {
    expect(sseFrame({ event: 'progress', data: { a: 'x\ny' } })).toBe('event: progress\ndata: {"a":"x\\ny"}\n\n');
  });

  it('validates and masks notification targets', () => {
    expect(validateNotification({ kind: 'webhook', target: 'https://h.example/hook/secret' })).toMatchObject({ on: 'failure', smtp: null });
    expect(() => validateNotification({ kind: 'webhook', target: 'ftp://x' })).toThrow(/http/);
    expect(() => validateNotification({ kind: 'email', target: 'ops@example.com' })).toThrow(/--smtp/);
    expect(() => validateNotification({ kind: 'email', target: 'nope', smtp: 'smtp://h:25' })).toThrow(/not an email/);
    expect(maskWebhook('https://hooks.slack.com/services/T/B/secret?x=1')).toBe('https://hooks.slack.com/***');
    const masked = maskNotification({ id: 1, kind: 'email', target: 'a@b.co', smtp: 'smtp://u:pw@h:25', on: 'always', createdAt: '' });
    expect(masked.smtp).not.toContain('pw');
  });

  it('sends failures to every target and other outcomes to "always" targets', () => {
    const t = (on: 'failure' | 'always') => ({ id: 1, kind: 'webhook' as const, target: '', smtp: null, on, createdAt: '' });
    expect(wants(t('failure'), job('failed'))).toBe(true);
    expect(wants(t('failure'), job('succeeded'))).toBe(false);
    expect(wants(t('always'), job('aborted'))).toBe(true);
    expect(wants(t('always'), job('running'))).toBe(false);
    expect(jobText(job('failed', 'no route to postgres://u:secret@h/db'))).toMatch(/^arca: backup of app on local failed after 3.0s.*postgres:\/\/u:\*\*\*@h/);
  });

  it('reads expiries like --expire', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(expiryFrom('never', now)).toBeNull();
    expect(expiryFrom('1w 3d', now)?.toISOString()).toBe('2026-01-11T00:00:00.000Z');
    expect(() => expiryFrom('soon', now)).toThrow(/invalid duration/);
  });
});
