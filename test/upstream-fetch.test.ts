import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { upstreamFetch } from '../adapters/node/upstream-fetch.ts';

/**
 * An upstream that answers each connection's first request and, when told to, drops the socket of
 * any later request on that connection without a word: what a kept-alive socket closed by the
 * upstream while idle looks like when it is reused.
 */
const seen: { connection: number; path: string }[] = [];
let dropReused = false;
let connections = 0;
const server = http.createServer((request, response) => {
  const socket = request.socket as typeof request.socket & { served?: number; id?: number };
  socket.id ??= ++connections;
  socket.served = (socket.served ?? 0) + 1;
  seen.push({ connection: socket.id, path: request.url ?? '' });
  if (dropReused && socket.served > 1) {
    socket.destroy();
    return;
  }
  request.resume();
  request.on('end', () => response.end(JSON.stringify({ path: request.url })));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const upstream = upstreamFetch();
afterAll(async () => {
  upstream.close();
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string) => upstream.fetch(`${base}${path}`, { method: 'POST', body: '{}' });

describe('the Node upstream fetch', () => {
  it('sends a request again, once, on a new connection when a reused socket turns out closed', async () => {
    dropReused = false;
    expect(await (await post('/first')).json()).toEqual({ path: '/first' });
    dropReused = true;
    seen.length = 0;
    const response = await post('/second');
    expect(await response.json()).toEqual({ path: '/second' });
    // Tried on the kept-alive connection, which died, then on a fresh one.
    expect(seen.map((entry) => entry.path)).toEqual(['/second', '/second']);
    expect(new Set(seen.map((entry) => entry.connection)).size).toBe(2);
  });

  it('does not resend a request whose fresh connection fails', async () => {
    let requests = 0;
    const failing = http.createServer((request) => {
      requests++;
      request.socket.destroy();
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const fresh = upstreamFetch();
    try {
      const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/`;
      await expect(fresh.fetch(url, { method: 'POST', body: '{}' })).rejects.toMatchObject({
        code: 'ECONNRESET',
      });
      expect(requests).toBe(1);
    } finally {
      fresh.close();
      await new Promise((resolve) => failing.close(resolve));
    }
  });
});
