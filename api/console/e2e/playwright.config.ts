/*
 * playwright.config.ts — the browser tests run by tests/console/test_console.c against
 * the test stack (FOFAL_E2E_BASE, FOFAL_E2E_FIXTURE). The browser is Debian's chromium
 * (ops/setup installs it; FOFAL_TEST_CHROMIUM overrides): Playwright never downloads one.
 * One worker, in order: the tests follow one working day (sign-ins, a declaration, the
 * offline one, a breakdown).
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  outputDir: 'results',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.FOFAL_E2E_BASE,
    locale: 'fr-FR',
    launchOptions: {
      executablePath: process.env.FOFAL_TEST_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
