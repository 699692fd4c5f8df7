/**
 * Referrals waiting for a supervisor: each asks to share a child's identity
 * with an outside agency. Approving discloses it (shown once, here, and logged
 * by the server); denying keeps the child anonymous. Either needs a reason.
 */
import { useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { ErrorNote } from "../../lib/ui";
import { urgencyLabel } from "../psychologist/Queue";

type Waiting = Schemas["ReferralWaiting"];
type Decided = Schemas["ReferralPublic"];

function identityLine(identity: Record<string, unknown>): string {
  const text = (key: string) => (identity[key] == null ? "—" : String(identity[key]));
  return t("console.referrals.identity", {
    given: text("given_name"),
    family: text("family_name"),
    birth: text("birth_year"),
    school: text("school"),
    region: text("region"),
  });
}

function Decide(props: { referral: Waiting; onDecided: (decided: Decided) => void }) {
  const { referral } = props;
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function decide(approve: boolean) {
    setError(null);
    try {
      const decided = await call(
        api.POST("/api/v1/help/requests/{request_id}/referrals/{referral_id}/decision", {
          params: { path: { request_id: referral.request_id, referral_id: referral.id } },
          body: { approve, reason },
        }),
      );
      props.onDecided(decided);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  const field = `referral-reason-${referral.id}`;
  return (
    <li class="card" data-testid="referral" data-referral={referral.id} data-request={referral.request_id}>
      <p>
        <span class={`badge badge-${referral.urgency}`}>{urgencyLabel(referral.urgency)}</span>{" "}
        <strong>{referral.agency}</strong> · {t("console.referrals.askedBy")}: {referral.requested_by_name ?? "—"} ·{" "}
        {formatTime(referral.created_at)}
      </p>
      <p>
        {t("console.referrals.why")}: {referral.reason}
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void decide(true);
        }}
      >
        <label for={field}>{t("console.referrals.decision")}</label>
        <textarea id={field} rows={2} required minLength={5} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <div class="row">
          <button type="submit" data-testid="referral-approve">{t("console.referrals.approve")}</button>
          <button
            type="button"
            class="danger"
            data-testid="referral-deny"
            onClick={(event) => {
              const form = (event.currentTarget as HTMLButtonElement).form;
              if (form && !form.reportValidity()) return;
              void decide(false);
            }}
          >
            {t("console.referrals.deny")}
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
    </li>
  );
}

export function Referrals(props: { waiting: Waiting[]; onChange: () => void }) {
  const [decided, setDecided] = useState<Decided | null>(null);
  return (
    <section aria-labelledby="ref-h" data-testid="referrals">
      <h2 id="ref-h">{t("console.referrals.title")}</h2>
      {decided ? (
        <div class="card" role="status" data-testid="referral-decided" data-state={decided.state}>
          {decided.identity ? (
            <>
              <p>{t("console.referrals.disclosed", { agency: decided.agency })}</p>
              <p data-testid="disclosed-identity"><strong>{identityLine(decided.identity)}</strong></p>
            </>
          ) : (
            <p>{t("console.referrals.denied")}</p>
          )}
        </div>
      ) : null}
      {props.waiting.length ? (
        <ul class="list">
          {props.waiting.map((r) => (
            <Decide
              key={r.id}
              referral={r}
              onDecided={(d) => {
                setDecided(d);
                props.onChange();
              }}
            />
          ))}
        </ul>
      ) : (
        <p class="muted" data-testid="referrals-empty">{t("console.referrals.empty")}</p>
      )}
    </section>
  );
}
