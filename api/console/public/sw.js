/*
 * sw.js — the console's service worker: the app opens without network.
 *
 * At install it caches the shell: /console/ (index.html) and the hashed scripts and
 * styles that page names, plus the manifest and icons. Page loads (navigations under
 * /console/) go to the network first and fall back to the cached shell; the hashed assets
 * come from the cache first (a new build has new names). The API (/api/) is never cached
 * here: reads need the network, and writes made offline wait in the page's IndexedDB
 * outbox (src/lib/queue.ts), not in this worker.
 */
const CACHE = 'fofal-console-v1';
const SHELL = ['/console/', '/console/manifest.webmanifest', '/console/icon-192.png', '/console/icon-512.png'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const res = await fetch('/console/', { cache: 'no-store' });
      const html = await res.clone().text();
      await cache.put('/console/', res);
      const assets = Array.from(html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g), (m) => m[1]);
      await cache.addAll([...SHELL.slice(1), ...assets]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/console/')) return;
  if (req.mode === 'navigate') {
    event.respondWith(
      (async () => {
        try {
          const res = await fetch(req);
          if (res.ok) (await caches.open(CACHE)).put('/console/', res.clone());
          return res;
        } catch {
          return (await caches.match('/console/')) || Response.error();
        }
      })(),
    );
    return;
  }
  event.respondWith(
    (async () => {
      const hit = await caches.match(req);
      if (hit) return hit;
      const res = await fetch(req);
      if (res.ok && url.pathname.startsWith('/console/assets/')) (await caches.open(CACHE)).put(req, res.clone());
      return res;
    })(),
  );
});
