/**
 * Making an offer impossible to miss. Agents keep the desktop in a background tab behind the CRM;
 * an offer that only changes the page's own pixels rings out unanswered (ring-no-answer) — peers'
 * users lose calls exactly here. While a call rings: a ringtone (WebAudio, so no audio file and no
 * autoplay of a media element), the tab title blinks with the caller, and, when the agent allowed
 * it, a system notification that brings the tab forward when clicked. All three stop the moment
 * the offer ends, however it ends.
 */

let audio: AudioContext | undefined;
let ringTimer: ReturnType<typeof setInterval> | undefined;
let titleTimer: ReturnType<typeof setInterval> | undefined;
let notice: Notification | undefined;
const baseTitle = document.title;

/** Ask for notifications from a click (browsers only ask on a user gesture), e.g. at login. */
export function askForNotifications(): void {
  if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission().catch(() => undefined);
}

/** An AudioContext made on the login click may start; one made later, without a gesture, may not. */
export function unlockAudio(): void {
  audio ??= new AudioContext();
  void audio.resume().catch(() => undefined);
}

/** One ring: 440 + 480 Hz for 2 s (the North American ring cadence: 2 s on, 4 s off). */
function ring(): void {
  if (!audio || audio.state !== 'running') return;
  const gain = audio.createGain();
  gain.gain.value = 0.08;
  gain.connect(audio.destination);
  const t = audio.currentTime;
  for (const f of [440, 480]) {
    const osc = audio.createOscillator();
    osc.frequency.value = f;
    osc.connect(gain);
    osc.start(t);
    osc.stop(t + 2);
  }
}

export function startAlerting(caller: string, queue: string): void {
  stopAlerting();
  ring();
  ringTimer = setInterval(ring, 6000);
  let on = false;
  titleTimer = setInterval(() => {
    on = !on;
    document.title = on ? `☎ ${caller} — ${queue}` : baseTitle;
  }, 800);
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    notice = new Notification('Incoming call', { body: `${caller} · ${queue}`, tag: 'cc-offer', requireInteraction: true });
    notice.onclick = () => {
      window.focus();
      notice?.close();
    };
  }
}

export function stopAlerting(): void {
  if (ringTimer) clearInterval(ringTimer);
  if (titleTimer) clearInterval(titleTimer);
  ringTimer = titleTimer = undefined;
  document.title = baseTitle;
  notice?.close();
  notice = undefined;
}
