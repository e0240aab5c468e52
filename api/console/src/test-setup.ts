/* Vitest set-up: a fresh in-memory IndexedDB for every test file (fake-indexeddb). */
import 'fake-indexeddb/auto';
