/**
 * The console's alarm for a child in danger: a tone through Web Audio (no
 * file to fetch) and a browser notification when the person allowed them.
 * No UI here; the queue shows that it fired.
 */
let context: AudioContext | null = null;
let played = 0;

/** Three short rising tones; returns how many alarms this page has played. */
export function playAlarm(): number {
  try {
    context ??= new AudioContext();
    void context.resume();
    const start = context.currentTime + 0.05;
    [660, 880, 1100].forEach((freq, i) => {
      const osc = context!.createOscillator();
      const gain = context!.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.4, start + i * 0.25 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.25 + 0.22);
      osc.connect(gain).connect(context!.destination);
      osc.start(start + i * 0.25);
      osc.stop(start + i * 0.25 + 0.24);
    });
  } catch {
    // No audio output: the notification and the screen still say it.
  }
  played += 1;
  return played;
}

export function notifyBrowser(title: string, body: string, tag: string): void {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    new Notification(title, { body, tag, requireInteraction: true });
  } catch {
    // Some browsers allow notifications only from a service worker; the tone still plays.
  }
}

export function canAskForNotifications(): boolean {
  return "Notification" in window && Notification.permission === "default";
}

export async function askForNotifications(): Promise<void> {
  if ("Notification" in window) await Notification.requestPermission();
}
