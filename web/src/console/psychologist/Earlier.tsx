/**
 * Continuity: this child's earlier cases with the same psychologist, with
 * what was noted and agreed then, so the child need not tell it all again.
 * The server lists only cases the reader may read, and logs the listing.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, api } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { Link } from "../../lib/router";
import { urgencyLabel } from "./Queue";

type EarlierCase = Schemas["EarlierCase"];

export function Earlier(props: { requestId: string; holder: string | null | undefined }) {
  const [cases, setCases] = useState<EarlierCase[] | null>(null);
  useEffect(() => {
    if (!props.holder) return;
    void api
      .GET("/api/v1/help/requests/{request_id}/earlier", { params: { path: { request_id: props.requestId } } })
      .then((answer) => setCases(answer.data ?? []));
  }, [props.requestId, props.holder]);
  if (!props.holder || cases === null) return null;
  return (
    <section aria-labelledby="earlier-h" data-testid="earlier-cases">
      <h2 id="earlier-h">{t("console.earlier.title")}</h2>
      {cases.length ? (
        <ul class="list">
          {cases.map((c) => (
            <li key={c.id} class="card" data-testid="earlier-case" data-request={c.id}>
              <p>
                <span class={`badge badge-${c.peak_urgency ?? c.urgency}`}>{urgencyLabel(c.peak_urgency ?? c.urgency)}</span>{" "}
                {t(`help.category.${c.category}` as "help.category.other")} · {formatTime(c.created_at)}
                {c.closed_at ? ` – ${formatTime(c.closed_at)}` : ""} · {t(`console.state.${c.state}` as "console.state.closed")}
              </p>
              {c.outcome_notes ? (
                <p>
                  {t("console.earlier.outcome")}: <span data-testid="earlier-outcome">{c.outcome_notes}</span>
                </p>
              ) : null}
              {c.safety_plan ? <p>{t("console.earlier.plan")}: {c.safety_plan}</p> : null}
              {c.follow_up_on ? <p>{t("console.earlier.followUp")}: {c.follow_up_on}</p> : null}
              <Link href={`/console/case/${c.id}`} data-testid="earlier-open">{t("console.earlier.open")}</Link>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted" data-testid="earlier-empty">{t("console.earlier.empty")}</p>
      )}
    </section>
  );
}
