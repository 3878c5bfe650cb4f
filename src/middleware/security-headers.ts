import { secureHeaders } from 'hono/secure-headers';

/**
 * Hono's secureHeaders, plus a CSP that lets nothing load or frame: the gateway serves data, not
 * pages. `overwrite: false` keeps headers a route sets itself (a page can bring its own CSP).
 */
export const securityHeaders = () =>
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    xFrameOptions: 'DENY',
    overwrite: false,
  });
