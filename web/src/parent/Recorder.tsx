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
}

const MAX_MS = 2 * 3600 * 1000;

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

  async function start(): Promise<void> {
    setError(null);
    const r = new Recorder(update);
    recorder.current = r;
    await beginRecording({ id: r.id, purpose: target.purpose, target: target.target, label: target.label, source: "recording", mime: "", size: 0 });
    try {
      await r.start();
    } catch {
      await discard(r.id);
      recorder.current = null;
      setError(t("recorder.noMic"));
      update();
    }
  }

  async function stop(send: boolean): Promise<void> {
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
    const r = recorder.current;
    if (!r) return;
    await r.discard();
    await discard(r.id);
    recorder.current = null;
    update();
  }

  return { recorder: recorder.current, error, start, stop, sendStopped, drop };
}

export function RecorderPanel(props: { target: Target }) {
  const rec = useRecorder(props.target);
  const r = rec.recorder;
  const [listenUrl, setListenUrl] = useState<string | null>(null);
  const [holding, setHolding] = useState(false);

  async function listenBack(): Promise<void> {
    if (!r) return;
    const blob = await recordedBlob(r.id, "audio/webm");
    setListenUrl(URL.createObjectURL(blob));
  }

  if (!r || r.state === "idle") {
    return (
      <div class="card">
        <button
          type="button"
          class={holding ? "hold active" : "hold"}
          data-testid="hold-to-talk"
          onPointerDown={(e) => {
            (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
            setHolding(true);
            void rec.start();
          }}
          onPointerUp={() => {
            setHolding(false);
            void rec.stop(true);
          }}
          onPointerCancel={() => {
            setHolding(false);
            void rec.drop();
          }}
        >
          {holding ? t("recorder.release") : t("recorder.hold")}
        </button>
        <p class="row">
          <button type="button" class="secondary" data-testid="record-long" onClick={() => void rec.start()}>
            ● {t("recorder.long")}
          </button>
        </p>
        {rec.error ? <p class="error" role="alert">{rec.error}</p> : null}
      </div>
    );
  }
  if (holding) return <div class="card"><p class="timer">{formatDuration(r.elapsedMs)}</p></div>;
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
