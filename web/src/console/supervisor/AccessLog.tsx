/**
 * The access log: who read which case's words, newest first, one case or all,
 * a page at a time (the server's cursor).
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, api } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";

type Entry = Schemas["AccessLogEntry"];
type RequestPublic = Schemas["RequestPublic"];

const PAGE = 20;

export function AccessLog(props: { open: RequestPublic[]; names: Map<string, string>; refreshKey: number }) {
  const [requestId, setRequestId] = useState("");
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);

  async function load(more: boolean) {
    const query = { limit: PAGE, ...(requestId ? { request_id: requestId } : {}), ...(more && cursor ? { cursor } : {}) };
    const answer = await api.GET("/api/v1/help/access-log", { params: { query } });
    const page = answer.data;
    if (!page) return;
    setEntries(more ? [...entries, ...page.items] : page.items);
    setCursor(page.next_cursor);
  }
  useEffect(() => {
    void load(false);
  }, [requestId, props.refreshKey]);

  return (
    <section aria-labelledby="log-h" data-testid="access-log">
      <h2 id="log-h">{t("console.accessLog")}</h2>
      <div class="row">
        <label for="log-request">{t("console.log.filter")}</label>
        <select id="log-request" data-testid="log-filter" value={requestId} onChange={(e) => setRequestId(e.currentTarget.value)}>
          <option value="">{t("console.log.all")}</option>
          {props.open.map((r) => (
            <option key={r.id} value={r.id}>
              {(r.child_name ?? t("console.child")) + " · " + formatTime(r.created_at)}
            </option>
          ))}
        </select>
      </div>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">{t("console.col.when")}</th>
            <th scope="col">{t("console.col.reader")}</th>
            <th scope="col">{t("console.col.action")}</th>
            <th scope="col">{t("console.col.request")}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.id} data-testid="log-entry" data-request={entry.request_id} data-action={entry.action}>
              <td>{formatTime(entry.at)}</td>
              <td>{props.names.get(entry.user_id) ?? <code>{entry.user_id.slice(0, 8)}</code>}</td>
              <td>{entry.action}</td>
              <td><code>{entry.request_id.slice(0, 8)}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor ? (
        <p>
          <button type="button" class="secondary" data-testid="log-more" onClick={() => void load(true)}>{t("console.log.more")}</button>
        </p>
      ) : null}
    </section>
  );
}
