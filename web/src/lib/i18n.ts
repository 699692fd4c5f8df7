/**
 * Message catalogues: Chinese (Simplified) first, English too. Every visible
 * string goes through `t`; a missing key shows the key itself, which the
 * catalogue test catches before a user does.
 */
import { useEffect, useState } from "preact/hooks";
import en from "./i18n/en.json";
import zh from "./i18n/zh-CN.json";

export type Lang = "zh-CN" | "en";
export type MessageKey = keyof typeof zh;
const catalogues: Record<Lang, Record<string, string>> = { "zh-CN": zh, en };
const KEY = "vb.lang";
const listeners = new Set<() => void>();

function initial(): Lang {
  const saved = localStorage.getItem(KEY);
  return saved === "en" || saved === "zh-CN" ? saved : "zh-CN";
}

let current: Lang = initial();
document.documentElement.lang = current;

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next;
  listeners.forEach((l) => l());
}

export function t(key: MessageKey, params?: Record<string, string | number>): string {
  let text = catalogues[current][key] ?? zh[key] ?? key;
  if (params) {
    for (const [name, value] of Object.entries(params)) {
      text = text.split(`{${name}}`).join(String(value));
    }
  }
  return text;
}

/** A string in a given language whatever the app's (the invitation slip is always Chinese). */
export function tIn(language: Lang, key: MessageKey, params?: Record<string, string | number>): string {
  const saved = current;
  current = language;
  try {
    return t(key, params);
  } finally {
    current = saved;
  }
}

/** Re-renders the calling component when the language changes. */
export function useLang(): Lang {
  const [value, setValue] = useState(current);
  useEffect(() => {
    const update = () => setValue(current);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return value;
}

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleString(current, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}
