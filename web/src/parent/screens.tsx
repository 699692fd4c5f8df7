/** The parent's account screens: sign in, register, join a child with a code, the home list. */
import { useEffect, useState } from "preact/hooks";
import { ApiError, type Schemas, api, call } from "../lib/api/client";
import { formatTime, t } from "../lib/i18n";
import { Link, navigate } from "../lib/router";
import { signOut, useSession } from "../lib/session";
import { explain } from "./account";
import { ErrorNote, Page, Spinner } from "../lib/ui";
import { Gate } from "./Gate";
import { Outbox } from "./Outbox";

export const NOTICE_VERSION = "2026-09";
export const RETENTION_DAYS = 365;
const PURPOSES = ["voice_messages", "stories", "school_contact", "help_requests"] as const;

function JoinForm() {
  // The printed slip's QR code opens /parent/join?code=...
  const [code, setCode] = useState(new URLSearchParams(location.search).get("code") ?? "");
  const [agreed, setAgreed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const link = await call(
        api.POST("/api/v1/invitations/redeem", {
          body: {
            code: code.trim(),
            consent: { notice_version: NOTICE_VERSION, purposes: [...PURPOSES], retention_days: RETENTION_DAYS, agreed },
          },
        }),
      );
      navigate(`/parent/child/${link.child_id}`, true);
    } catch (e) {
      setError(e instanceof ApiError && (e.status === 404 || e.status === 422) ? t("join.badCode") : explain(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit}>
      <label for="code">{t("join.code")}</label>
      <input id="code" autoComplete="one-time-code" required minLength={6} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
      <section class="card" aria-labelledby="notice-title">
        <h2 id="notice-title">{t("consent.title")}</h2>
        <p>{t("consent.intro")}</p>
        <ul>
          {PURPOSES.map((p) => (
            <li key={p}>{t(`consent.purpose.${p}` as "consent.purpose.voice_messages")}</li>
          ))}
        </ul>
        <p>{t("consent.retention", { days: RETENTION_DAYS })}</p>
        <p>{t("consent.withdraw")}</p>
        <p class="muted">{t("consent.version", { version: NOTICE_VERSION })}</p>
        <label class="row">
          <input type="checkbox" style={{ width: "auto" }} checked={agreed} onChange={(e) => setAgreed(e.currentTarget.checked)} />
          {t("consent.agree")}
        </label>
      </section>
      <ErrorNote error={error} />
      <button type="submit" disabled={busy || !agreed}>{t("join.submit")}</button>
    </form>
  );
}

export function Join() {
  return (
    <Gate>
      <Page title={t("join.title")} back="/parent">
        <p class="lead">{t("join.lead")}</p>
        <JoinForm />
      </Page>
    </Gate>
  );
}

function Children() {
  const [children, setChildren] = useState<Schemas["LinkedChild"][] | null>(null);
  const [threads, setThreads] = useState<Schemas["ThreadPublic"][]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call(api.GET("/api/v1/me/children")).then(setChildren, (e) => setError(explain(e)));
    call(api.GET("/api/v1/threads", { params: { query: { limit: 50 } } })).then((page) => setThreads(page.items), () => undefined);
  }, []);
  if (error) return <ErrorNote error={error} />;
  if (!children) return <Spinner label={t("loading")} />;
  if (children.length === 0) {
    return (
      <div class="card">
        <p>{t("home.noChildren")}</p>
        <Link class="button" href="/parent/join">{t("join.title")}</Link>
      </div>
    );
  }
  return (
    <ul class="list" aria-label={t("home.children")}>
      {children.map((child) => {
        const thread = threads.find((th) => th.child_id === child.child_id && th.kind === "family");
        const quiet = !thread?.last_message_at || Date.now() - Date.parse(thread.last_message_at) > 7 * 86_400_000;
        return (
          <li key={child.link_id}>
            <Link class="card row spread" href={`/parent/child/${child.child_id}`} style={{ textDecoration: "none", color: "inherit" }}>
              <span>
                <strong>{child.given_name}</strong> <span class="muted">{child.school_name}</span>
                {thread?.last_message_at ? <span class="muted"> · {formatTime(thread.last_message_at)}</span> : null}
                {quiet ? <span class="muted"> · {t("home.quiet")}</span> : null}
              </span>
              {thread && thread.unread > 0 ? <span class="dot" aria-label={t("home.unread", { n: thread.unread })}>{thread.unread}</span> : null}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

export function Home() {
  const user = useSession();
  return (
    <Gate>
      <Page
        title={t("home.title")}
        actions={
          <button type="button" class="link" onClick={() => { signOut(); navigate("/", true); }}>
            {t("signout")}
          </button>
        }
      >
        <p class="lead">{t("home.hello", { name: user?.display_name ?? "" })}</p>
        <Children />
        <p>
          <Link href="/parent/join">{t("home.addChild")}</Link>
        </p>
        <Outbox />
      </Page>
    </Gate>
  );
}
