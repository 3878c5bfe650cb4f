// Addresses become rate-limit keys and log fields: only the characters of IPv4 and IPv6 pass.
const ADDRESS = /^[0-9a-f.:]{2,45}$/i;

/**
 * The client's address. Without trusted proxies, the runtime's (socket, Lambda request context,
 * CF-Connecting-IP): X-Forwarded-For is the client's to write. With `trustedHops` proxies in front,
 * each appends the address it saw, so the client is the entry that many places from the right;
 * anything further left was written by the client and is ignored.
 */
export function clientIpOf(
  request: Request,
  runtimeAddress: string | undefined,
  trustedHops: number,
): string {
  const direct = runtimeAddress ?? 'unknown';
  if (trustedHops === 0) return direct;
  const forwarded = (request.headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  // Nearest hop first: the runtime's peer, then X-Forwarded-For read from the right.
  const chain = [direct, ...forwarded.reverse()];
  const candidate = chain[Math.min(trustedHops, chain.length - 1)] ?? direct;
  return ADDRESS.test(candidate) ? candidate : direct;
}
