/**
 * The outbox: every message a parent (or child) sends, from the moment the
 * recording starts until the server says it is playable, kept in IndexedDB so
 * it survives reloads, crashes and a phone that was switched off.
 *
 * Uploads go through tus-js-client. The outbox item's id is the tus
 * fingerprint (the upload URL is stored in IndexedDB under it) and the
 * Idempotency-Key of the creating POST, so a retried creation whose answer
 * was lost returns the same upload, and a reload resumes the same upload from
 * the server's offset: a message is never sent twice. No UI here.
 */
import * as tus from "tus-js-client";
import { api } from "./api/client";
import { CHUNKS, OUTBOX, TUS, all, del, entries, get, put, recordingRange } from "./idb";
import { recordedBlob } from "./recorder";
import { currentUser, freshAuthHeaders } from "./session";

export type OutboxState =
  | "recording"
  | "interrupted"
  | "waiting"
  | "uploading"
  | "processing"
  | "ready"
  | "failed";

export interface OutboxItem {
  id: string;
  /** Who recorded it: on a shared tablet each child sees and sends only their own. */
  owner: string;
  purpose: "message" | "help_request" | "help_message" | "story_chapter";
  /** thread_id for a message, request_id for a help request, the case's id for a reply, story_id for a chapter */
  target: string;
  /** More upload metadata (a chapter's title and release time on the school's clock). */
  meta?: Record<string, string>;
  label: string;
  caption?: string;
  source: "recording" | "file";
  mime: string;
  size: number;
  durationMs?: number;
  fileName?: string;
  file?: Blob;
  state: OutboxState;
  percent: number;
  error?: string;
  assetId?: string;
  createdAt: string;
}

const listeners = new Set<() => void>();
const running = new Map<string, tus.Upload>();
let items: OutboxItem[] = [];
let loaded: Promise<void> | null = null;
let pollTimer = 0;

function changed(): void {
  listeners.forEach((l) => l());
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function outboxItems(): OutboxItem[] {
  const me = currentUser()?.id;
  return items.filter((i) => i.owner === me);
}

async function save(item: OutboxItem): Promise<void> {
  items = items.some((i) => i.id === item.id)
    ? items.map((i) => (i.id === item.id ? item : i))
    : [...items, item];
  changed();
  await put(OUTBOX, item);
}

export function load(): Promise<void> {
  loaded ??= (async () => {
    const stored = await all<OutboxItem>(OUTBOX);
    const dayAgo = Date.now() - 86_400_000;
    items = [];
    for (const item of stored) {
      if (item.state === "ready" && Date.parse(item.createdAt) < dayAgo) {
        await del(OUTBOX, item.id);
        continue;
      }
      // A recording still "recording" after a reload was cut off by a crash or a closed tab.
      if (item.state === "recording") item.state = "interrupted";
      if (item.state === "uploading") item.state = "waiting";
      items.push(item);
    }
    items.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    changed();
    window.addEventListener("online", () => resumeAll());
    resumeAll();
  })();
  return loaded;
}

/** The recorder calls this before the first chunk, so a crash leaves an item to rescue. */
export async function beginRecording(
  item: Omit<OutboxItem, "state" | "percent" | "createdAt" | "owner">,
) {
  await load();
  const owner = currentUser()?.id ?? "";
  await save({ ...item, owner, state: "recording", percent: 0, createdAt: new Date().toISOString() });
}

export async function finishRecording(id: string, durationMs: number, size: number, mime: string) {
  const item = items.find((i) => i.id === id);
  if (!item) return;
  await save({ ...item, durationMs, size, mime, state: "waiting" });
  resumeAll();
}

export async function addFile(
  item: Omit<OutboxItem, "state" | "percent" | "createdAt" | "source" | "size" | "mime" | "owner">,
  file: File,
) {
  await load();
  await save({
    ...item,
    owner: currentUser()?.id ?? "",
    source: "file",
    file,
    fileName: file.name,
    size: file.size,
    mime: file.type || "application/octet-stream",
    state: "waiting",
    percent: 0,
    createdAt: new Date().toISOString(),
  });
  resumeAll();
}

export async function discard(id: string): Promise<void> {
  running.get(id)?.abort(true).catch(() => undefined);
  running.delete(id);
  items = items.filter((i) => i.id !== id);
  changed();
  await del(OUTBOX, id);
  await del(CHUNKS, recordingRange(id));
}

export async function retry(id: string): Promise<void> {
  const item = items.find((i) => i.id === id);
  if (!item) return;
  await save({ ...item, state: "waiting", error: undefined });
  resumeAll();
}

/** Sends a recording cut off by a crash: what reached IndexedDB is kept. */
export async function rescue(id: string): Promise<void> {
  const item = items.find((i) => i.id === id);
  if (!item) return;
  const blob = await recordedBlob(id, item.mime);
  await save({ ...item, size: blob.size, state: blob.size ? "waiting" : "failed" });
  resumeAll();
}

export function resumeAll(): void {
  for (const item of outboxItems()) {
    if (item.state === "waiting" && !running.has(item.id)) void start(item);
  }
  schedulePoll();
}

function chunkSize(): number {
  // Small requests lose little on a dropped mobile connection; tests make them smaller.
  const configured = Number(localStorage.getItem("vb.chunkSize"));
  return configured > 0 ? configured : 256 * 1024;
}

const storage: tus.UrlStorage = {
  async findAllUploads() {
    return (await entries<tus.PreviousUpload>(TUS)).map(([, v]) => v);
  },
  async findUploadsByFingerprint(fingerprint) {
    const found = await get<tus.PreviousUpload>(TUS, fingerprint);
    return found ? [found] : [];
  },
  async removeUpload(key) {
    await del(TUS, key);
  },
  async addUpload(fingerprint, upload) {
    await put(TUS, { ...upload, urlStorageKey: fingerprint }, fingerprint);
    return fingerprint;
  },
};

function reason(error: unknown): { retryable: boolean; text: string } {
  const detailed = error as tus.DetailedError;
  const response = detailed?.originalResponse;
  if (!response) return { retryable: true, text: "network" };
  const status = response.getStatus();
  let text = `HTTP ${status}`;
  try {
    const body = JSON.parse(response.getBody()) as { detail?: string };
    if (body.detail) text = body.detail;
  } catch {
    /* not problem+json */
  }
  const retryable = status >= 500 || status === 401 || status === 408 || status === 429 || status === 423;
  return { retryable, text };
}

async function start(initial: OutboxItem): Promise<void> {
  const body = initial.file ?? (await recordedBlob(initial.id, initial.mime));
  if (!navigator.onLine) return; // "waiting for network" until the online event
  let item: OutboxItem = { ...initial, state: "uploading", error: undefined };
  await save(item);
  let lastSaved = -1;
  const metadata: Record<string, string> = {
    purpose: item.purpose,
    filetype: body.type || item.mime,
    filename: item.fileName ?? `${item.id}.${(body.type || item.mime).includes("mp4") ? "m4a" : "webm"}`,
  };
  if (item.purpose === "message") metadata.thread_id = item.target;
  else if (item.purpose === "help_message") metadata.case_id = item.target;
  else if (item.purpose === "story_chapter") metadata.story_id = item.target;
  else metadata.request_id = item.target;
  if (item.caption) metadata.caption = item.caption;
  Object.assign(metadata, item.meta ?? {});
  const upload = new tus.Upload(body, {
    endpoint: "/api/v1/uploads",
    chunkSize: chunkSize(),
    retryDelays: [0, 1000, 3000, 6000],
    metadata,
    fingerprint: async () => item.id,
    urlStorage: storage,
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    async onBeforeRequest(request) {
      for (const [name, value] of Object.entries(await freshAuthHeaders())) {
        request.setHeader(name, value);
      }
      if (request.getMethod() === "POST") request.setHeader("Idempotency-Key", item.id);
    },
    onAfterResponse(_request, response) {
      const assetId = response.getHeader("Asset-Id");
      if (assetId && assetId !== item.assetId) item = { ...item, assetId };
    },
    onProgress(sent, total) {
      const percent = total ? Math.floor((sent / total) * 100) : 0;
      item = { ...item, percent };
      if (percent - lastSaved >= 5) {
        lastSaved = percent;
        void save(item);
      } else {
        items = items.map((i) => (i.id === item.id ? item : i));
        changed();
      }
    },
    onSuccess() {
      running.delete(item.id);
      item = { ...item, percent: 100, state: "processing" };
      void save(item).then(() => del(CHUNKS, recordingRange(item.id)));
      schedulePoll();
    },
    onError(error) {
      running.delete(item.id);
      const { retryable, text } = reason(error);
      item = retryable ? { ...item, state: "waiting" } : { ...item, state: "failed", error: text };
      void save(item);
      if (retryable && navigator.onLine) window.setTimeout(resumeAll, 5000);
    },
  });
  running.set(item.id, upload);
  const previous = await upload.findPreviousUploads();
  if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
  upload.start();
}

function schedulePoll(): void {
  if (pollTimer || !items.some((i) => i.state === "processing")) return;
  pollTimer = window.setTimeout(async () => {
    pollTimer = 0;
    await poll().catch(() => undefined);
    schedulePoll();
  }, 2000);
}

/** Processing ends when the server's message (matched by asset id) is ready or failed. */
async function poll(): Promise<void> {
  const waiting = items.filter((i) => i.state === "processing" && i.purpose === "message");
  for (const target of new Set(waiting.map((i) => i.target))) {
    const { data } = await api.GET("/api/v1/threads/{thread_id}/messages", {
      params: { path: { thread_id: target }, query: { limit: 50 } },
    });
    for (const message of data?.items ?? []) {
      const item = items.find((i) => i.assetId && i.assetId === message.asset_id);
      if (!item || item.state !== "processing") continue;
      if (message.state === "ready") await save({ ...item, state: "ready", file: undefined });
      if (message.state === "failed")
        await save({ ...item, state: "failed", error: message.failure_detail ?? message.failure_type ?? "" });
    }
  }
  const chapters = items.filter((i) => i.state === "processing" && i.purpose === "story_chapter");
  for (const story of new Set(chapters.map((i) => i.target))) {
    const { data } = await api.GET("/api/v1/stories/{story_id}/chapters", {
      params: { path: { story_id: story } },
    });
    for (const chapter of data?.chapters ?? []) {
      const item = items.find((i) => i.assetId && i.assetId === chapter.asset_id);
      if (!item || item.state !== "processing") continue;
      if (chapter.state === "ready") await save({ ...item, state: "ready", file: undefined });
      if (chapter.state === "failed") await save({ ...item, state: "failed", error: "" });
    }
  }
  for (const item of items.filter(
    (i) => i.state === "processing" && i.purpose !== "message" && i.purpose !== "story_chapter",
  )) {
    await save({ ...item, state: "ready", file: undefined });
  }
}
