import { describe, expect, it } from 'vitest';
import { startGateway } from './support/start-gateway.ts';
import { createTestApp } from './support/test-app.ts';

describe('the playground page', () => {
  it('is served outside production, self-contained, under a nonce CSP; / redirects to it', async () => {
    const { request } = createTestApp();
    const root = await request('/', { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/playground');

    const page = await request('/playground');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    const nonce = csp.match(/script-src 'nonce-(\w+)'/)?.[1];
    expect(nonce).toBeDefined();
    const html = await page.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    // No external assets: the page must work offline.
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it('is off in production unless PLAYGROUND=on, and PLAYGROUND=off turns it off anywhere', async () => {
    const production = createTestApp({ NODE_ENV: 'production', PUBLIC_ACCESS: 'on' });
    expect((await production.request('/playground')).status).toBe(404);
    const on = createTestApp({ NODE_ENV: 'production', PUBLIC_ACCESS: 'on', PLAYGROUND: 'on' });
    expect((await on.request('/playground')).status).toBe(200);
    const off = createTestApp({ PLAYGROUND: 'off' });
    expect((await off.request('/', { redirect: 'manual' })).status).toBe(404);
  });

  it('is the address the Node server prints beside its own, only when it is on', async () => {
    const dev = await startGateway();
    expect(dev.playground).toBe(`${dev.url}/playground`);
    expect((await fetch(dev.playground as string)).status).toBe(200);
    const production = await startGateway({ bindings: { NODE_ENV: 'production', PUBLIC_ACCESS: 'on' } });
    expect(production.playground).toBeUndefined();
  });
});
