/*
 * vite.config.ts — how the console is built and unit-tested.
 *
 * The build goes where fofal-api reads it (FOFAL_CONSOLE_DIR; the CMake target passes
 * --outDir into the build tree) and is served under /console/. No inline script or
 * style ends up in index.html (fofal-api's CSP allows none): Vite emits module scripts
 * and stylesheets as files, and the service worker (public/sw.js) is copied as is.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0, // every asset a file: img-src needs no data: for ours
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    setupFiles: ['src/test-setup.ts'],
  },
});
