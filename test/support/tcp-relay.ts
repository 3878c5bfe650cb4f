import { connect, createServer, type Socket } from 'node:net';
import { afterAll } from 'vitest';

/**
 * A TCP relay on 127.0.0.1 in front of a local port: what a browser's network path is to the
 * gateway. `cut()` destroys every connection through it, as a lost network kills open sockets
 * (Chromium's emulated offline only refuses new requests; a stream already open keeps flowing).
 */
export async function startTcpRelay(targetPort: number) {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      for (const socket of open) socket.destroy();
    },
  };
}
