/**
 * Holds the first request a page makes to one API path until released (a slow answer), and counts
 * the requests asked and answered: for tests of answers that come late or out of order.
 */
import type { Page } from 'playwright-core';

export interface HeldRequest {
  counts: { asked: number; answered: number };
  /** Lets the held request go on. */
  release(): void;
  /** Releases it and stops watching the path. */
  stop(): Promise<void>;
}

export async function holdFirstRequest(page: Page, pathname: string): Promise<HeldRequest> {
  const matches = (url: URL) => url.pathname === pathname;
  const counts = { asked: 0, answered: 0 };
  const onResponse = (response: { url(): string }) => {
    if (matches(new URL(response.url()))) counts.answered++;
  };
  page.on('response', onResponse);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(matches, async (route) => {
    if (++counts.asked === 1) await released;
    await route.continue();
  });
  return {
    counts, release,
    async stop() {
      release();
      await page.unroute(matches);
      page.off('response', onResponse);
    },
  };
}
