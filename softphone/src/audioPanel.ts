/**
 * The "Audio" panel of the agent desktop: microphone and speaker choice, a level meter for each,
 * and the "Test audio" button (the echo test). Self-contained: the page mounts it into an element
 * and hands it accessors for what only the page knows (the phone's UserAgent, the call's
 * RTCPeerConnection, the element that plays the call).
 *
 * The meters show a call while one is up (what is sent, what is heard) and the echo test while it
 * runs; between calls they rest, so the page does not hold the microphone (and the browser's
 * recording indicator) while the agent waits.
 */
import type { UserAgent } from 'sip.js';
import { LevelMeter } from './audioMeters.ts';
import {
  applySpeaker,
  canChooseSpeaker,
  fillSelect,
  listDevices,
  loadPrefs,
  resolvePreferred,
  savePrefs,
  switchMicrophone,
  type DeviceInfo,
  type DevicePrefs,
} from './devices.ts';
import { dialEcho, verdict, type EchoCall, type EchoVerdict } from './echoTest.ts';

export interface AudioPanelDeps {
  /** The phone's UserAgent once the agent is logged in. */
  userAgent(): UserAgent | undefined;
  /** The echo extension's SIP URI (sip:<server.echoTest.extension>@<realm>, from the login reply), once logged in. */
  echoUri(): string | undefined;
  /** The RTCPeerConnection of the customer call in progress, if any. */
  peerConnection(): RTCPeerConnection | undefined;
  /** The element that plays the customer call (the speaker choice applies to it). */
  callAudio(): HTMLMediaElement | undefined;
  /** Seconds an echo test lasts before it hangs up on its own; default 6. */
  echoSeconds?: number;
}

export interface AudioPanel {
  readonly mic: LevelMeter;
  readonly speaker: LevelMeter;
  /** A call started (its streams) or ended (undefined): the meters follow it. */
  call(streams: { local?: MediaStream; remote?: MediaStream } | undefined): void;
  /** The chosen microphone's deviceId ('default' for the system's): for the next call's getUserMedia. */
  micId(): string;
  /** Run the echo test (what the button does). */
  runEchoTest(): Promise<EchoVerdict>;
  readonly state: {
    echo: 'idle' | 'dialling' | 'testing' | 'done' | 'failed';
    verdict?: EchoVerdict;
    error?: string;
    remote?: MediaStream;
  };
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, unknown> = {},
  ...kids: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...kids);
  return e;
}

export function mountAudioPanel(root: HTMLElement, deps: AudioPanelDeps): AudioPanel {
  let prefs: DevicePrefs = loadPrefs();
  let devices: DeviceInfo[] = [];
  const micSel = el('select', { id: 'audio-mic' });
  const spkSel = el('select', { id: 'audio-speaker' });
  const micMeterEl = el('div', { id: 'mic-meter' });
  const spkMeterEl = el('div', { id: 'speaker-meter' });
  const testBtn = el('button', { id: 'audio-test', type: 'button', textContent: 'Test audio' });
  const result = el('p', { id: 'audio-result', className: 'audio-result' });
  result.setAttribute('role', 'status');
  result.setAttribute('aria-live', 'polite');
  const echoAudio = el('audio', { id: 'echo-audio', autoplay: true });
  const speakerNote = el('p', {
    className: 'audio-note',
    textContent: canChooseSpeaker() ? '' : 'This browser plays calls on the system speaker.',
  });
  root.classList.add('audio-panel');
  root.replaceChildren(
    el('h2', { id: 'audio-panel-title', textContent: 'Audio' }),
    el(
      'div',
      { className: 'audio-grid' },
      el('label', { htmlFor: 'audio-mic', textContent: 'Microphone' }),
      micSel,
      micMeterEl,
      el('label', { htmlFor: 'audio-speaker', textContent: 'Speaker' }),
      spkSel,
      spkMeterEl,
    ),
    speakerNote,
    el('div', { className: 'buttons' }, testBtn),
    result,
    echoAudio,
  );
  spkSel.disabled = !canChooseSpeaker();
  const mic = new LevelMeter(micMeterEl, 'Microphone level');
  const speaker = new LevelMeter(spkMeterEl, 'Speaker level');
  const state: AudioPanel['state'] = { echo: 'idle' };
  let echo: EchoCall | undefined;

  const micId = (): string => resolvePreferred(devices, 'audioinput', prefs.mic);
  const spkId = (): string => resolvePreferred(devices, 'audiooutput', prefs.speaker);

  async function refresh(): Promise<void> {
    const before = { mic: micId(), spk: spkId() };
    devices = await listDevices().catch(() => []);
    fillSelect(micSel, devices, 'audioinput', micId());
    fillSelect(spkSel, devices, 'audiooutput', spkId());
    // A chosen device that went away: the system default takes over, and the agent is told.
    const gone: string[] = [];
    if (before.mic !== 'default' && micId() === 'default') gone.push('microphone');
    if (before.spk !== 'default' && spkId() === 'default') gone.push('speaker');
    if (gone.length) result.textContent = `Your ${gone.join(' and ')} was disconnected: using the system default.`;
    await applySpeakers();
  }

  async function applySpeakers(): Promise<void> {
    for (const a of [deps.callAudio(), echoAudio]) if (a) await applySpeaker(a, spkId()).catch(() => false);
  }

  micSel.addEventListener('change', () => {
    const d = devices.find((x) => x.deviceId === micSel.value);
    prefs = { ...prefs, mic: { id: micSel.value, label: d?.label ?? '' } };
    savePrefs(prefs);
    // The call in progress switches at once (replaceTrack, no re-INVITE); the next call uses it too.
    const pc = deps.peerConnection() ?? (echo ? echoPc : undefined);
    if (pc)
      void switchMicrophone(pc, micId())
        .then((t) => t && mic.attach(new MediaStream([t])))
        .catch((e: unknown) => (result.textContent = `Could not switch the microphone: ${String(e)}`));
  });
  spkSel.addEventListener('change', () => {
    const d = devices.find((x) => x.deviceId === spkSel.value);
    prefs = { ...prefs, speaker: { id: spkSel.value, label: d?.label ?? '' } };
    savePrefs(prefs);
    void applySpeakers();
  });
  navigator.mediaDevices?.addEventListener?.('devicechange', () => void refresh());
  void refresh();

  let echoPc: RTCPeerConnection | undefined;
  async function runEchoTest(): Promise<EchoVerdict> {
    const ua = deps.userAgent();
    const uri = deps.echoUri();
    const refused = !ua
      ? 'log in first'
      : !uri
        ? 'this centre has no echo test (server.echoTest is off)'
        : deps.peerConnection()
          ? 'not during a call'
          : echo
            ? 'an echo test is running'
            : '';
    if (refused || !ua || !uri) {
      if (!echo) result.textContent = `Echo test: ${refused}`;
      throw new Error(refused);
    }
    testBtn.disabled = true;
    state.echo = 'dialling';
    state.error = undefined;
    result.textContent = 'Calling the echo test… speak, you should hear yourself.';
    const call = dialEcho(ua, uri, micId());
    echo = call;
    try {
      const s = await call.established;
      echoPc = s.pc;
      state.echo = 'testing';
      state.remote = s.remote;
      echoAudio.srcObject = s.remote;
      await applySpeakers();
      void echoAudio.play().catch(() => undefined);
      mic.attach(s.local);
      speaker.attach(s.remote);
      mic.resetPeak();
      speaker.resetPeak();
      const secs = deps.echoSeconds ?? 6;
      for (let i = secs; i > 0; i--) {
        result.textContent = `Testing… speak now, you should hear yourself (${i} s)`;
        await Promise.race([new Promise((r) => setTimeout(r, 1000)), call.ended]);
      }
      const v = verdict(mic.peakDb, speaker.peakDb);
      state.verdict = v;
      state.echo = 'done';
      result.textContent = v.message;
      result.dataset.ok = String(v.ok);
      return v;
    } catch (e) {
      state.echo = 'failed';
      state.error = e instanceof Error ? e.message : String(e);
      result.textContent = `Echo test failed: ${state.error}`;
      result.dataset.ok = 'false';
      throw e;
    } finally {
      await call.hangUp();
      echo = undefined;
      echoPc = undefined;
      echoAudio.srcObject = null;
      mic.attach(undefined);
      speaker.attach(undefined);
      testBtn.disabled = false;
      // Labels become readable once the page has had the microphone.
      void refresh();
    }
  }
  testBtn.addEventListener('click', () => void runEchoTest().catch(() => undefined));

  return {
    mic,
    speaker,
    state,
    micId,
    runEchoTest,
    call(streams) {
      mic.attach(streams?.local);
      speaker.attach(streams?.remote);
      // One call at a time: no echo test while a customer is on the line.
      if (!echo) testBtn.disabled = !!streams;
      if (streams) void applySpeakers();
    },
  };
}
