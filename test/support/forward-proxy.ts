import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A plain-HTTP forward proxy on 127.0.0.1, as an egress proxy behaves for `http://` targets:
 * requests arrive in absolute form and are passed on. Records what went through it.
 */
export async function startForwardProxy() {
  const proxied: string[] = [];
  const server = createServer((incoming, outgoing) => {
    proxied.push(`${incoming.method} ${incoming.url}`);
    const onward = request(
      new URL(incoming.url ?? ''),
      { method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(onward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    proxied,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Kept-alive client sockets would hold the close open until they idle out.
        server.closeAllConnections();
      }),
  };
}
