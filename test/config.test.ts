import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Config, ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('applies defaults to empty bindings', () => {
    const config = loadConfig({});
    expect(config.OPENAI_API_KEY).toBeUndefined();
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      DEFAULT_MODEL: 'gpt-4o-mini',
      REQUEST_TIMEOUT: 30_000,
      CORS_ORIGINS: [],
      RATE_LIMIT_WINDOW_MS: 60_000,
      RATE_LIMIT_MAX: 60,
    });
  });

  it('coerces strings and splits lists', () => {
    const config = loadConfig({
      PORT: '8080',
      REQUEST_TIMEOUT: '1500',
      CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      REQUEST_TIMEOUT: 1500,
      CORS_ORIGINS: ['https://a.example', 'https://b.example'],
    });
  });

  it('parses a bindings object once', () => {
    const bindings = { PORT: '1234' };
    expect(loadConfig(bindings)).toBe(loadConfig(bindings));
  });

  it.each([
    ['PORT', '99999'],
    ['REQUEST_TIMEOUT', 'soon'],
    ['REQUEST_TIMEOUT', '-5'],
    ['RATE_LIMIT_MAX', '1.5'],
    ['OPENAI_BASE_URL', 'not a url'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
  ])('names %s when it is %j', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*got "${value}"`));
  });

  it('never echoes a secret value in the error', () => {
    let thrown: unknown;
    try {
      loadConfig({ OPENAI_API_KEY: 4242, REQUEST_TIMEOUT: 'x' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const { message } = thrown as ConfigError;
    expect(message).toMatch(/OPENAI_API_KEY: .*\[redacted\]/);
    expect(message).toMatch(/REQUEST_TIMEOUT: .*got "x"/);
    expect(message).not.toContain('4242');
  });

  it.each([
    ['true', true],
    ['On', true],
    ['YES', true],
    ['1', true],
    ['false', false],
    ['off', false],
    ['No', false],
    ['0', false],
  ])('reads the on/off setting %j as %s', (value, expected) => {
    const config = loadConfig({
      PLAYGROUND: value,
      PUBLIC_ACCESS: value,
      LOG_BODIES: value,
      METRICS_EMF: value,
    });
    expect(config).toMatchObject({
      PLAYGROUND: expected,
      PUBLIC_ACCESS: expected,
      LOG_BODIES: expected,
      METRICS_EMF: expected,
    });
  });

  it('names an on/off setting that is neither', () => {
    expect(() => loadConfig({ PLAYGROUND: 'maybe' })).toThrow(/PLAYGROUND: must be on or off .*got "maybe"/);
  });

  it('refuses production without client keys unless PUBLIC_ACCESS=on, naming both', () => {
    const open = () => loadConfig({ NODE_ENV: 'production' });
    expect(open).toThrow(ConfigError);
    expect(open).toThrow(/GATEWAY_API_KEYS.*PUBLIC_ACCESS=on/s);
    expect(loadConfig({ NODE_ENV: 'production', PUBLIC_ACCESS: 'on' }).PUBLIC_ACCESS).toBe(true);
    expect(
      loadConfig({ NODE_ENV: 'production', GATEWAY_API_KEYS: 'app:sk-gw-0123456789abcdef' }),
    ).toMatchObject({ PUBLIC_ACCESS: false });
    expect(loadConfig({ NODE_ENV: 'development' }).PUBLIC_ACCESS).toBe(false);
  });
});

describe('the documentation of the configuration', () => {
  it('names every variable in .env.example and in README.md or docs/', () => {
    const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
    const example = read('.env.example');
    const docs = [
      read('README.md'),
      ...readdirSync(new URL('../docs/', import.meta.url)).map((f) => read(`docs/${f}`)),
    ];
    const names = Object.keys(Config.shape);
    expect(names.length).toBeGreaterThan(30);
    expect(names.filter((name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(example))).toEqual([]);
    expect(names.filter((name) => !docs.some((text) => text.includes(`\`${name}\``)))).toEqual([]);
  });
});
