/** The outbox: each message's state, from "waiting for network" to "ready". */
import { useEffect, useState } from "preact/hooks";
import { formatDuration, t } from "../lib/i18n";
import { type OutboxItem, discard, load, outboxItems, rescue, resumeAll, retry, subscribe } from "../lib/uploads";

export function useOutbox(): OutboxItem[] {
  const [items, setItems] = useState(outboxItems());
  useEffect(() => {
    const off = subscribe(() => setItems(outboxItems()));
    void load().then(resumeAll);
    return off;
  }, []);
  return items;
}

function describe(item: OutboxItem): string {
  switch (item.state) {
    case "uploading":
      return t("outbox.uploading", { percent: item.percent });
    case "waiting":
      return navigator.onLine ? t("outbox.queued") : t("outbox.waiting");
    case "failed":
      return t("outbox.failed", { reason: item.error ?? "" });
    default:
      return t(`outbox.${item.state}` as "outbox.ready");
  }
}

export function Outbox(props: { target?: string }) {
  // The recording in progress shows in the recorder; after a crash it is "interrupted" here.
  const items = useOutbox().filter(
    (i) => i.state !== "recording" && (!props.target || i.target === props.target),
  );
  if (items.length === 0) return null;
  return (
    <section aria-labelledby="outbox-title">
      <h2 id="outbox-title">{t("outbox.title")}</h2>
      <ul class="list" data-testid="outbox">
        {items.map((item) => (
          <li key={item.id} class="card" data-state={item.state} data-testid="outbox-item">
            <div class="row spread">
              <span>
                {item.label}
                {item.durationMs ? <span class="muted"> · {formatDuration(item.durationMs)}</span> : null}
              </span>
              <span class="state" role="status">{describe(item)}</span>
            </div>
            {item.state === "uploading" ? (
              <progress class="progress" max={100} value={item.percent} aria-label={t("outbox.progress")} />
            ) : null}
            <div class="row">
              {item.state === "interrupted" ? (
                <button type="button" onClick={() => void rescue(item.id)}>{t("outbox.rescue")}</button>
              ) : null}
              {item.state === "failed" ? (
                <button type="button" onClick={() => void retry(item.id)}>{t("outbox.retry")}</button>
              ) : null}
              {item.state !== "processing" && item.state !== "ready" && item.state !== "uploading" ? (
                <button type="button" class="secondary" onClick={() => void discard(item.id)}>{t("outbox.discard")}</button>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
