/**
 * Polling waits for tests: a condition that becomes true, or a value that appears, by a
 * deadline, failing with what was awaited so that a timeout says what did not happen.
 * @module
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `pollMs` until it is true; throws `timed out waiting for <what>` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  pollMs = 10,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

/**
 * Polls `get` every `pollMs` until it gives a value other than null; throws `timed out waiting
 * for <what>` after `timeoutMs`. A rejection of `get` (a failed assertion) ends the wait at once.
 */
export async function waitForValue<T>(
  what: string,
  get: () => Promise<T | null>,
  timeoutMs = 20_000,
  pollMs = 250,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}
