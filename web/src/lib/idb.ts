/**
 * A few promises over IndexedDB (no library): recorded chunks, the outbox,
 * and tus-js-client's resume URLs all live here, so a crash, a call or a
 * closed tab loses at most the last second of a recording and no upload.
 */
const NAME = "voicebridge";
const VERSION = 1;
export const CHUNKS = "chunks";
export const OUTBOX = "outbox";
export const TUS = "tus";

let opening: Promise<IDBDatabase> | null = null;

export function db(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      const database = request.result;
      // Chunks keyed [recordingId, seq]: ordered, and one recording is one key range.
      database.createObjectStore(CHUNKS);
      database.createObjectStore(OUTBOX, { keyPath: "id" });
      database.createObjectStore(TUS);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function put(store: string, value: unknown, key?: IDBValidKey): Promise<void> {
  const tx = (await db()).transaction(store, "readwrite");
  await done(tx.objectStore(store).put(value, key));
}

export async function get<T>(store: string, key: IDBValidKey): Promise<T | undefined> {
  const tx = (await db()).transaction(store, "readonly");
  return (await done(tx.objectStore(store).get(key))) as T | undefined;
}

export async function del(store: string, key: IDBValidKey | IDBKeyRange): Promise<void> {
  const tx = (await db()).transaction(store, "readwrite");
  await done(tx.objectStore(store).delete(key));
}

export async function all<T>(store: string, range?: IDBKeyRange): Promise<T[]> {
  const tx = (await db()).transaction(store, "readonly");
  return (await done(tx.objectStore(store).getAll(range))) as T[];
}

export async function entries<T>(store: string): Promise<[IDBValidKey, T][]> {
  const tx = (await db()).transaction(store, "readonly");
  const os = tx.objectStore(store);
  const [keys, values] = await Promise.all([done(os.getAllKeys()), done(os.getAll())]);
  return keys.map((k, i) => [k, values[i] as T]);
}

export function recordingRange(recordingId: string): IDBKeyRange {
  return IDBKeyRange.bound([recordingId, 0], [recordingId, Number.MAX_SAFE_INTEGER]);
}
