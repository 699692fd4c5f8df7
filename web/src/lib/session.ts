/**
 * Who is signed in, and the tokens that say so.
 *
 * A parent's refresh token is kept in localStorage so the phone stays signed
 * in; the access token lives only in memory and is refreshed shortly before
 * it expires, or once after a 401, behind a single in-flight promise (several
 * requests failing together refresh once). A child's tokens are never
 * persisted: the tablet is shared, and a reload signs the child out. The
 * school device's credential is kept on the device (it is what makes the
 * tablet a kiosk).
 */
import { useEffect, useState } from "preact/hooks";

export interface Tokens {
  access_token: string;
  access_expires_at: string;
  refresh_token: string;
  refresh_expires_at: string;
  user: { id: string; role: string; display_name: string; login?: string | null };
}

export type Kind = "user" | "child";
interface State {
  kind: Kind;
  tokens: Tokens;
}

const SESSION_KEY = "vb.session";
const DEVICE_KEY = "vb.device";
const listeners = new Set<() => void>();
let state: State | null = load();
let refreshing: Promise<boolean> | null = null;

function load(): State | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    return raw ? { kind: "user", tokens: JSON.parse(raw) as Tokens } : null;
  } catch {
    return null;
  }
}

function changed(): void {
  listeners.forEach((l) => l());
}

export function signIn(kind: Kind, tokens: Tokens): void {
  state = { kind, tokens };
  if (kind === "user") localStorage.setItem(SESSION_KEY, JSON.stringify(tokens));
  changed();
}

export function signOut(): void {
  const was = state;
  state = null;
  localStorage.removeItem(SESSION_KEY);
  if (was) {
    // Best effort: the server revokes the session; the device forgets it either way.
    void fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${was.tokens.access_token}` },
    }).catch(() => undefined);
  }
  changed();
}

export function currentUser(): Tokens["user"] | null {
  return state?.tokens.user ?? null;
}

export function sessionKind(): Kind | null {
  return state?.kind ?? null;
}

export function useSession(): Tokens["user"] | null {
  const [user, setUser] = useState(currentUser());
  useEffect(() => {
    const update = () => setUser(currentUser());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return user;
}

export function deviceToken(): string | null {
  return localStorage.getItem(DEVICE_KEY);
}

export function setDeviceToken(token: string | null): void {
  if (token) localStorage.setItem(DEVICE_KEY, token);
  else localStorage.removeItem(DEVICE_KEY);
  changed();
}

export function accessToken(): string | null {
  return state?.tokens.access_token ?? null;
}

async function refresh(): Promise<boolean> {
  const current = state;
  if (!current) return false;
  const response = await fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: current.tokens.refresh_token }),
  }).catch(() => null);
  if (!response) return false; // offline: keep the session, try again later
  if (!response.ok) {
    if (state === current) signOut();
    return false;
  }
  const tokens = (await response.json()) as Tokens;
  if (state === current) signIn(current.kind, tokens);
  return true;
}

function refreshOnce(): Promise<boolean> {
  refreshing ??= refresh().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function expiresSoon(): boolean {
  if (!state) return false;
  return new Date(state.tokens.access_expires_at).getTime() - Date.now() < 30_000;
}

/** Adds the access token (and the device credential) and refreshes when needed. */
export async function authorizedFetch(input: Request, init?: RequestInit): Promise<Response> {
  const retry = input.clone();
  if (expiresSoon()) await refreshOnce();
  const response = await fetch(sign(input), init);
  if (response.status !== 401 || !state || input.url.endsWith("/auth/refresh")) return response;
  const used = input.headers.get("Authorization");
  if (used === `Bearer ${state.tokens.access_token}` && !(await refreshOnce())) return response;
  return fetch(sign(retry), init);
}

export function authHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const token = accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const device = deviceToken();
  if (device) headers["X-Device-Token"] = device;
  return headers;
}

function sign(request: Request): Request {
  for (const [name, value] of Object.entries(authHeaders())) {
    if (!request.headers.has(name)) request.headers.set(name, value);
  }
  return request;
}

/** Fresh headers for code that cannot go through the typed client (tus, audio). */
export async function freshAuthHeaders(): Promise<Record<string, string>> {
  if (expiresSoon()) await refreshOnce();
  return authHeaders();
}

export { refreshOnce };
