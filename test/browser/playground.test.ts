import { mkdir, readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { DEFAULT_REPLY, DEFAULT_WORDS } from '../support/fake-upstream.ts';
import { startGateway, waitFor } from '../support/start-gateway.ts';

const browser: Browser = await launchChromium();
// Keepalive comments between the words, so every client on the page must skip them. A short resume
// window: an EventSource stream whose page stopped reading aborts its upstream once the window has
// passed with nobody back (README, "Resumable streams").
const gateway = await startGateway({
  bindings: { SSE_KEEPALIVE_MS: '15', STREAM_RESUME_WINDOW_MS: '300' },
  upstreamDefaults: { chunkDelayMs: 40 },
});
let page: Page;
afterAll(() => browser.close());
beforeEach(async () => {
  page = await browser.newPage();
  await page.goto(`${gateway.url}/playground`);
  await page.waitForFunction(
    () => (document.getElementById('model') as HTMLSelectElement).options.length > 0,
  );
});

const output = async () => (await page.locator('#output').textContent()) ?? '';
const state = () => page.evaluate(() => document.body.dataset.state);

describe('the playground in Chromium', () => {
  it.each(['fetch', 'eventsource'])(
    'streams a reply that grows, then shows usage (%s client)',
    async (transport) => {
      // The upstream sends three words, then holds the rest until the page has shown them.
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      gateway.upstream.enqueue({ afterChunks: 3, holdUntil: held, chunkDelayMs: 40 });
      await page.selectOption('#transport', transport);
      await page.fill('#prompt', 'Tell me about robots');
      await page.click('#send');
      const firstWords = DEFAULT_WORDS.slice(0, 3).join('');
      await page.waitForFunction(
        (text) => document.getElementById('output')?.textContent === text,
        firstWords,
      );
      expect(await state()).toBe('streaming');
      release();
      await page.waitForFunction(() => document.body.dataset.state === 'done');
      expect(await output()).toBe(DEFAULT_REPLY);
      expect(await page.locator('#usage').textContent()).toMatch(
        /12 prompt \+ 11 completion = 23 tokens \(stop\)/,
      );
      expect(gateway.upstream.requests.at(-1)?.body?.messages).toEqual([
        { role: 'user', content: 'Tell me about robots' },
      ]);
      await mkdir('test-results', { recursive: true });
      await page.screenshot({ path: `test-results/playground-${transport}.png`, fullPage: true });
    },
  );

  it.each(['fetch', 'eventsource'])(
    'Stop aborts the upstream request mid-stream (%s client)',
    async (transport) => {
      // Two words, then the upstream holds the stream open: only Stop can end it before
      // REQUEST_TIMEOUT (30 s).
      gateway.upstream.enqueue({ hang: 'mid-stream', afterChunks: 2 });
      await page.selectOption('#transport', transport);
      await page.click('#send');
      await page.waitForFunction(() => (document.getElementById('output')?.textContent ?? '').length > 0);
      const upstreamRequest = gateway.upstream.requests.at(-1);
      await page.click('#stop');
      await waitFor(() => upstreamRequest?.aborted);
      expect(await state()).toBe('stopped');
      expect((await output()).length).toBeLessThan(DEFAULT_REPLY.length);
    },
  );

  it('shows an upstream error plainly', async () => {
    // A 429 without Retry-After is retried once by the gateway: this one stands.
    gateway.upstream.enqueue({ status: 429 }, { status: 429 });
    await page.click('#send');
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    expect(await page.locator('#error').textContent()).toContain('Fake upstream error 429');
  });

  it("runs the README's browser client as written", async () => {
    const readme = await readFile('README.md', 'utf8');
    const snippet = readme.split('### A browser client')[1]?.match(/```js\n([\s\S]*?)```/)?.[1];
    expect(snippet).toContain('async function streamCompletion');
    const result = await page.evaluate(async (code) => {
      const streamCompletion = new Function(`${code}; return streamCompletion;`)();
      let text = '';
      let usage: unknown;
      await streamCompletion([{ role: 'user', content: 'hi' }], {
        onDelta: (delta: string) => {
          text += delta;
        },
        onUsage: (payload: unknown) => {
          usage = payload;
        },
      });
      return { text, usage };
    }, snippet ?? '');
    expect(result.text).toBe(DEFAULT_REPLY);
    expect(result.usage).toMatchObject({ finish_reason: 'stop', usage: { total_tokens: 23 } });
  });
});
