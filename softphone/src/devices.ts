/**
 * Microphone and speaker choice for the agent desktop: the devices the browser lists
 * (enumerateDevices), the agent's choice kept per browser (localStorage), getUserMedia with the
 * chosen microphone, HTMLMediaElement.setSinkId for the chosen speaker, and a switch of the
 * microphone in the middle of a call (RTCRtpSender.replaceTrack, no renegotiation).
 *
 * Device ids can change (a browser clears them with its site data; a headset plugged into another
 * port), so a choice is kept as id and label, and found again by label when the id is gone
 * (resolvePreferred, pure and unit-tested). A device unplugged mid-shift (devicechange) falls back
 * to the system default and the page says so.
 */

export type AudioKind = 'audioinput' | 'audiooutput';

export interface DeviceInfo {
  deviceId: string;
  label: string;
  kind: string;
}

export interface DeviceChoice {
  id: string;
  label: string;
}

export interface DevicePrefs {
  mic?: DeviceChoice;
  speaker?: DeviceChoice;
}

export const PREFS_KEY = 'cc.audio.devices';

/**
 * The device to use for a saved choice: the same id if it is still there, else a device with the
 * same label (ids were reset), else 'default' (the system's choice). A missing choice is 'default'.
 */
export function resolvePreferred(devices: readonly DeviceInfo[], kind: AudioKind, saved: DeviceChoice | undefined): string {
  const mine = devices.filter((d) => d.kind === kind);
  if (!saved || saved.id === 'default') return 'default';
  if (mine.some((d) => d.deviceId === saved.id)) return saved.id;
  const byLabel = saved.label ? mine.find((d) => d.label === saved.label) : undefined;
  return byLabel ? byLabel.deviceId : 'default';
}

/** Read the saved choices; a corrupt or foreign value is no choice. */
export function loadPrefs(storage: Pick<Storage, 'getItem'> | undefined = safeStorage()): DevicePrefs {
  try {
    const raw = storage?.getItem(PREFS_KEY);
    if (!raw) return {};
    const v = JSON.parse(raw) as unknown;
    const choice = (x: unknown): DeviceChoice | undefined =>
      typeof x === 'object' && x !== null && typeof (x as DeviceChoice).id === 'string' && typeof (x as DeviceChoice).label === 'string'
        ? { id: (x as DeviceChoice).id, label: (x as DeviceChoice).label }
        : undefined;
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    const mic = choice(o.mic);
    const speaker = choice(o.speaker);
    return { ...(mic ? { mic } : {}), ...(speaker ? { speaker } : {}) };
  } catch {
    return {};
  }
}

export function savePrefs(prefs: DevicePrefs, storage: Pick<Storage, 'setItem'> | undefined = safeStorage()): void {
  try {
    storage?.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    // Storage full or blocked (private mode): the choice lasts for this page only.
  }
}

function safeStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}

/** Audio constraints for a microphone: raw audio (browser processing distorts tones and adds delay). */
export function micConstraints(deviceId: string): MediaTrackConstraints {
  return {
    echoCancellation: false,
    noiseSuppression: false,
    autoGainControl: false,
    ...(deviceId && deviceId !== 'default' ? { deviceId: { exact: deviceId } } : {}),
  };
}

/** Whether this browser can choose the speaker (setSinkId: Chromium, Firefox 116+, Safari not yet). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

type SinkElement = HTMLMediaElement & { setSinkId?(id: string): Promise<void> };

/** Send an element's audio to a speaker; false if the browser cannot. */
export async function applySpeaker(el: HTMLMediaElement, deviceId: string): Promise<boolean> {
  const e = el as SinkElement;
  if (!e.setSinkId) return false;
  await e.setSinkId(deviceId === 'default' ? '' : deviceId);
  return true;
}

/**
 * Switch the microphone of a call in progress: a new track from the chosen device replaces the
 * sender's (no re-INVITE), and the old track is stopped. Returns the new track.
 */
export async function switchMicrophone(pc: RTCPeerConnection, deviceId: string): Promise<MediaStreamTrack | undefined> {
  const sender = pc.getSenders().find((s) => s.track?.kind === 'audio' || (!s.track && s.dtmf !== null));
  if (!sender) return undefined;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: micConstraints(deviceId), video: false });
  const track = stream.getAudioTracks()[0];
  if (!track) return undefined;
  const old = sender.track;
  await sender.replaceTrack(track);
  old?.stop();
  return track;
}

/** The audio devices, labelled (labels are empty until the page has had the microphone once). */
export async function listDevices(): Promise<DeviceInfo[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const all = await navigator.mediaDevices.enumerateDevices();
  return all
    .filter((d) => d.kind === 'audioinput' || d.kind === 'audiooutput')
    .map((d) => ({ deviceId: d.deviceId, label: d.label, kind: d.kind }));
}

/**
 * Fill a <select> with the devices of a kind, 'default' first, and select `chosen`. Labels the
 * browser has not disclosed yet read "Microphone 1", "Speaker 2".
 */
export function fillSelect(select: HTMLSelectElement, devices: readonly DeviceInfo[], kind: AudioKind, chosen: string): void {
  const noun = kind === 'audioinput' ? 'Microphone' : 'Speaker';
  const opts = [{ deviceId: 'default', label: 'System default' }, ...devices.filter((d) => d.kind === kind && d.deviceId !== 'default')];
  select.replaceChildren(
    ...opts.map((d, i) => {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || `${noun} ${i}`;
      return o;
    }),
  );
  select.value = opts.some((d) => d.deviceId === chosen) ? chosen : 'default';
}
