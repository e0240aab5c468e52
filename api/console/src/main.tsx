/*
 * main.tsx — starts the console: the React tree, the outbox's automatic sync, and the
 * service worker that lets the app open without network (PWA).
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { I18nProvider } from './lib/i18n';
import { startAutoSync } from './lib/queue';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nProvider>
      <App />
    </I18nProvider>
  </StrictMode>,
);

startAutoSync();

if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/console/sw.js', { scope: '/console/' }).catch(() => {
      /* no offline start; everything else works */
    });
  });
}
