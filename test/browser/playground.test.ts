import { mkdir, readFile } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_REPLY } from '../support/fake-upstream.ts';
import { startGateway, waitFor } from '../support/start-gateway.ts';

// Debian's chromium, driven by playwright-core; the flags are what running as root offline needs.
const browser: Browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ],
});
// Keepalive comments between the words, so every client on the page must skip them.
const gateway = await startGateway({
  bindings: { SSE_KEEPALIVE_MS: '15' },
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
      await page.selectOption('#transport', transport);
      await page.fill('#prompt', 'Tell me about robots');
      await page.click('#send');
      const seen: string[] = [];
      for (let i = 0; i < 40 && (await state()) === 'streaming'; i++) {
        seen.push(await output());
        await page.waitForTimeout(40);
      }
      await page.waitForFunction(() => document.body.dataset.state === 'done');
      expect(await output()).toBe(DEFAULT_REPLY);
      // Read while streaming: several distinct, growing prefixes of the final text.
      const distinct = [...new Set(seen)].filter(Boolean);
      expect(distinct.length).toBeGreaterThanOrEqual(3);
      for (const text of distinct) expect(DEFAULT_REPLY.startsWith(text)).toBe(true);
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
      gateway.upstream.enqueue({ chunkDelayMs: 150 });
      await page.selectOption('#transport', transport);
      await page.click('#send');
      await page.waitForFunction(() => (document.getElementById('output')?.textContent ?? '').length > 0);
      const upstreamRequest = gateway.upstream.requests.at(-1);
      await page.click('#stop');
      await waitFor(() => upstreamRequest?.aborted === true, 3_000);
      expect(await state()).toBe('stopped');
      expect((await output()).length).toBeLessThan(DEFAULT_REPLY.length);
    },
  );

  it('shows an upstream error plainly', async () => {
    gateway.upstream.enqueue({ status: 429 });
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
