/**
 * The psychologist's console: the on-duty switch, the offer queue in the
 * server's order with a countdown, an alarm for a critical offer, and the
 * cases in hand. Live events only say "something changed"; the lists are
 * fetched through the API.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { askForNotifications, canAskForNotifications, notifyBrowser, playAlarm } from "../../lib/alert";
import { formatTime, t } from "../../lib/i18n";
import { useLive } from "../../lib/live";
import { Link, navigate } from "../../lib/router";
import { ErrorNote } from "../../lib/ui";
import { Shell, useCountdown } from "../Shell";

type QueueItem = Schemas["QueueItem"];
type RequestPublic = Schemas["RequestPublic"];
type Profile = Schemas["ProfilePublic"];

export function urgencyLabel(urgency: string): string {
  return t(`console.urgency.${urgency}` as "console.urgency.critical");
}

/** An offer heard on the live stream, shown at once while its details are fetched. */
interface Heard {
  offer_id: string;
  request_id: string;
  urgency: string;
}

function HeardOffer(props: { heard: Heard }) {
  const { heard } = props;
  const [error, setError] = useState<string | null>(null);
  async function accept() {
    try {
      await call(api.POST("/api/v1/help/requests/{request_id}/accept", { params: { path: { request_id: heard.request_id } } }));
      navigate(`/console/case/${heard.request_id}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <li class={`card offer urgency-${heard.urgency}`} data-testid="offer" data-urgency={heard.urgency} data-request={heard.request_id}>
      <strong class={`badge badge-${heard.urgency}`}>{urgencyLabel(heard.urgency)}</strong> <span class="muted">{t("loading")}</span>
      <div class="row">
        <button type="button" data-testid="accept" onClick={() => void accept()}>{t("console.accept")}</button>
      </div>
      <ErrorNote error={error} />
    </li>
  );
}

function Offer(props: { item: QueueItem; onDone: () => void }) {
  const { item } = props;
  const left = useCountdown(item.expires_at);
  const [error, setError] = useState<string | null>(null);
  const request = item.request;
  async function accept() {
    try {
      await call(api.POST("/api/v1/help/requests/{request_id}/accept", { params: { path: { request_id: request.id } } }));
      navigate(`/console/case/${request.id}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
      props.onDone();
    }
  }
  async function decline() {
    await call(api.POST("/api/v1/help/requests/{request_id}/decline", { params: { path: { request_id: request.id } } })).catch(() => undefined);
    props.onDone();
  }
  return (
    <li class={`card offer urgency-${request.urgency}`} data-testid="offer" data-urgency={request.urgency} data-request={request.id}>
      <div class="row spread">
        <strong class={`badge badge-${request.urgency}`}>{urgencyLabel(request.urgency)}</strong>
        <span class="muted" role="timer" aria-label={t("console.offer.expires")}>
          {t("console.offer.left", { minutes: Math.floor(left / 60), seconds: String(left % 60).padStart(2, "0") })}
        </span>
      </div>
      <p>
        {request.child_name ?? t("console.child")}
        {request.child_age ? ` · ${t("console.age", { age: request.child_age })}` : ""}
        {" · "}
        {t(`help.category.${request.category}` as "help.category.other")}
        {" · "}
        {formatTime(request.created_at)}
      </p>
      {request.not_safe ? <p class="error">{t("console.notSafe")}</p> : null}
      <div class="row">
        <button type="button" data-testid="accept" onClick={() => void accept()}>{t("console.accept")}</button>
        <button type="button" class="secondary" data-testid="decline" onClick={() => void decline()}>{t("console.decline")}</button>
      </div>
      <ErrorNote error={error} />
    </li>
  );
}

function DutySwitch(props: { profile: Profile; onChange: (p: Profile) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      props.onChange(await call(api.PUT("/api/v1/psychologists/me/duty", { body: { on_duty: !props.profile.on_duty } })));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="card row spread">
      <label class="switch" for="duty">
        <input id="duty" type="checkbox" role="switch" data-testid="duty" checked={props.profile.on_duty} disabled={busy} onChange={() => void toggle()} />
        {props.profile.on_duty ? t("console.duty.on") : t("console.duty.off")}
      </label>
      <span class="muted">{t("console.capacity", { open: props.profile.open_cases, capacity: props.profile.capacity })}</span>
      <ErrorNote error={error} />
    </div>
  );
}

export function Queue() {
  const [profile, setProfile] = useState<Profile | null | "none">(null);
  const [queue, setQueue] = useState<QueueItem[]>([]);
  const [heard, setHeard] = useState<Heard[]>([]);
  const [cases, setCases] = useState<RequestPublic[]>([]);
  const [alarms, setAlarms] = useState(0);
  const [askNotify, setAskNotify] = useState(canAskForNotifications());

  async function loadQueue() {
    const q = await api.GET("/api/v1/psychologists/me/queue");
    if (q.data) {
      setQueue(q.data);
      setHeard([]);
    }
  }
  async function loadCases(me: string) {
    const c = await api.GET("/api/v1/help/requests");
    if (c.data) setCases(c.data.filter((r) => r.state === "assigned" && r.psychologist_id === me));
  }
  async function refresh() {
    const me = await api.GET("/api/v1/psychologists/me");
    if (me.response.status === 404) {
      setProfile("none");
      return;
    }
    if (!me.data) return;
    setProfile(me.data);
    await Promise.all([loadQueue(), loadCases(me.data.user_id)]);
  }

  useEffect(() => {
    void refresh();
  }, []);

  useLive(["offer.", "case.", "help.alert", "help.queue"], (event) => {
    if (event.kind === "offer.new" && event.data.offer_id && event.data.request_id) {
      const item = { offer_id: event.data.offer_id, request_id: event.data.request_id, urgency: event.data.urgency ?? "normal" };
      setHeard((list) => [...list, item]);
    }
    if (event.kind === "offer.new" && event.data.urgency === "critical") {
      setAlarms(playAlarm());
      notifyBrowser(t("console.alarm.title"), t("console.alarm.body"), event.data.request_id ?? "critical");
    }
    // An offer only changes the queue: fetch just that, a child in danger is waiting.
    if (event.kind.startsWith("offer.")) void loadQueue();
    else void refresh();
  });

  if (profile === "none") {
    return (
      <Shell title={t("console.queue.title")} roles={["psychologist"]}>
        <p>{t("console.profile.none")}</p>
        <Link class="button" href="/console/profile">{t("console.profile.apply")}</Link>
      </Shell>
    );
  }
  return (
    <Shell title={t("console.queue.title")} roles={["psychologist"]}>
      {profile ? <DutySwitch profile={profile} onChange={setProfile} /> : null}
      {askNotify ? (
        <p>
          <button type="button" class="secondary" onClick={() => void askForNotifications().then(() => setAskNotify(false))}>
            {t("console.notifications.allow")}
          </button>
        </p>
      ) : null}
      <section aria-labelledby="offers-h" data-testid="queue" data-alarms={alarms}>
        <h2 id="offers-h">{t("console.queue.offers")}</h2>
        <p class="sr-only" aria-live="assertive">{alarms ? t("console.alarm.body") : ""}</p>
        {queue.length || heard.length ? (
          <ul class="list">
            {heard
              .filter((h) => !queue.some((q) => q.offer_id === h.offer_id))
              .map((h) => <HeardOffer key={h.offer_id} heard={h} />)}
            {queue.map((item) => <Offer key={item.offer_id} item={item} onDone={() => void refresh()} />)}
          </ul>
        ) : (
          <p class="muted">{t("console.queue.empty")}</p>
        )}
      </section>
      <section aria-labelledby="cases-h">
        <h2 id="cases-h">{t("console.queue.cases")}</h2>
        {cases.length ? (
          <ul class="list">
            {cases.map((c) => (
              <li key={c.id} class="card row spread">
                <span>
                  <strong class={`badge badge-${c.urgency}`}>{urgencyLabel(c.urgency)}</strong> {c.child_name ?? t("console.child")}
                </span>
                <Link href={`/console/case/${c.id}`} data-testid="open-case">{t("console.open")}</Link>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">{t("console.queue.noCases")}</p>
        )}
      </section>
    </Shell>
  );
}
