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
    expect(() => loadConfig({ OPENAI_API_KEY: 42, REQUEST_TIMEOUT: 'x' })).not.toThrow(/42/);
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
