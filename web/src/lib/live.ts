/**
 * Live updates: the signed-in person's server-sent events stream
 * (GET /api/v1/events), read with fetch so the access token travels in a
 * header, never in a URL.
 *
 * Events carry ids and kinds only; a screen that hears one fetches what it may
 * see through the typed client. The stream reconnects on its own (after a
 * dropped network, a server restart, or its regular end at the token's
 * expiry) with `Last-Event-ID`, so nothing is missed; ids already seen are
 * dropped, since a resume may repeat a few.
 */
import { useEffect, useRef } from "preact/hooks";
import { freshAuthHeaders, accessToken } from "./session";

export interface LiveEvent {
  id: number | null;
  kind: string;
  data: Record<string, string>;
}

type Listener = (event: LiveEvent) => void;

const listeners = new Set<Listener>();
const seen = new Set<number>();
const seenOrder: number[] = [];
let lastId: string | null = null;
let controller: AbortController | null = null;
let users = 0;
let retryMs = 2000;
// "idle": no screen listens, so no stream is wanted (nothing is wrong, nothing to show).
let status: "idle" | "closed" | "connecting" | "open" = "idle";
const statusListeners = new Set<(s: typeof status) => void>();

function setStatus(next: typeof status): void {
  status = next;
  statusListeners.forEach((l) => l(next));
}

export function liveStatus(): typeof status {
  return status;
}

function remember(id: number): boolean {
  if (seen.has(id)) return false;
  seen.add(id);
  seenOrder.push(id);
  if (seenOrder.length > 2000) seen.delete(seenOrder.shift()!);
  return true;
}

function dispatch(event: LiveEvent): void {
  if (event.id !== null) {
    lastId = String(event.id);
    if (!event.kind.startsWith("stream.") && !remember(event.id)) return;
  }
  listeners.forEach((l) => l(event));
}

/** Parses one SSE block ("id: ..", "data: .."); comments and retry lines are handled here. */
function parseBlock(block: string): LiveEvent | null {
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("data: ")) data.push(line.slice(6));
    else if (line.startsWith("retry: ")) retryMs = Number(line.slice(7)) || retryMs;
  }
  if (!data.length) return null;
  try {
    return JSON.parse(data.join("\n")) as LiveEvent;
  } catch {
    return null;
  }
}

async function readOnce(signal: AbortSignal): Promise<"again" | "stop"> {
  const headers: Record<string, string> = { ...(await freshAuthHeaders()), Accept: "text/event-stream" };
  if (lastId !== null) headers["Last-Event-ID"] = lastId;
  setStatus("connecting");
  const response = await fetch("/api/v1/events", { headers, signal, cache: "no-store" });
  if (response.status === 401) return accessToken() ? "again" : "stop";
  if (!response.ok || !response.body) return "again";
  setStatus("open");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return "again";
    buffer += value.replace(/\r\n/g, "\n");
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = parseBlock(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (!event) continue;
      if (event.kind === "stream.end" && event.data.reason === "signed-out") return "stop";
      dispatch(event);
    }
  }
}

async function run(signal: AbortSignal): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let outcome: "again" | "stop";
    try {
      outcome = await readOnce(signal);
      failures = 0;
    } catch {
      if (signal.aborted) break;
      outcome = "again";
      failures += 1;
    }
    setStatus("closed");
    if (outcome === "stop" || signal.aborted) break;
    // A regular end reconnects at once; a failure backs off a little, up to 10 s.
    const wait = failures ? Math.min(10_000, retryMs * failures) : 50;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

function start(): void {
  if (controller) return;
  controller = new AbortController();
  void run(controller.signal).finally(() => {
    controller = null;
  });
}

function stop(): void {
  controller?.abort();
  controller = null;
  setStatus("idle");
}

/** Calls `onEvent` for each live event whose kind starts with one of `prefixes` while mounted. */
export function useLive(prefixes: string[], onEvent: Listener): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = prefixes.join(",");
  useEffect(() => {
    const listener: Listener = (event) => {
      // A reset means "too long away to resume": every screen fetches afresh.
      const reset = event.kind === "stream.reset";
      if (reset || prefixes.some((p) => event.kind.startsWith(p))) handler.current(event);
    };
    listeners.add(listener);
    users += 1;
    start();
    return () => {
      listeners.delete(listener);
      users -= 1;
      if (users === 0) stop();
    };
  }, [key]);
}

export function onLiveStatus(listener: (s: typeof status) => void): () => void {
  statusListeners.add(listener);
  return () => statusListeners.delete(listener);
}
