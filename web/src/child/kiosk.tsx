/**
 * The kiosk's frame: a child's session lives only in memory and ends after
 * a while without a touch (or when the next child signs in); the help button
 * is always there once a child is signed in.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, call, type Schemas } from "../lib/api/client";
import { formatTime, t } from "../lib/i18n";
import { Link, navigate } from "../lib/router";
import { deviceToken, sessionKind, signOut, useSession } from "../lib/session";
import { Page } from "../lib/ui";

export const IDLE_MS = Number(localStorage.getItem("vb.kioskIdleMs")) || 90_000;

const COLOURS = ["#b5442f", "#2f6f5e", "#5b3fa0", "#8a5a00", "#1d5f8a", "#9c2f6b", "#3f6b1f"];

export function Face(props: { seed: string; text: string }) {
  let hash = 0;
  for (const ch of props.seed) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return (
    <span class="face" aria-hidden="true" style={{ background: COLOURS[hash % COLOURS.length] }}>
      {props.text.slice(0, 1)}
    </span>
  );
}

function useIdleSignOut(active: boolean): void {
  useEffect(() => {
    if (!active) return;
    let timer = 0;
    const reset = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        signOut();
        navigate("/kiosk", true);
      }, IDLE_MS);
    };
    const events = ["pointerdown", "keydown", "touchstart"];
    events.forEach((e) => window.addEventListener(e, reset, { passive: true }));
    reset();
    return () => {
      window.clearTimeout(timer);
      events.forEach((e) => window.removeEventListener(e, reset));
    };
  }, [active]);
}

export function useListening(): Schemas["ListeningHoursStatus"] | null {
  const [status, setStatus] = useState<Schemas["ListeningHoursStatus"] | null>(null);
  useEffect(() => {
    // A tablet not set up yet has no device credential: asking would only earn a 401.
    const load = () =>
      deviceToken() ? call(api.GET("/api/v1/device/listening-hours")).then(setStatus, () => undefined) : undefined;
    void load();
    const timer = window.setInterval(load, 60_000);
    return () => window.clearInterval(timer);
  }, []);
  return status;
}

export function ListeningNote(props: { status: Schemas["ListeningHoursStatus"] | null }) {
  const s = props.status;
  if (!s) return null;
  if (s.open) return s.ends_at ? <p class="muted">{t("kiosk.openUntil", { when: formatTime(s.ends_at) })}</p> : null;
  return (
    <div class="card closed" role="status" data-testid="closed">
      <p class="big-emoji" aria-hidden="true">🌙</p>
      <p>{t("kiosk.closed")}</p>
      {s.next_start ? <p>{t("kiosk.next", { when: formatTime(s.next_start) })}</p> : null}
    </div>
  );
}

/** A child's screen: needs the device and a signed-in child, signs out when idle. */
export function ChildFrame(props: { title: string; back?: string; children: ComponentChildren; help?: boolean }) {
  const user = useSession();
  const ok = user !== null && sessionKind() === "child" && deviceToken() !== null;
  useIdleSignOut(ok);
  useEffect(() => {
    if (!ok) navigate("/kiosk", true);
  }, [ok]);
  if (!ok) return null;
  return (
    <div class="kiosk">
      <Page
        title={props.title}
        back={props.back}
        wide
        actions={
          <button type="button" class="secondary" data-testid="done" onClick={() => { signOut(); navigate("/kiosk", true); }}>
            👋 {t("kiosk.done")}
          </button>
        }
      >
        {props.children}
        {props.help === false ? null : (
          <Link class="button help-button" href="/kiosk/help" data-testid="help">
            💬 {t("help.button")}
          </Link>
        )}
      </Page>
    </div>
  );
}
