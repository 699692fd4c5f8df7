/**
 * A message or chapter player: a waveform that seeks, play/pause, and
 * "continue where you stopped". It reports heard segments through `report`,
 * which the caller points at the right progress route.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { HeardTracker, type Segment, audioUrl } from "./audio";
import { formatDuration, t } from "./i18n";

export interface PlayerProps {
  src: string;
  durationMs: number;
  startMs?: number;
  peaks?: number[];
  big?: boolean;
  label: string;
  report?: (playId: string, positionMs: number, segments: Segment[]) => Promise<void>;
  onEnded?: () => void;
}

const BARS = 48;

function bars(peaks: number[] | undefined): number[] {
  if (!peaks || peaks.length === 0) return Array.from({ length: BARS }, () => 0.35);
  const out: number[] = [];
  for (let i = 0; i < BARS; i++) {
    const a = Math.floor((i * peaks.length) / BARS);
    const b = Math.max(a + 1, Math.floor(((i + 1) * peaks.length) / BARS));
    out.push(Math.max(0.05, ...peaks.slice(a, b)));
  }
  return out;
}

export function Player(props: PlayerProps) {
  const audio = useRef<HTMLAudioElement>(null);
  const tracker = useRef(new HeardTracker());
  const [url, setUrl] = useState<string | null>(null);
  const [position, setPosition] = useState(props.startMs ?? 0);
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState(false);
  const [measured, setMeasured] = useState(0);
  const duration = props.durationMs || measured || 1;

  useEffect(() => () => {
    if (url) URL.revokeObjectURL(url);
  }, [url]);

  async function flush(): Promise<void> {
    const el = audio.current;
    if (!props.report || !el) return;
    tracker.current.close();
    const segments = tracker.current.take();
    // The browser's end of the audio may pass the server's measured duration by a frame.
    const position = Math.min(Math.round(el.currentTime * 1000), props.durationMs || Number.MAX_SAFE_INTEGER);
    await props.report(tracker.current.playId, position, segments).catch(() => undefined);
  }

  useEffect(() => {
    if (!playing) return;
    const timer = window.setInterval(() => void flush(), 10_000);
    return () => window.clearInterval(timer);
  }, [playing]);

  async function toggle(): Promise<void> {
    let el = audio.current!;
    if (!url) {
      try {
        const made = await audioUrl(props.src);
        setUrl(made);
        el.src = made;
        el.currentTime = position >= duration - 500 ? 0 : position / 1000;
      } catch {
        setError(true);
        return;
      }
    }
    el = audio.current!;
    if (el.paused) {
      tracker.current.playId = crypto.randomUUID();
      await el.play().catch(() => setError(true));
    } else {
      el.pause();
    }
  }

  function seek(ms: number): void {
    const el = audio.current;
    setPosition(ms);
    if (el && url) el.currentTime = ms / 1000;
  }

  const shown = bars(props.peaks);
  const played = position / duration;
  return (
    <div class="player">
      <div class="row">
        <button
          type="button"
          class={props.big ? "bigplay" : ""}
          aria-label={playing ? t("player.pause") : t("player.play")}
          data-testid="play"
          onClick={() => void toggle()}
        >
          {playing ? "❚❚" : "▶"}
        </button>
        <div style={{ flex: 1 }}>
          <div
            class="wave"
            role="slider"
            tabIndex={0}
            aria-label={props.label}
            aria-valuemin={0}
            aria-valuemax={Math.round(duration / 1000)}
            aria-valuenow={Math.round(position / 1000)}
            aria-valuetext={`${formatDuration(position)} / ${formatDuration(duration)}`}
            onClick={(event) => {
              const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
              seek(((event.clientX - box.left) / box.width) * duration);
            }}
            onKeyDown={(event) => {
              if (event.key === "ArrowRight") seek(Math.min(duration, position + 5000));
              if (event.key === "ArrowLeft") seek(Math.max(0, position - 5000));
            }}
          >
            {shown.map((h, i) => (
              <span key={i} class={i / BARS < played ? "played" : ""} style={{ height: `${Math.round(h * 100)}%` }} />
            ))}
          </div>
          <div class="row spread muted">
            <span data-testid="position">{formatDuration(position)}</span>
            <span>{formatDuration(duration)}</span>
          </div>
        </div>
      </div>
      {error ? <p class="error" role="alert">{t("player.error")}</p> : null}
      <audio
        ref={audio}
        preload="none"
        onPlay={() => setPlaying(true)}
        onLoadedMetadata={(event) => {
          const seconds = (event.currentTarget as HTMLAudioElement).duration;
          if (Number.isFinite(seconds)) setMeasured(seconds * 1000);
        }}
        onPause={() => {
          setPlaying(false);
          tracker.current.tick(position, false);
          void flush();
        }}
        onEnded={() => {
          setPlaying(false);
          const end = duration;
          // At the rate it played: a fast listen's last timeupdate is far from the end.
          tracker.current.tick(end, true, audio.current?.playbackRate ?? 1);
          setPosition(end);
          void flush().then(() => props.onEnded?.());
        }}
        onTimeUpdate={(event) => {
          const el = event.currentTarget as HTMLAudioElement;
          const ms = el.currentTime * 1000;
          setPosition(ms);
          tracker.current.tick(ms, !el.paused, el.playbackRate);
        }}
      />
    </div>
  );
}
