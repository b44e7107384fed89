// The failed-login throttle on an injected clock: 5 failures within 5 minutes
// lock a key until the oldest of them leaves the window; success clears the
// user's count (not the address's); memory stays bounded.
import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../src/server/login-limiter.js';

function limiter(): { l: LoginLimiter; advance: (ms: number) => void } {
  let now = 1_000_000;
  return { l: new LoginLimiter({ now: () => now, maxKeys: 3 }), advance: (ms) => void (now += ms) };
}

describe('LoginLimiter', () => {
  it('allows 4 failures, locks at the 5th, and reopens when the oldest leaves the window', () => {
    const { l, advance } = limiter();
    const keys = ['user:alice', 'address:1.2.3.4'] as const;
    for (let i = 0; i < 4; i++) {
      l.fail(keys);
      advance(10_000);
    }
    expect(l.retryAfterSeconds(keys)).toBe(0);
    l.fail(keys);
    // The first failure was 40 s ago: 260 s left.
    expect(l.retryAfterSeconds(keys)).toBe(260);
    expect(l.retryAfterSeconds(['user:alice'])).toBe(260);
    expect(l.retryAfterSeconds(['user:bob'])).toBe(0);
    advance(259_000);
    expect(l.retryAfterSeconds(keys)).toBe(1);
    advance(1_000);
    expect(l.retryAfterSeconds(keys)).toBe(0);
  });

  it('a success clears the user but not the address', () => {
    const { l } = limiter();
    for (let i = 0; i < 5; i++) l.fail(['user:alice', 'address:a']);
    l.succeed('alice');
    expect(l.retryAfterSeconds(['user:alice'])).toBe(0);
    expect(l.retryAfterSeconds(['address:a'])).toBeGreaterThan(0);
  });

  it('remembers at most maxKeys keys, forgetting the least recently failed', () => {
    const { l } = limiter();
    for (const k of ['address:1', 'address:2', 'address:3', 'address:4'] as const) for (let i = 0; i < 5; i++) l.fail([k]);
    expect(l.retryAfterSeconds(['address:1'])).toBe(0);
    expect(l.retryAfterSeconds(['address:4'])).toBeGreaterThan(0);
  });
});
