/**
 * "I need someone to talk to": pick a picture, say it or write it (or neither
 * and only "I am not safe"), and see at once the crisis lines when nobody is on
 * duty; then the request's state and the counsellor's replies.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, api, call } from "../lib/api/client";
import { lang, t } from "../lib/i18n";
import { Player } from "../lib/Player";
import { RecorderPanel } from "../parent/Recorder";
import { Outbox } from "../parent/Outbox";
import { ChildFrame } from "./kiosk";

type Category = Schemas["Category"];
const PICTURES: Record<Category, string> = {
  lonely: "🌧️",
  family: "🏠",
  school: "🏫",
  bullying: "✋",
  body_health: "🤒",
  other: "💭",
};

function Crisis(props: { lines: Schemas["CrisisResource"][] }) {
  if (props.lines.length === 0) return null;
  return (
    <section class="card crisis" aria-labelledby="crisis" data-testid="crisis-lines">
      <h2 id="crisis">☎️ {t("help.crisis")}</h2>
      <ul class="list">
        {props.lines.map((line, i) => (
          <li key={i}>
            <strong>{line.name}</strong> <a href={`tel:${line.phone}`}>{line.phone}</a>
          </li>
        ))}
      </ul>
    </section>
  );
}

function MyRequest(props: { id: string }) {
  const [request, setRequest] = useState<Schemas["RequestPublic"] | null>(null);
  const [replies, setReplies] = useState<Schemas["voicebridge__help__schemas__MessagePublic"][]>([]);
  useEffect(() => {
    const load = () => {
      call(api.GET("/api/v1/help/requests/{request_id}", { params: { path: { request_id: props.id } } })).then(setRequest, () => undefined);
      call(api.GET("/api/v1/help/requests/{request_id}/messages", { params: { path: { request_id: props.id } } })).then(
        setReplies,
        () => undefined,
      );
    };
    load();
    const timer = window.setInterval(load, 15_000);
    return () => window.clearInterval(timer);
  }, [props.id]);
  if (!request) return null;
  return (
    <section class="card" aria-labelledby="my-request">
      <h2 id="my-request">
        {PICTURES[request.category]} {t(`help.category.${request.category}` as "help.category.other")}
      </h2>
      <p class="state" role="status" data-testid="help-state">{t(`help.state.${request.state}` as "help.state.waiting")}</p>
      {replies.some((r) => !r.from_child) ? <h2>{t("help.replies")}</h2> : null}
      <ul class="list">
        {replies.filter((r) => !r.from_child).map((r) => (
          <li key={r.id} class="bubble" data-testid="help-reply">
            {r.text ? <p>{r.text}</p> : null}
            {r.audio_asset_id ? (
              <Player
                src={`/api/v1/help/requests/${props.id}/messages/${r.id}/audio`}
                durationMs={0}
                label={t("help.replies")}
              />
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function Help() {
  const [options, setOptions] = useState<Schemas["Options"] | null>(null);
  const [category, setCategory] = useState<Category | null>(null);
  const [notSafe, setNotSafe] = useState(false);
  const [text, setText] = useState("");
  const [voice, setVoice] = useState(false);
  const [created, setCreated] = useState<Schemas["RequestCreated"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    call(api.GET("/api/v1/help/options")).then(setOptions, () => undefined);
  }, []);

  async function send(): Promise<void> {
    if (!category && !notSafe) return setError(t("help.pick"));
    if (!text.trim() && !voice && !notSafe) return setError(t("help.say"));
    setError(null);
    try {
      const answer = await call(
        api.POST("/api/v1/help/requests", {
          body: { category: category ?? "other", not_safe: notSafe, text: text.trim() || null, voice, language: lang() === "en" ? "en" : "cmn" },
        }),
      );
      setCreated(answer);
    } catch {
      setError(t("error.network"));
    }
  }

  const crisis = created ? created.crisis_resources : notSafe ? (options?.crisis_resources ?? []) : [];
  return (
    <ChildFrame title={t("help.title")} back="/kiosk/home" help={false}>
      {created ? (
        <>
          <p class="lead ok" role="status">{t("help.sent")}</p>
          {created.nobody_on_duty ? <p class="lead">{t("help.nobody")}</p> : null}
          <Crisis lines={crisis} />
          {voice ? (
            <RecorderPanel target={{ purpose: "help_request", target: created.request.id, label: t("help.title") }} />
          ) : null}
          <Outbox target={created.request.id} />
          <MyRequest id={created.request.id} />
        </>
      ) : (
        <>
          <p class="lead">{t("help.lead")}</p>
          <div class="categories" role="group" aria-label={t("help.lead")}>
            {(options?.categories ?? (Object.keys(PICTURES) as Category[])).map((c) => (
              <button key={c} type="button" aria-pressed={category === c} data-testid={`category-${c}`} onClick={() => setCategory(c)}>
                <span style={{ fontSize: "2.5rem" }} aria-hidden="true">{PICTURES[c]}</span>
                {t(`help.category.${c}` as "help.category.other")}
              </button>
            ))}
          </div>
          <p>
            <button type="button" class={notSafe ? "danger" : "secondary"} aria-pressed={notSafe} data-testid="not-safe" onClick={() => setNotSafe(!notSafe)}>
              🚨 {t("help.notSafe")}
            </button>
          </p>
          <Crisis lines={crisis} />
          <label for="help-text">{t("help.type")}</label>
          <textarea id="help-text" rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />
          <label class="row">
            <input type="checkbox" style={{ width: "auto" }} checked={voice} onChange={(e) => setVoice(e.currentTarget.checked)} />
            🎤 {t("help.record")}
          </label>
          {error ? <p class="error" role="alert">{error}</p> : null}
          <p>
            <button type="button" data-testid="help-send" onClick={() => void send()}>{t("help.send")}</button>
          </p>
        </>
      )}
    </ChildFrame>
  );
}
