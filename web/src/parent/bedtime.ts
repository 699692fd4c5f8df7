/**
 * The school's clock, for scheduling a chapter at the child's bedtime. Times
 * are chosen and shown in the school's time zone (the parent may be three
 * time zones away on a building site); the server converts them to UTC.
 */
import type { Schemas } from "../lib/api/client";
import { lang } from "../lib/i18n";

type Window = Schemas["ListeningWindow"];

/** Without listening hours a school's children go to bed around eight. */
export const DEFAULT_BEDTIME = "20:00";

/** The date ("2026-12-01") and time ("20:30") it is now at the school. */
export function schoolNow(timeZone: string, at: Date = new Date()): { date: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

function addDays(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Bedtime on a date: the start of that evening's (last) listening hour, else 20:00. */
export function bedtimeOn(date: string, hours: Window[]): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // Monday is 0
  const starts = hours.filter((w) => w.weekday === weekday).map((w) => w.start).sort();
  return starts.length ? starts[starts.length - 1]! : DEFAULT_BEDTIME;
}

/** Tonight's bedtime at the school, or tomorrow's when tonight's has passed. */
export function nextBedtime(timeZone: string, hours: Window[]): { date: string; time: string } {
  const now = schoolNow(timeZone);
  const tonight = bedtimeOn(now.date, hours);
  if (tonight > now.time) return { date: now.date, time: tonight };
  const tomorrow = addDays(now.date, 1);
  return { date: tomorrow, time: bedtimeOn(tomorrow, hours) };
}

/** A UTC instant as the school's local date and time, for the form's fields. */
export function toSchoolFields(iso: string, timeZone: string): { date: string; time: string } {
  return schoolNow(timeZone, new Date(iso));
}

/** A UTC instant shown on the school's clock, in the app's language. */
export function formatSchoolTime(iso: string, timeZone: string): string {
  return new Date(iso).toLocaleString(lang(), {
    timeZone,
    month: "short",
    day: "numeric",
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}
