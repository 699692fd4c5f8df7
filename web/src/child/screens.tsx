/** The kiosk once a child is signed in: their home and a conversation. */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, api, call } from "../lib/api/client";
import { formatTime, t } from "../lib/i18n";
import { Player } from "../lib/Player";
import { Link, type Params } from "../lib/router";
import { currentUser } from "../lib/session";
import { NotFound, Spinner } from "../lib/ui";
import { RecorderPanel } from "../parent/Recorder";
import { Outbox } from "../parent/Outbox";
import { ChildFrame, Face, ListeningNote, useListening } from "./kiosk";

export function Home() {
  const [threads, setThreads] = useState<Schemas["ThreadPublic"][] | null>(null);
  const listening = useListening();
  const me = currentUser();
  useEffect(() => {
    call(api.GET("/api/v1/threads", { params: { query: { limit: 50 } } })).then((page) => setThreads(page.items), () => setThreads([]));
  }, []);
  const closed = listening !== null && !listening.open;
  return (
    <ChildFrame title={t("kiosk.home.hello", { name: me?.display_name ?? "" })}>
      <ListeningNote status={listening} />
      {closed ? null : (
        <>
          <h2>{t("kiosk.home.title")}</h2>
          {!threads ? <Spinner label={t("loading")} /> : null}
          {threads && threads.length === 0 ? <p>{t("kiosk.home.nobody")}</p> : null}
          <ul class="tiles">
            {threads?.map((thread) => (
              <li key={thread.id}>
                <Link class="button tile" href={`/kiosk/thread/${thread.id}`} data-testid="family-tile">
                  <Face seed={thread.guardian_id ?? thread.id} text={thread.peer_name} />
                  <span>{thread.peer_name}</span>
                  {thread.unread > 0 ? <span class="dot" data-testid="unread" aria-label={t("kiosk.home.new", { n: thread.unread })}>{thread.unread}</span> : null}
                </Link>
              </li>
            ))}
            <li>
              <Link class="button tile" href="/kiosk/stories" data-testid="stories-tile">
                <span class="face" aria-hidden="true" style={{ background: "#8a5a00" }}>📚</span>
                <span>{t("kiosk.home.stories")}</span>
              </Link>
            </li>
          </ul>
        </>
      )}
    </ChildFrame>
  );
}

function KioskMessage(props: { message: Schemas["voicebridge__messages__schemas__MessagePublic"]; big?: boolean }) {
  const m = props.message;
  if (m.state !== "ready") return null;
  return (
    <Player
      src={`/api/v1/messages/${m.id}/audio`}
      durationMs={m.duration_ms ?? 0}
      startMs={m.position_ms}
      big={props.big}
      label={t("player.of", { name: m.sender_name })}
      report={async (play_id, position_ms, segments) => {
        await api.POST("/api/v1/messages/{message_id}/progress", {
          params: { path: { message_id: m.id } },
          body: { play_id, position_ms, segments },
        });
      }}
    />
  );
}

export function ThreadScreen(props: { params: Params }) {
  const threadId = props.params.threadId!;
  const [messages, setMessages] = useState<Schemas["voicebridge__messages__schemas__MessagePublic"][] | null>(null);
  const [missing, setMissing] = useState(false);
  const me = currentUser();
  useEffect(() => {
    call(api.GET("/api/v1/threads/{thread_id}/messages", { params: { path: { thread_id: threadId }, query: { limit: 30 } } })).then(
      (page) => setMessages([...page.items].sort((a, b) => b.created_at.localeCompare(a.created_at))),
      () => setMissing(true),
    );
  }, [threadId]);
  if (missing) return <NotFound />;
  if (!messages) return <ChildFrame title="" back="/kiosk/home"><Spinner label={t("loading")} /></ChildFrame>;
  const theirs = messages.filter((m) => m.sender_id !== me?.id && m.state === "ready");
  const latest = theirs.find((m) => !m.heard) ?? theirs[0];
  return (
    <ChildFrame title={latest?.sender_name ?? t("kiosk.home.title")} back="/kiosk/home">
      {latest ? (
        <section class="card" aria-labelledby="latest">
          <h2 id="latest">{t("kiosk.thread.latest")} · {formatTime(latest.created_at)}</h2>
          <KioskMessage message={latest} big />
        </section>
      ) : (
        <p>{t("kiosk.thread.none")}</p>
      )}
      <h2>{t("kiosk.reply")}</h2>
      <RecorderPanel target={{ purpose: "message", target: threadId, label: t("kiosk.reply") }} />
      <Outbox target={threadId} />
      {messages.length > 1 ? (
        <section aria-labelledby="older">
          <h2 id="older">{t("kiosk.thread.older")}</h2>
          <ul class="list">
            {messages.filter((m) => m !== latest).map((m) => (
              <li key={m.id} class={m.sender_id === me?.id ? "bubble mine" : "bubble"}>
                <p class="muted">{m.sender_id === me?.id ? t("kiosk.mine") : m.sender_name} · {formatTime(m.created_at)}</p>
                <KioskMessage message={m} />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </ChildFrame>
  );
}
