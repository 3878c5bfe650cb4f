/**
 * Fires `onIdle` when `touch` was not called for `ms` (with `repeat`, again after each further `ms`
 * of quiet). One timer re-armed lazily rather than one per chunk: chunks only stamp the time, which
 * keeps timer churn off the streaming hot path.
 */
export function idleWatchdog(ms: number, onIdle: () => void, { repeat = false } = {}) {
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const idle = Date.now() - last;
    if (idle >= ms) {
      timer = undefined;
      onIdle();
      if (repeat) {
        last = Date.now();
        timer = setTimeout(check, ms);
      }
    } else {
      timer = setTimeout(check, ms - idle);
    }
  };
  timer = setTimeout(check, ms);
  return {
    touch() {
      last = Date.now();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
