// Drives the web page in Debian's Chromium through playwright-core (no browser download): headless,
// a fresh profile, no background networking; the page only talks to the API on 127.0.0.1.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../../src/config.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface PageOutcome {
  category: string;
  bars: number;
  similar: number;
  similarPhotosLoaded: number;
  searchResults: number;
  errors: string[];
}

export async function browserPageTest(baseUrl: string, input: { photoPath: string; text: string; query: string }): Promise<PageOutcome> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const errors: string[] = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    // Anything but the API is refused, so the test cannot reach beyond loopback.
    await page.route('**/*', (route) => (route.request().url().startsWith(baseUrl) ? route.continue() : route.abort()));
    await page.goto(baseUrl);
    await page.setInputFiles('#photo', input.photoPath);
    await page.fill('#text', input.text);
    await page.click('#predict-button');
    await page.waitForSelector('#result:not([hidden]) #similar .card', { timeout: 30_000 });
    // Page-side expressions are strings: this project compiles without the DOM typings.
    const loadedPhotos = "[...document.querySelectorAll('#similar img')].filter((i) => i.complete && i.naturalWidth > 0).length";
    await page.waitForFunction(`${loadedPhotos} > 0`);
    const category = (await page.textContent('#category'))?.trim() ?? '';
    const bars = await page.locator('#bars .bar').count();
    const similar = await page.locator('#similar .card').count();
    const similarPhotosLoaded = (await page.evaluate(loadedPhotos)) as number;
    await page.fill('#q', input.query);
    await page.press('#q', 'Enter');
    await page.waitForSelector('#search-results .card', { timeout: 30_000 });
    const searchResults = await page.locator('#search-results .card').count();
    await page.screenshot({ path: path.join(loadConfig().VAR_DIR, 'api-page.png'), fullPage: true });
    return { category, bars, similar, similarPhotosLoaded, searchResults, errors };
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}
