/** The console's frame: the page, links to the areas the person may use, live status, sign-out. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { t } from "../lib/i18n";
import { liveStatus, onLiveStatus } from "../lib/live";
import { Link, navigate } from "../lib/router";
import { signOut, useSession } from "../lib/session";
import { Page, Spinner } from "../lib/ui";

const AREAS: Record<string, [string, Parameters<typeof t>[0]][]> = {
  psychologist: [
    ["/console/help", "console.nav.queue"],
    ["/console/supervisor", "console.nav.supervisor"],
    ["/console/profile", "console.nav.profile"],
  ],
  staff: [["/console/school", "console.nav.school"]],
  moderator: [["/console/moderation", "console.nav.moderation"]],
  admin: [
    ["/console/admin", "console.nav.impact"],
    ["/console/admin/schools", "console.nav.schools"],
    ["/console/admin/people", "console.nav.people"],
    ["/console/admin/jobs", "console.nav.jobs"],
    ["/console/moderation", "console.nav.moderation"],
    ["/console/school", "console.nav.school"],
  ],
};

/** The area the page belongs to: the longest link its path starts with ("/console/admin/jobs", not "/console/admin"). */
function currentArea(links: string[], path: string): string | undefined {
  return links
    .filter((href) => path === href || path.startsWith(`${href}/`))
    .sort((a, b) => b.length - a.length)[0];
}

function LiveDot() {
  const [status, setStatus] = useState(liveStatus());
  useEffect(() => onLiveStatus(setStatus), []);
  // A screen without live updates opens no stream: saying "offline" there would alarm for nothing.
  if (status === "idle") return null;
  return (
    <span class={`live live-${status}`} data-testid="live-status" data-status={status} role="status">
      {t(`console.live.${status}` as "console.live.open")}
    </span>
  );
}

export function Shell(props: { title: string; roles: string[]; children: ComponentChildren; back?: string }) {
  const user = useSession();
  useEffect(() => {
    if (!user) navigate(`/console/signin`, true);
  }, [user?.id]);
  if (!user) return <Spinner label={t("loading")} />;
  if (!props.roles.includes(user.role)) {
    return (
      <Page title={props.title}>
        <p class="error" role="alert">{t("console.notForYou")}</p>
      </Page>
    );
  }
  return (
    <Page
      title={props.title}
      back={props.back}
      wide
      actions={
        <>
          <LiveDot />
          <button type="button" class="link" onClick={() => signOut()}>{t("console.signout")}</button>
        </>
      }
    >
      <nav class="tabs" aria-label={t("console.nav.label")}>
        {(AREAS[user.role] ?? []).map(([href, key], _, all) => (
          <Link
            key={href}
            href={href}
            class={currentArea(all.map(([h]) => h), location.pathname) === href ? "tab current" : "tab"}
          >
            {t(key)}
          </Link>
        ))}
      </nav>
      {props.children}
    </Page>
  );
}

/** Seconds left until `iso`, ticking every second. */
export function useCountdown(iso: string): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return Math.max(0, Math.round((new Date(iso).getTime() - now) / 1000));
}
