/**
 * Recording for a thread: hold-to-talk for a short note, or the long
 * recorder (pause, resume, elapsed, level, listen back, discard, send).
 * The recorder and the outbox hold the state; this only shows it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { formatDuration, t } from "../lib/i18n";
import { Recorder, recordedBlob } from "../lib/recorder";
import { type OutboxItem, beginRecording, discard, finishRecording } from "../lib/uploads";

export interface Target {
  purpose: OutboxItem["purpose"];
  target: string;
  label: string;
  /** Extra upload metadata, read when recording starts (a chapter's title and release time). */
  meta?: () => Record<string, string>;
}

const MAX_MS = 2 * 3600 * 1000;
/** A hold shorter than this was a tap, not a note: nothing is sent (as WeChat does). */
export const MIN_HOLD_MS = 1000;
/** Sliding the finger this far up from the button while holding cancels the note. */
const CANCEL_SLIDE_PX = 60;

export function useRecorder(target: Target) {
  const [, redraw] = useState(0);
  const recorder = useRef<Recorder | null>(null);
  const [error, setError] = useState<string | null>(null);
  const update = () => redraw((n) => n + 1);

  useEffect(() => {
    const timer = window.setInterval(() => {
      const r = recorder.current;
      if (r && r.state === "recording") {
        update();
        if (r.elapsedMs >= MAX_MS) void stop(true);
      }
    }, 250);
    return () => {
      window.clearInterval(timer);
      const r = recorder.current;
      // Leaving the screen keeps what was recorded: the outbox offers to send it.
      if (r && (r.state === "recording" || r.state === "paused")) void r.stop();
    };
  }, []);

  // A hold released before the microphone opened must wait for it, or the mic stays on.
  const starting = useRef<Promise<void>>(Promise.resolve());

  function start(): Promise<void> {
    setError(null);
    const r = new Recorder(update);
    recorder.current = r;
    starting.current = (async () => {
      await beginRecording({
        id: r.id,
        purpose: target.purpose,
        target: target.target,
        label: target.label,
        meta: target.meta?.(),
        source: "recording",
        mime: "",
        size: 0,
      });
      try {
        await r.start();
      } catch {
        await discard(r.id);
        if (recorder.current === r) recorder.current = null;
        setError(t("recorder.noMic"));
        update();
      }
    })();
    return starting.current;
  }

  async function stop(send: boolean): Promise<void> {
    await starting.current;
    const r = recorder.current;
    if (!r) return;
    const done = await r.stop();
    if (send) {
      await finishRecording(r.id, done.durationMs, done.size, done.mime);
      recorder.current = null;
    }
    update();
  }

  async function sendStopped(): Promise<void> {
    const r = recorder.current;
    if (!r) return;
    const blob = await recordedBlob(r.id, "");
    await finishRecording(r.id, r.elapsedMs, blob.size, blob.type);
    recorder.current = null;
    update();
  }

  async function drop(): Promise<void> {
    await starting.current;
    const r = recorder.current;
    if (!r) return;
    await r.discard();
    await discard(r.id);
    recorder.current = null;
    update();
  }

  return { recorder: recorder.current, error, start, stop, sendStopped, drop };
}

export function RecorderPanel(props: { target: Target; hold?: boolean; long?: string }) {
  const rec = useRecorder(props.target);
  const r = rec.recorder;
  const [listenUrl, setListenUrl] = useState<string | null>(null);
  const [holding, setHolding] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const holdFrom = useRef({ y: 0, at: 0 });

  function endHold(cancel: boolean): void {
    setHolding(false);
    setCancelling(false);
    const short = performance.now() - holdFrom.current.at < MIN_HOLD_MS;
    if (cancel || short) {
      setNote(cancel ? t("recorder.cancelled") : t("recorder.tooShort"));
      void rec.drop();
    } else {
      setNote(null);
      void rec.stop(true);
    }
  }

  async function listenBack(): Promise<void> {
    if (!r) return;
    const blob = await recordedBlob(r.id, "audio/webm");
    setListenUrl(URL.createObjectURL(blob));
  }

  const holdButton = (
    <button
      type="button"
      class={holding ? (cancelling ? "hold active cancel" : "hold active") : "hold"}
      data-testid="hold-to-talk"
      data-state={holding ? (cancelling ? "cancelling" : "holding") : "idle"}
      onPointerDown={(e) => {
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
        holdFrom.current = { y: e.clientY, at: performance.now() };
        setHolding(true);
        setCancelling(false);
        setNote(null);
        void rec.start();
      }}
      onPointerMove={(e) => {
        if (holding) setCancelling(holdFrom.current.y - e.clientY > CANCEL_SLIDE_PX);
      }}
      onPointerUp={() => {
        if (holding) endHold(cancelling);
      }}
      onPointerCancel={() => {
        if (holding) endHold(true);
      }}
      // A long press must not open the phone's context menu or select text.
      onContextMenu={(e) => e.preventDefault()}
    >
      {holding ? (cancelling ? t("recorder.releaseCancel") : t("recorder.release")) : t("recorder.hold")}
    </button>
  );
  // One layout while idle and while holding, the button always first: re-creating it
  // mid-hold would lose the pointer capture and the release would never arrive.
  if (!r || r.state === "idle" || holding) {
    return (
      <div class="card">
        {props.hold === false ? null : holdButton}
        {holding && r ? <p class="timer" role="timer" aria-live="off">{formatDuration(r.elapsedMs)}</p> : null}
        {holding ? <p class="muted" data-testid="hold-hint">{cancelling ? t("recorder.releaseCancel") : t("recorder.slideCancel")}</p> : null}
        {note && !holding ? <p class="muted" role="status" data-testid="hold-note">{note}</p> : null}
        {holding ? null : (
          <p class="row">
            <button type="button" class="secondary" data-testid="record-long" onClick={() => void rec.start()}>
              ● {props.long ?? t("recorder.long")}
            </button>
          </p>
        )}
        {rec.error ? <p class="error" role="alert">{rec.error}</p> : null}
      </div>
    );
  }
  return (
    <div class="card" data-testid="recorder" data-state={r.state}>
      <p class="timer" role="timer" aria-live="off" data-testid="elapsed">{formatDuration(r.elapsedMs)}</p>
      <div class="meter" role="meter" aria-label={t("recorder.level")} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(r.level * 100)}>
        <div style={{ width: `${Math.round(r.level * 100)}%` }} />
      </div>
      <p class="muted" role="status">{t(`recorder.state.${r.state}` as "recorder.state.recording")}</p>
      <div class="row">
        {r.state === "recording" ? (
          <button type="button" class="secondary" data-testid="pause" onClick={() => r.pause()}>❚❚ {t("recorder.pause")}</button>
        ) : null}
        {r.state === "paused" ? (
          <button type="button" class="secondary" data-testid="resume" onClick={() => r.resume()}>● {t("recorder.resume")}</button>
        ) : null}
        {r.state !== "stopped" ? (
          <button type="button" class="secondary" data-testid="stop" onClick={() => void rec.stop(false)}>■ {t("recorder.stop")}</button>
        ) : null}
        {r.state === "stopped" ? (
          <>
            <button type="button" class="secondary" onClick={() => void listenBack()}>{t("recorder.listen")}</button>
            <button type="button" data-testid="send" onClick={() => void rec.sendStopped()}>{t("recorder.send")}</button>
          </>
        ) : (
          <button type="button" data-testid="stop-send" onClick={() => void rec.stop(true)}>{t("recorder.send")}</button>
        )}
        <button type="button" class="danger" onClick={() => void rec.drop()}>{t("recorder.discard")}</button>
      </div>
      {listenUrl ? <audio controls src={listenUrl} aria-label={t("recorder.listen")} /> : null}
    </div>
  );
}
