/**
 * Waits for a condition instead of a guessed sleep: polls `check` (sync or async) until it returns
 * something truthy, and returns that. The bound is generous on purpose: it only decides how long a
 * broken test takes to fail, never whether a working one passes on a busy machine.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = String(check),
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) return result as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
