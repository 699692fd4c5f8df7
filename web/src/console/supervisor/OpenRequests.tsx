/**
 * Every open request, who holds it, and reassignment: a supervisor moves a
 * case to another verified psychologist with a free place, or back to the
 * queue (the server checks both and says why not).
 */
import { useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { ErrorNote } from "../../lib/ui";
import { urgencyLabel } from "../psychologist/Queue";

type RequestPublic = Schemas["RequestPublic"];

/** One psychologist's load, as the figures give it. */
export interface Load {
  psychologist_id: string;
  display_name: string;
  open_cases: number;
  capacity: number;
  on_duty: boolean;
}

function Reassign(props: { request: RequestPublic; load: Load[]; onDone: () => void }) {
  const { request } = props;
  const [target, setTarget] = useState("");
  const [error, setError] = useState<string | null>(null);
  const others = props.load.filter((p) => p.psychologist_id !== request.psychologist_id);
  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await call(
        api.POST("/api/v1/help/requests/{request_id}/reassign", {
          params: { path: { request_id: request.id } },
          body: { psychologist_id: target || null },
        }),
      );
      props.onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  const field = `reassign-${request.id}`;
  return (
    <form class="row" onSubmit={submit}>
      <label for={field} class="sr-only">{t("console.reassign.label")}</label>
      <select id={field} data-testid="reassign-to" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
        <option value="">{t("console.reassign.queue")}</option>
        {others.map((p) => (
          <option key={p.psychologist_id} value={p.psychologist_id} disabled={p.open_cases >= p.capacity}>
            {t("console.reassign.slots", { name: p.display_name, open: p.open_cases, capacity: p.capacity })}
            {p.on_duty ? "" : ` · ${t("console.reassign.offDuty")}`}
          </option>
        ))}
      </select>
      <button type="submit" class="secondary" data-testid="reassign">{t("console.reassign.go")}</button>
      <ErrorNote error={error} />
    </form>
  );
}

export function OpenRequests(props: { open: RequestPublic[]; load: Load[]; onChange: () => void }) {
  const names = new Map(props.load.map((p) => [p.psychologist_id, p.display_name]));
  return (
    <section aria-labelledby="open-h">
      <h2 id="open-h">{t("console.supervisor.open")}</h2>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">{t("console.col.urgency")}</th>
            <th scope="col">{t("console.col.state")}</th>
            <th scope="col">{t("console.col.child")}</th>
            <th scope="col">{t("console.col.since")}</th>
            <th scope="col">{t("console.col.holder")}</th>
            <th scope="col">{t("console.reassign.label")}</th>
          </tr>
        </thead>
        <tbody>
          {props.open.map((r) => (
            <tr key={r.id} data-testid="open-request" data-request={r.id} data-holder={r.psychologist_id ?? ""}>
              <td><span class={`badge badge-${r.urgency}`}>{urgencyLabel(r.urgency)}</span></td>
              <td>{t(`console.state.${r.state}` as "console.state.closed")}</td>
              <td>{r.child_name ?? "—"}</td>
              <td>{formatTime(r.created_at)}</td>
              <td data-testid="holder">{r.psychologist_id ? (names.get(r.psychologist_id) ?? "—") : "—"}</td>
              <td>
                {r.state === "assigned" ? <Reassign request={r} load={props.load} onDone={props.onChange} /> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
