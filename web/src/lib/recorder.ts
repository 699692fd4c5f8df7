/**
 * Records the microphone with MediaRecorder, one-second chunks written to
 * IndexedDB as they arrive (nothing accumulates in memory, however long the
 * recording), with pause/resume, elapsed time and a level meter. No UI here.
 */
import { CHUNKS, all, del, put, recordingRange } from "./idb";

export type RecorderState = "idle" | "recording" | "paused" | "stopped";

export interface Recording {
  id: string;
  mime: string;
  durationMs: number;
  size: number;
}

const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];

export function pickMime(): string {
  for (const type of TYPES) if (MediaRecorder.isTypeSupported(type)) return type;
  return "";
}

export class Recorder {
  state: RecorderState = "idle";
  level = 0;
  readonly id: string;
  private recorder: MediaRecorder | null = null;
  private stream: MediaStream | null = null;
  private audio: AudioContext | null = null;
  private analyser: AnalyserNode | null = null;
  private seq = 0;
  private size = 0;
  private elapsedBefore = 0;
  private startedAt = 0;
  private writes: Promise<void> = Promise.resolve();
  private meterTimer = 0;

  constructor(
    private readonly onChange: () => void,
    id?: string,
  ) {
    this.id = id ?? crypto.randomUUID();
  }

  get elapsedMs(): number {
    return this.elapsedBefore + (this.state === "recording" ? performance.now() - this.startedAt : 0);
  }

  async start(): Promise<void> {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
    });
    const mime = pickMime();
    this.recorder = new MediaRecorder(this.stream, {
      mimeType: mime || undefined,
      audioBitsPerSecond: 32000,
    });
    this.recorder.ondataavailable = (event) => {
      if (event.data.size === 0) return;
      const seq = this.seq++;
      this.size += event.data.size;
      this.writes = this.writes.then(() => put(CHUNKS, event.data, [this.id, seq]));
    };
    this.recorder.start(1000);
    this.startedAt = performance.now();
    this.state = "recording";
    this.meter();
    this.onChange();
  }

  private meter(): void {
    if (!this.stream) return;
    this.audio = new AudioContext();
    this.analyser = this.audio.createAnalyser();
    this.analyser.fftSize = 512;
    this.audio.createMediaStreamSource(this.stream).connect(this.analyser);
    const samples = new Uint8Array(this.analyser.fftSize);
    this.meterTimer = window.setInterval(() => {
      if (!this.analyser) return;
      this.analyser.getByteTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += ((s - 128) / 128) ** 2;
      this.level = this.state === "recording" ? Math.min(1, Math.sqrt(sum / samples.length) * 4) : 0;
      this.onChange();
    }, 100);
  }

  pause(): void {
    if (this.state !== "recording" || !this.recorder) return;
    this.recorder.pause();
    this.elapsedBefore += performance.now() - this.startedAt;
    this.state = "paused";
    this.onChange();
  }

  resume(): void {
    if (this.state !== "paused" || !this.recorder) return;
    this.recorder.resume();
    this.startedAt = performance.now();
    this.state = "recording";
    this.onChange();
  }

  async stop(): Promise<Recording> {
    const recorder = this.recorder;
    if (recorder && recorder.state !== "inactive") {
      const stopped = new Promise((resolve) => recorder.addEventListener("stop", resolve, { once: true }));
      if (this.state === "recording") this.elapsedBefore += performance.now() - this.startedAt;
      recorder.stop();
      await stopped;
    }
    this.release();
    await this.writes;
    this.state = "stopped";
    this.onChange();
    return { id: this.id, mime: recorder?.mimeType || pickMime(), durationMs: this.elapsedBefore, size: this.size };
  }

  private release(): void {
    window.clearInterval(this.meterTimer);
    this.stream?.getTracks().forEach((track) => track.stop());
    void this.audio?.close();
    this.stream = null;
    this.audio = null;
    this.analyser = null;
    this.level = 0;
  }

  /** Stops without keeping anything. */
  async discard(): Promise<void> {
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    this.release();
    await this.writes;
    await discardChunks(this.id);
    this.state = "idle";
    this.onChange();
  }
}

/** The recording as one Blob; the parts come from IndexedDB (disk-backed), not memory. */
export async function recordedBlob(id: string, mime: string): Promise<Blob> {
  const parts = await all<Blob>(CHUNKS, recordingRange(id));
  return new Blob(parts, { type: mime.split(";")[0] });
}

export function discardChunks(id: string): Promise<void> {
  return del(CHUNKS, recordingRange(id));
}
