/**
 * Browser tests of the dashboard: Debian's chromium driven by playwright-core, against
 * `meshmetrics demo` started as a child process (the demo mesh with its collector). A test
 * file starts one demo and one browser, opens pages on them, and fails a page that logs a
 * console error or an uncaught exception. Screenshots go to `artifacts/screenshots/`.
 * Firefox (Debian's firefox-esr) is driven by puppeteer-core over WebDriver BiDi instead.
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Browser as PuppeteerBrowser, Page as PuppeteerPage } from 'puppeteer-core';
import { requirePeer } from './peers.js';

const REPO = resolve(import.meta.dirname, '..', '..');
/** Where the test run writes screenshots of each page. */
export const SCREENSHOT_DIR = join(REPO, 'artifacts', 'screenshots');

/** A running demo mesh; `url` is the collector's base URL (the dashboard is at `url + '/'`). */
export interface Demo {
  url: string;
  child: ChildProcess;
  /** Everything printed so far, stdout then stderr. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** The demo's `--data-dir` (removed when the test ends). */
  dataDir: string;
  /** Resolves when the demo process exits. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/**
 * Starts `meshmetrics demo` (from source, with the built dashboard in dist/dashboard) and
 * waits until it prints the collector's address; stopped when the test ends.
 * `statusInterval` is the demo's status-line period; `extraArgs` go last.
 */
export async function startDemo(
  t: TestContext,
  extraArgs: string[] = [],
  statusInterval = '60s',
): Promise<Demo> {
  if (!existsSync(join(REPO, 'dist', 'dashboard', 'index.html')))
    throw new Error('the dashboard is not built: run `npm run build:web` first');
  const dir = mkdtempSync(join(tmpdir(), 'mm-dash-'));
  const code =
    "const m = await import('./src/cmd/main.ts'); process.exitCode = await m.main(process.argv.slice(1));";
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      code,
      '--',
      'demo',
      '--web.listen-address=127.0.0.1:0',
      '--scrape-interval=1s',
      `--status-interval=${statusInterval}`,
      `--data-dir=${join(dir, 'data')}`,
      ...extraArgs,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 45_000;
  for (;;) {
    const url = /API: +(http:\/\/\S+?)\/?(\s|$)/.exec(stdout)?.[1];
    if (url !== undefined)
      return {
        url,
        child,
        output: () => stdout + stderr,
        stdout: () => stdout,
        stderr: () => stderr,
        dataDir: join(dir, 'data'),
        exited,
      };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`demo did not start:\n${stdout}${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Launches Debian's chromium headless (skips the test when it is missing, unless
 * MESHMETRICS_REQUIRE_PEERS=1); closed when the test ends. Returns null when skipped.
 */
export async function launchBrowser(t: TestContext): Promise<Browser | null> {
  const exe = process.env.CHROMIUM_PATH ?? requirePeer(t, 'chromium', 'chromium');
  if (exe === null) return null;
  const browser = await chromium.launch({
    executablePath: exe,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  t.after(() => browser.close());
  return browser;
}

/** A page that records console errors and uncaught exceptions for `assertNoErrors`. */
export interface WatchedPage {
  page: Page;
  /** Console errors and page errors seen so far, each with its text. */
  errors: string[];
}

/** Opens a new 1400×900 page that records errors. */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Aborted fetches are the dashboard cancelling a refresh it no longer needs.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`request failed: ${r.url()}`);
  });
  return { page, errors };
}

/** Writes a full-page screenshot to `artifacts/screenshots/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Launches Debian's firefox-esr headless through puppeteer-core over WebDriver BiDi (stock
 * Firefox speaks it; playwright-core needs its own patched build), with a temporary profile.
 * Skips the test when firefox-esr is missing, unless MESHMETRICS_REQUIRE_PEERS=1; closed
 * and its profile removed when the test ends. Returns null when skipped.
 */
export async function launchFirefox(t: TestContext): Promise<PuppeteerBrowser | null> {
  const exe = process.env.FIREFOX_PATH ?? requirePeer(t, 'firefox-esr', 'firefox-esr');
  if (exe === null) return null;
  // Loaded here so the chromium tests do not pay for it.
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'mm-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: exe,
    headless: true,
    userDataDir: profile,
  });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}

/** A puppeteer page that records console errors, uncaught exceptions and failed requests. */
export interface WatchedPuppeteerPage {
  page: PuppeteerPage;
  /** Console errors, page errors and failed requests seen so far, each with its text. */
  errors: string[];
}

/** Opens a new 1400×900 puppeteer page that records errors. */
export async function openPuppeteerPage(browser: PuppeteerBrowser): Promise<WatchedPuppeteerPage> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${String(e)}`));
  page.on('requestfailed', (r) => {
    // Aborted fetches are the dashboard cancelling a refresh it no longer needs.
    const why = r.failure()?.errorText ?? '';
    if (!/ABORTED/.test(why)) errors.push(`request failed: ${r.url()} (${why})`);
  });
  return { page, errors };
}

/** `screenshot` for a puppeteer page: a full-page PNG in `artifacts/screenshots/<name>.png`. */
export async function screenshotPuppeteer(page: PuppeteerPage, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`) as `${string}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
