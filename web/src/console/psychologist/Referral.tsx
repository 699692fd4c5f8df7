/**
 * Asking for an emergency referral from the case: it would share the child's
 * identity with an outside agency, so a supervisor decides; its state shows
 * here and changes live.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { useLive } from "../../lib/live";
import { ErrorNote } from "../../lib/ui";

type ReferralPublic = Schemas["ReferralPublic"];

export function Referral(props: { requestId: string; open: boolean }) {
  const [referrals, setReferrals] = useState<ReferralPublic[]>([]);
  const [agency, setAgency] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const path = { params: { path: { request_id: props.requestId } } };

  async function refresh() {
    const answer = await api.GET("/api/v1/help/requests/{request_id}/referrals", path);
    setReferrals(answer.data ?? []);
  }
  useEffect(() => {
    void refresh();
  }, [props.requestId]);
  useLive(["help.referral"], (event) => {
    if (event.data.request_id === props.requestId) void refresh();
  });

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await call(api.POST("/api/v1/help/requests/{request_id}/referrals", { ...path, body: { agency, reason } }));
      setAgency("");
      setReason("");
      await refresh();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <section class="card" aria-labelledby="referral-h" data-testid="case-referrals">
      <h2 id="referral-h">{t("console.referral.title")}</h2>
      <p class="muted">{t("console.referral.note")}</p>
      {referrals.length ? (
        <ul class="list">
          {referrals.map((r) => (
            <li key={r.id} data-testid="case-referral" data-state={r.state}>
              <strong>{r.agency}</strong> · {formatTime(r.created_at)} ·{" "}
              {t(`console.referrals.state.${r.state}` as "console.referrals.state.pending")}
              {r.decision_reason ? ` · ${r.decision_reason}` : ""}
            </li>
          ))}
        </ul>
      ) : null}
      {props.open ? (
        <form onSubmit={submit}>
          <label for="referral-agency">{t("console.referral.agency")}</label>
          <input id="referral-agency" required minLength={2} maxLength={200} value={agency} onInput={(e) => setAgency(e.currentTarget.value)} />
          <label for="referral-reason">{t("console.referral.reason")}</label>
          <textarea id="referral-reason" rows={2} required minLength={5} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          <ErrorNote error={error} />
          <p>
            <button type="submit" data-testid="referral-send">{t("console.referral.submit")}</button>
          </p>
        </form>
      ) : null}
    </section>
  );
}
