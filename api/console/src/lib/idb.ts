/*
 * idb.ts — the phone's own storage, IndexedDB, through three promise helpers.
 *
 * One database, "fofal-console", with two object stores:
 *   outbox   commands made on the floor, kept until the server answered them (queue.ts)
 *   device   this phone's enrolment: device id and secret (device.ts)
 * Each call opens its own transaction; IndexedDB commits it when the callback's requests
 * are done, so a write that resolved is on disk before the caller goes on.
 */
const DB_NAME = 'fofal-console';
const DB_VERSION = 1;
export const OUTBOX = 'outbox';
export const DEVICE = 'device';

let opening: Promise<IDBDatabase> | null = null;

export function openDb(): Promise<IDBDatabase> {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: 'key' });
        if (!db.objectStoreNames.contains(DEVICE)) db.createObjectStore(DEVICE, { keyPath: 'id' });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => {
        opening = null;
        reject(req.error);
      };
    });
  }
  return opening;
}

/* For the unit tests: forget the open connection (a fresh fake IndexedDB follows). */
export function resetDbForTests(): void {
  opening = null;
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function idbPut<T>(store: string, value: T): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).put(value);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export async function idbGet<T>(store: string, key: string): Promise<T | undefined> {
  const db = await openDb();
  return (await done(db.transaction(store).objectStore(store).get(key))) as T | undefined;
}

export async function idbAll<T>(store: string): Promise<T[]> {
  const db = await openDb();
  return (await done(db.transaction(store).objectStore(store).getAll())) as T[];
}

export async function idbDelete(store: string, key: string): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).delete(key);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
