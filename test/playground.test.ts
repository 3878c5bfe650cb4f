import { describe, expect, it } from 'vitest';
import { startGateway } from './support/start-gateway.ts';

describe('the playground page', () => {
  it('is served outside production, self-contained, under a nonce CSP; / redirects to it', async () => {
    const gateway = await startGateway();
    const root = await fetch(`${gateway.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/playground');

    const page = await fetch(`${gateway.url}/playground`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    const nonce = csp.match(/script-src 'nonce-(\w+)'/)?.[1];
    expect(nonce).toBeDefined();
    const html = await page.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    // No external assets: the page must work offline.
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(gateway.playground).toBe(`${gateway.url}/playground`);
  });

  it('is off in production unless PLAYGROUND=on, and PLAYGROUND=off turns it off anywhere', async () => {
    const production = await startGateway({ bindings: { NODE_ENV: 'production', PUBLIC_ACCESS: 'on' } });
    expect((await fetch(`${production.url}/playground`)).status).toBe(404);
    expect(production.playground).toBeUndefined();
    const on = await startGateway({
      bindings: { NODE_ENV: 'production', PUBLIC_ACCESS: 'on', PLAYGROUND: 'on' },
    });
    expect((await fetch(`${on.url}/playground`)).status).toBe(200);
    const off = await startGateway({ bindings: { PLAYGROUND: 'off' } });
    expect((await fetch(`${off.url}/`, { redirect: 'manual' })).status).toBe(404);
  });
});
