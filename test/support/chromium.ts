import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's chromium, driven by playwright-core: the flags are what running as root, offline,
 * needs (no sandbox, no GPU, none of its own network traffic; no QUIC, so every request the page
 * makes is the TCP connection the tests see).
 */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
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
