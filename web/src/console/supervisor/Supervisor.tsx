/**
 * The supervisor's view: every open request and who holds it (and moving it),
 * held replies to approve or reject, referrals that would disclose a child's
 * identity, escalations, the access log, and response-time figures.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { useLive } from "../../lib/live";
import { ErrorNote } from "../../lib/ui";
import { BarChart } from "../charts";
import { urgencyLabel } from "../psychologist/Queue";
import { Shell } from "../Shell";
import { AccessLog } from "./AccessLog";
import { type Load, OpenRequests } from "./OpenRequests";
import { Referrals } from "./Referrals";

type MessagePublic = Schemas["voicebridge__help__schemas__MessagePublic"];
type RequestPublic = Schemas["RequestPublic"];
type EscalationPublic = Schemas["EscalationPublic"];
type ReferralWaiting = Schemas["ReferralWaiting"];
interface Figures {
  first_response_seconds?: Record<string, { count: number; median: number | null }>;
  queue?: Record<string, number>;
  load?: Load[];
}

function Held(props: { message: MessagePublic; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  async function decide(release: boolean) {
    try {
      await call(
        api.POST("/api/v1/help/review/messages/{message_id}", {
          params: { path: { message_id: props.message.id } },
          body: { release },
        }),
      );
      props.onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <li class="card" data-testid="held-message" data-message={props.message.id}>
      <p>{props.message.text}</p>
      <p class="muted">
        {t("console.held.why")}: {(props.message.held_reasons ?? []).map(heldReason).join(", ")} · {formatTime(props.message.created_at)}
      </p>
      <div class="row">
        <button type="button" data-testid="approve" onClick={() => void decide(true)}>{t("console.held.approve")}</button>
        <button type="button" class="danger" data-testid="reject" onClick={() => void decide(false)}>{t("console.held.reject")}</button>
      </div>
      <ErrorNote error={error} />
    </li>
  );
}

/** What the contact filter found, in words ("phone" -> "a phone number"); an unknown kind as it is. */
function heldReason(kind: string): string {
  const key = `console.held.reason.${kind}` as "console.held.reason.phone";
  const text = t(key);
  return text === key ? kind : text;
}

export function Supervisor() {
  const [held, setHeld] = useState<MessagePublic[]>([]);
  const [open, setOpen] = useState<RequestPublic[]>([]);
  const [escalations, setEscalations] = useState<EscalationPublic[]>([]);
  const [referrals, setReferrals] = useState<ReferralWaiting[]>([]);
  const [refreshed, setRefreshed] = useState(0);
  const [figures, setFigures] = useState<Figures>({});
  const [denied, setDenied] = useState(false);

  async function refresh() {
    const h = await api.GET("/api/v1/help/review/messages");
    if (h.response.status === 403) {
      setDenied(true);
      return;
    }
    setHeld(h.data ?? []);
    const [o, e, r, f] = await Promise.all([
      api.GET("/api/v1/help/requests"),
      api.GET("/api/v1/help/escalations"),
      api.GET("/api/v1/help/referrals"),
      api.GET("/api/v1/help/figures"),
    ]);
    setOpen(o.data ?? []);
    setEscalations(e.data ?? []);
    setReferrals(r.data ?? []);
    setFigures((f.data ?? {}) as Figures);
    setRefreshed((n) => n + 1);
  }
  useEffect(() => {
    void refresh();
  }, []);
  useLive(["help.", "case.", "offer."], () => void refresh());

  const response = figures.first_response_seconds ?? {};
  const load = figures.load ?? [];
  const names = new Map(load.map((p) => [p.psychologist_id, p.display_name]));
  return (
    <Shell title={t("console.supervisor.title")} roles={["psychologist", "admin"]}>
      {denied ? <p class="error" role="alert">{t("console.supervisor.only")}</p> : null}
      <section aria-labelledby="held-h" data-testid="held">
        <h2 id="held-h">{t("console.held.title")}</h2>
        {held.length ? (
          <ul class="list">
            {held.map((m) => <Held key={m.id} message={m} onDone={() => void refresh()} />)}
          </ul>
        ) : (
          <p class="muted" data-testid="held-empty">{t("console.held.empty")}</p>
        )}
      </section>
      <Referrals waiting={referrals} onChange={() => void refresh()} />
      <OpenRequests open={open} load={load} onChange={() => void refresh()} />
      <section aria-labelledby="esc-h">
        <h2 id="esc-h">{t("console.escalations")}</h2>
        <ul class="list">
          {escalations.slice(0, 20).map((e) => (
            <li key={e.id} class="card">
              <span class={`badge badge-${e.urgency}`}>{urgencyLabel(e.urgency)}</span> {e.level} · {e.reason} · {formatTime(e.created_at)}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="fig-h">
        <h2 id="fig-h">{t("console.figures")}</h2>
        <BarChart
          title={t("console.figures.median")}
          unit="s"
          bars={Object.entries(response).map(([u, v]) => ({ label: urgencyLabel(u), value: v.median === null ? 0 : Math.round(v.median) }))}
        />
        <BarChart
          title={t("console.figures.queue")}
          bars={Object.entries(figures.queue ?? {}).map(([u, n]) => ({ label: urgencyLabel(u), value: n }))}
        />
      </section>
      <AccessLog open={open} names={names} refreshKey={refreshed} />
    </Shell>
  );
}
