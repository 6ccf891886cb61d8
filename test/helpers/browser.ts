// Headless Chromium for the browser tests: Debian's /usr/bin/chromium (or $CHROMIUM_PATH) driven by
// playwright-core, with the flags this machine needs (TOOLCHAIN.md: no sandbox as root, no
// background networking on a closed network).

import fs from 'node:fs'
import type { Browser } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export function hasChromium (): boolean {
  return fs.existsSync(CHROMIUM)
}

/** Launches headless Chromium; the browser closes at the test's teardown. */
export async function launchChromium (t: { teardown: (fn: () => unknown) => void }): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}
