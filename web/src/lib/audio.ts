/**
 * Fetches a recording with the caller's credentials and plays it from a blob:
 * URL (an <audio src> cannot carry an Authorization header). Progress is
 * reported as heard segments with a play id made per press of play, so a
 * re-sent report never counts a second play.
 */
import { freshAuthHeaders } from "./session";

export async function audioUrl(path: string): Promise<string> {
  const response = await fetch(path, { headers: await freshAuthHeaders() });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

export interface Segment {
  start_ms: number;
  end_ms: number;
  at: string;
}

/** Collects what was actually heard (not skipped over) between reports. */
export class HeardTracker {
  playId = crypto.randomUUID();
  private segments: Segment[] = [];
  private from: number | null = null;
  private last = 0;

  tick(positionMs: number, playing: boolean, rate = 1): void {
    if (!playing) {
      this.close();
      return;
    }
    // timeupdate fires about 4 times a second; a bigger jump than that is a seek.
    if (this.from === null || positionMs < this.last || positionMs - this.last > 1500 * Math.max(1, rate)) {
      this.close();
      this.from = positionMs;
    }
    this.last = positionMs;
  }

  close(): void {
    if (this.from !== null && this.last > this.from) {
      this.segments.push({ start_ms: Math.round(this.from), end_ms: Math.round(this.last), at: new Date().toISOString() });
    }
    this.from = null;
  }

  take(): Segment[] {
    const out = this.segments;
    this.segments = [];
    return out;
  }
}
