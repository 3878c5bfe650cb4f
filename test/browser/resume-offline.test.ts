import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { DEFAULT_REPLY, DEFAULT_WORDS } from '../support/fake-upstream.ts';
import { startGateway, waitFor } from '../support/start-gateway.ts';
import { startTcpRelay } from '../support/tcp-relay.ts';

const browser: Browser = await launchChromium();
afterAll(() => browser.close());
const gateway = await startGateway({ bindings: { STREAM_RESUME_WINDOW_MS: '20000' } });
// The page reaches the gateway through this relay: going offline cuts the sockets it carries.
const network = await startTcpRelay(gateway.port);

describe('the playground over EventSource in Chromium, offline mid-answer', () => {
  it('shows the complete answer exactly once after the network comes back', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${network.url}/playground`);
    await page.waitForFunction(
      () => (document.getElementById('model') as HTMLSelectElement).options.length > 0,
    );
    let release!: () => void;
    gateway.upstream.enqueue({
      afterChunks: 3,
      holdUntil: new Promise<void>((resolve) => (release = resolve)),
    });
    const before = gateway.upstream.requests.length;

    await page.selectOption('#transport', 'eventsource');
    await page.fill('#prompt', 'Tell me about robots');
    await page.click('#send');
    const firstWords = DEFAULT_WORDS.slice(0, 3).join('');
    await page.waitForFunction((text) => document.getElementById('output')?.textContent === text, firstWords);

    await context.setOffline(true);
    network.cut();
    // The rest of the answer is written while the page cannot receive it: only the log keeps it.
    release();
    const upstream = gateway.upstream.requests[before];
    await waitFor(
      () => upstream?.chunksSent === DEFAULT_WORDS.length,
      10_000,
      'the upstream sent everything',
    );
    expect(await page.locator('#output').textContent()).toBe(firstWords);
    await context.setOffline(false);

    // EventSource reconnects by itself (retry: 3 s) with Last-Event-ID: 3.
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 20_000 });
    expect(await page.locator('#output').textContent()).toBe(DEFAULT_REPLY);
    expect(await page.locator('#error').textContent()).toBe('');
    expect(gateway.upstream.requests.length - before).toBe(1);
    expect(gateway.logs.find((line) => line.resumed_after === 3)).toMatchObject({ status: 200 });
    await context.close();
  });
});
