/**
 * One case: the child's request (text and recording), the conversation with
 * the held-for-review state visible, a reply by text or voice, and closing
 * with the risk assessment the server requires for high and critical cases;
 * the child's earlier cases with the same psychologist, and referrals.
 */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { formatTime, t } from "../../lib/i18n";
import { useLive } from "../../lib/live";
import type { Params } from "../../lib/router";
import { useSession } from "../../lib/session";
import { Recording } from "../../lib/Recording";
import { ErrorNote } from "../../lib/ui";
import { RecorderPanel } from "../../parent/Recorder";
import { Shell } from "../Shell";
import { Earlier } from "./Earlier";
import { urgencyLabel } from "./Queue";
import { Referral } from "./Referral";

type RequestPublic = Schemas["RequestPublic"];
type MessagePublic = Schemas["voicebridge__help__schemas__MessagePublic"];

function Message(props: { request: RequestPublic; message: MessagePublic; mine: boolean }) {
  const { message } = props;
  return (
    <li class={props.mine ? "bubble mine" : "bubble"} data-testid="case-message" data-state={message.state}>
      {message.text ? <p>{message.text}</p> : null}
      {message.audio_asset_id && message.state !== "processing" ? (
        <Recording
          path={`/api/v1/help/requests/${props.request.id}/messages/${message.id}/audio`}
          label={t("console.audio.play")}
        />
      ) : null}
      <p class="muted state">
        {formatTime(message.created_at)}
        {message.state !== "visible" ? ` · ${t(`console.msgState.${message.state}` as "console.msgState.held_for_review")}` : ""}
      </p>
    </li>
  );
}

function Reply(props: { request: RequestPublic; onSent: () => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function send(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await call(
        api.POST("/api/v1/help/requests/{request_id}/messages", {
          params: { path: { request_id: props.request.id } },
          body: { text },
        }),
      );
      setText("");
      props.onSent();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <>
      <form onSubmit={send}>
        <label for="reply">{t("console.reply.text")}</label>
        <textarea id="reply" rows={3} required value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <ErrorNote error={error} />
        <p>
          <button type="submit" data-testid="send-reply">{t("console.reply.send")}</button>
        </p>
      </form>
      <h3>{t("console.reply.voice")}</h3>
      <RecorderPanel target={{ purpose: "help_message", target: props.request.id, label: t("console.reply.voice") }} />
    </>
  );
}

function Close(props: { request: RequestPublic; onClosed: () => void }) {
  const [notes, setNotes] = useState("");
  const [plan, setPlan] = useState("");
  const [risk, setRisk] = useState({ thoughts: false, plan: false, means: false, timeframe: "" });
  const [error, setError] = useState<string | null>(null);
  const serious = props.request.urgency === "critical" || props.request.urgency === "high";
  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    try {
      await call(
        api.POST("/api/v1/help/requests/{request_id}/close", {
          params: { path: { request_id: props.request.id } },
          body: {
            outcome_notes: notes,
            risk_assessment: serious || risk.timeframe ? risk : null,
            safety_plan: plan || null,
          },
        }),
      );
      props.onClosed();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <form onSubmit={submit} class="card" aria-labelledby="close-h">
      <h2 id="close-h">{t("console.close.title")}</h2>
      <fieldset>
        <legend>{t("console.risk.title")}</legend>
        {(["thoughts", "plan", "means"] as const).map((key) => (
          <label key={key} class="check" for={`risk-${key}`}>
            <input id={`risk-${key}`} type="checkbox" checked={risk[key]} onChange={(e) => setRisk({ ...risk, [key]: e.currentTarget.checked })} />
            {t(`console.risk.${key}` as "console.risk.plan")}
          </label>
        ))}
        <label for="risk-timeframe">{t("console.risk.timeframe")}</label>
        <input id="risk-timeframe" required={serious} value={risk.timeframe} onInput={(e) => setRisk({ ...risk, timeframe: e.currentTarget.value })} />
      </fieldset>
      <label for="safety-plan">{t("console.close.plan")}</label>
      <textarea id="safety-plan" rows={2} value={plan} onInput={(e) => setPlan(e.currentTarget.value)} />
      <label for="outcome">{t("console.close.notes")}</label>
      <textarea id="outcome" rows={3} required value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
      <ErrorNote error={error} />
      <p>
        <button type="submit" class="danger">{t("console.close.submit")}</button>
      </p>
    </form>
  );
}

export function Case(props: { params: Params }) {
  const requestId = props.params.requestId!;
  const user = useSession();
  const [request, setRequest] = useState<RequestPublic | null>(null);
  const [messages, setMessages] = useState<MessagePublic[]>([]);
  const [error, setError] = useState<string | null>(null);

  async function refresh() {
    try {
      const [r, m] = await Promise.all([
        call(api.GET("/api/v1/help/requests/{request_id}", { params: { path: { request_id: requestId } } })),
        call(api.GET("/api/v1/help/requests/{request_id}/messages", { params: { path: { request_id: requestId } } })),
      ]);
      setRequest(r);
      setMessages(m);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? t("console.case.gone") : t("error.network"));
    }
  }
  useEffect(() => {
    void refresh();
  }, [requestId]);
  useLive(["case.", "upload."], (event) => {
    if (!event.data.request_id || event.data.request_id === requestId || event.kind.startsWith("upload.")) void refresh();
  });

  return (
    <Shell title={t("console.case.title")} roles={["psychologist"]} back="/console/help">
      <ErrorNote error={error} />
      {request ? (
        <>
          <section class="card" aria-labelledby="req-h" data-testid="case" data-state={request.state}>
            <h2 id="req-h">
              <span class={`badge badge-${request.urgency}`}>{urgencyLabel(request.urgency)}</span>{" "}
              {request.child_name ?? t("console.child")}
              {request.child_age ? ` · ${t("console.age", { age: request.child_age })}` : ""}
            </h2>
            <p class="muted">
              {t(`help.category.${request.category}` as "help.category.other")} · {formatTime(request.created_at)}
            </p>
            {request.not_safe ? <p class="error">{t("console.notSafe")}</p> : null}
            {request.text ? <blockquote data-testid="request-text">{request.text}</blockquote> : null}
            {request.audio_asset_id ? (
              <Recording path={`/api/v1/help/requests/${request.id}/audio`} label={t("console.audio.request")} />
            ) : null}
          </section>
          <Earlier requestId={request.id} holder={request.psychologist_id} />
          <section aria-labelledby="conv-h">
            <h2 id="conv-h">{t("console.case.conversation")}</h2>
            <ul class="list">
              {messages.map((m) => (
                <Message key={m.id} request={request} message={m} mine={m.sender_id === user?.id} />
              ))}
            </ul>
          </section>
          {request.state === "assigned" ? (
            <>
              <Reply request={request} onSent={() => void refresh()} />
              <Referral requestId={request.id} open />
              <Close request={request} onClosed={() => void refresh()} />
            </>
          ) : (
            <>
              <p class="muted">{t(`console.state.${request.state}` as "console.state.closed")}</p>
              {request.state === "closed" ? <Referral requestId={request.id} open={false} /> : null}
            </>
          )}
        </>
      ) : null}
    </Shell>
  );
}
