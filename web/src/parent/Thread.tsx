/** A parent's conversation with one child: both sides' messages, receipts, recording. */
import { useEffect, useState } from "preact/hooks";
import { ApiError, type Schemas, api, call } from "../lib/api/client";
import { formatDuration, formatTime, lang, t } from "../lib/i18n";
import { Player } from "../lib/Player";
import { Link, type Params } from "../lib/router";
import { currentUser } from "../lib/session";
import { NotFound, Page, Spinner } from "../lib/ui";
import { addFile } from "../lib/uploads";
import { Gate } from "./Gate";
import { Outbox, useOutbox } from "./Outbox";
import prompts from "./prompts.json";
import { RecorderPanel } from "./Recorder";

type Message = Schemas["voicebridge__messages__schemas__MessagePublic"];

function Receipt(props: { message: Message }) {
  const [receipt, setReceipt] = useState<Schemas["Receipt"] | null>(null);
  useEffect(() => {
    call(
      api.GET("/api/v1/messages/{message_id}/receipt", { params: { path: { message_id: props.message.id } } }),
    ).then(setReceipt, () => undefined);
  }, [props.message.id]);
  if (!receipt) return null;
  if (receipt.plays === 0) return <p class="muted" data-testid="receipt">{t("receipt.notYet")}</p>;
  return (
    <p class="ok" data-testid="receipt">
      {receipt.completed
        ? t("receipt.completed", { plays: receipt.plays })
        : t("receipt.heard", { heard: formatDuration(receipt.heard_ms), total: formatDuration(receipt.duration_ms), plays: receipt.plays })}
    </p>
  );
}

function Bubble(props: { message: Message; mine: boolean }) {
  const m = props.message;
  return (
    <li class={props.mine ? "bubble mine" : "bubble"} data-testid={props.mine ? "my-message" : "their-message"} data-state={m.state}>
      <div class="row spread muted">
        <span>{m.sender_name}</span>
        <span>{formatTime(m.created_at)}</span>
      </div>
      {m.caption ? <p>{m.caption}</p> : null}
      {m.state === "ready" ? (
        <Player
          src={`/api/v1/messages/${m.id}/audio`}
          durationMs={m.duration_ms ?? 0}
          startMs={m.position_ms}
          label={t("player.of", { name: m.sender_name })}
          report={props.mine ? undefined : async (play_id, position_ms, segments) => {
            await api.POST("/api/v1/messages/{message_id}/progress", {
              params: { path: { message_id: m.id } },
              body: { play_id, position_ms, segments },
            });
          }}
        />
      ) : (
        <p class="state">{m.state === "failed" ? t("outbox.failed", { reason: m.failure_detail ?? "" }) : t("outbox.processing")}</p>
      )}
      {props.mine && m.state === "ready" ? <Receipt message={m} /> : null}
    </li>
  );
}

function Prompt() {
  const [index, setIndex] = useState<number | null>(null);
  if (index === null) {
    return (
      <button type="button" class="link" onClick={() => setIndex(Math.floor(Math.random() * prompts.length))}>
        💡 {t("prompt.show")}
      </button>
    );
  }
  return (
    <div class="card" role="note">
      <p>{prompts[index]![lang()]}</p>
      <button type="button" class="link" onClick={() => setIndex((index + 1) % prompts.length)}>{t("prompt.another")}</button>
    </div>
  );
}

export function ThreadView(props: { childId: string }) {
  const [thread, setThread] = useState<Schemas["ThreadPublic"] | null>(null);
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [missing, setMissing] = useState(false);
  const outbox = useOutbox();
  const me = currentUser();

  async function refresh(threadId: string): Promise<void> {
    const page = await call(
      api.GET("/api/v1/threads/{thread_id}/messages", { params: { path: { thread_id: threadId }, query: { limit: 50 } } }),
    );
    setMessages([...page.items].sort((a, b) => a.created_at.localeCompare(b.created_at)));
  }

  const [offline, setOffline] = useState(false);
  useEffect(() => {
    const open = () =>
      call(api.POST("/api/v1/children/{child_id}/thread", { params: { path: { child_id: props.childId } } })).then(
        (opened) => {
          setOffline(false);
          setThread(opened);
          void refresh(opened.id);
        },
        // Not the parent's child (or no such id) is "not found"; no network is only a pause.
        (e) => (e instanceof ApiError && e.status < 500 ? setMissing(true) : setOffline(true)),
      );
    void open();
    window.addEventListener("online", open);
    return () => window.removeEventListener("online", open);
  }, [props.childId]);

  // A message that became ready in the outbox shows up in the thread.
  const readyCount = outbox.filter((i) => i.state === "ready").length;
  useEffect(() => {
    if (thread) void refresh(thread.id).catch(() => undefined);
  }, [readyCount]);

  if (missing) return <NotFound />;
  if (!thread || !messages) {
    return (
      <Page title={t("home.title")} back="/parent">
        {offline ? <p class="error" role="alert">{t("error.network")}</p> : <Spinner label={t("loading")} />}
        <Outbox />
      </Page>
    );
  }
  const lastFromMe = [...messages].reverse().find((m) => m.sender_id === me?.id);
  const quiet = !lastFromMe || Date.now() - Date.parse(lastFromMe.created_at) > 7 * 86_400_000;
  return (
    <Page title={thread.child_name} back="/parent">
      {quiet ? <p class="card" role="note">{t("thread.quiet", { name: thread.child_name })}</p> : null}
      <p>
        <Link href={`/parent/child/${props.childId}/stories`} data-testid="stories-link">🌙 {t("stories.parent.link")}</Link>
      </p>
      <ul class="list" aria-label={t("thread.messages")}>
        {messages.length === 0 ? <li class="muted">{t("thread.empty")}</li> : null}
        {messages.map((m) => (
          <Bubble key={m.id} message={m} mine={m.sender_id === me?.id} />
        ))}
      </ul>
      <button type="button" class="link" onClick={() => void refresh(thread.id)}>{t("thread.refresh")}</button>
      <Outbox target={thread.id} />
      <h2>{t("thread.record")}</h2>
      <Prompt />
      <RecorderPanel target={{ purpose: "message", target: thread.id, label: t("thread.toChild", { name: thread.child_name }) }} />
      <label for="file">{t("thread.file")}</label>
      <input
        id="file"
        type="file"
        accept="audio/*,.m4a,.mp3,.amr,.3gp,.wav,.ogg,.webm"
        data-testid="file"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) {
            void addFile({ id: crypto.randomUUID(), purpose: "message", target: thread.id, label: file.name }, file);
            e.currentTarget.value = "";
          }
        }}
      />
    </Page>
  );
}

export function Thread(props: { params: Params }) {
  return (
    <Gate>
      <ThreadView childId={props.params.childId!} />
    </Gate>
  );
}
