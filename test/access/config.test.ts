import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { ALICE, sha256, UNNAMED } from './fixtures.ts';

describe('access settings', () => {
  it('default to an open gateway with 60 requests a minute, no token budget and memory stores', () => {
    const config = loadConfig({});
    expect(config.REDIS_URL).toBeUndefined();
    expect(config).toMatchObject({
      GATEWAY_API_KEYS: [],
      GATEWAY_API_KEY_HASHES: [],
      TRUST_PROXY_HOPS: 0,
      RATE_LIMIT_MAX: 60,
      TOKEN_LIMIT_MAX: 0,
      REDIS_FAILURE_POLICY: 'open',
      ALLOWED_MODELS: [],
      MAX_TOKENS_CAP: 0,
      MAX_TOKENS_RULE: 'clamp',
      MAX_MESSAGES: 200,
      MAX_PROMPT_CHARS: 400_000,
    });
  });

  it('parse named, unnamed and hashed keys', () => {
    const config = loadConfig({
      // A key that contains ':' needs a name in front, or its first part would be read as one.
      GATEWAY_API_KEYS: ` alice:${ALICE} ,${UNNAMED}, carol:${ALICE}:with:colons`,
      GATEWAY_API_KEY_HASHES: `bob:${sha256('b').toUpperCase()}`,
    });
    expect(config.GATEWAY_API_KEYS).toEqual([
      { name: 'alice', key: ALICE },
      { name: null, key: UNNAMED },
      { name: 'carol', key: `${ALICE}:with:colons` },
    ]);
    expect(config.GATEWAY_API_KEY_HASHES).toEqual([{ name: 'bob', sha256: sha256('b') }]);
  });

  it.each([
    ['GATEWAY_API_KEYS', 'alice:tiny-secret', /entry 1 is shorter than 16 characters/],
    ['GATEWAY_API_KEYS', `a:${ALICE},a:${ALICE}x`, /the name a is used twice/],
    ['GATEWAY_API_KEY_HASHES', 'bob:abc123', /entry 1 is not 64 hex digits/],
    ['REDIS_URL', 'http://user:hunter2@cache.internal:6379', /must be a redis:\/\/ or rediss:\/\/ URL/],
    ['REDIS_FAILURE_POLICY', 'maybe', /REDIS_FAILURE_POLICY/],
    ['MAX_TOKENS_RULE', 'truncate', /MAX_TOKENS_RULE/],
    ['TRUST_PROXY_HOPS', '-1', /TRUST_PROXY_HOPS/],
    ['CORS_ORIGINS', 'https://app.example.com/', /exact origin/],
  ])('names %s when it is wrong, without echoing secrets', (name, value, message) => {
    const load = () => loadConfig({ [name]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(`${name}: `));
    expect(load).toThrow(message);
    if (/KEY|REDIS_URL/.test(name)) {
      expect(load).toThrow(/\[redacted\]/);
      expect(load).not.toThrow(/tiny-secret|sk-gw|hunter2|abc123/);
    }
  });

  it('requires DEFAULT_MODEL to be one of ALLOWED_MODELS', () => {
    expect(() => loadConfig({ ALLOWED_MODELS: 'gpt-4o' })).toThrow(
      /DEFAULT_MODEL: must be one of ALLOWED_MODELS \(gpt-4o\)/,
    );
  });

  it('takes 0 as off for the request and token limits', () => {
    expect(loadConfig({ RATE_LIMIT_MAX: '0', TOKEN_LIMIT_MAX: '0' })).toMatchObject({
      RATE_LIMIT_MAX: 0,
      TOKEN_LIMIT_MAX: 0,
    });
  });
});
