/**
 * Recording pause for card numbers (PCI DSS), on the desk: one button that pauses and resumes the
 * call's recording (POST /api/v1/agent/call/recording/pause | resume), and while paused a banner
 * everyone at the desk sees, "Recording paused", with how long it has been paused, so nobody
 * forgets to resume. The centre resumes on its own when the agent leaves the call or it ends; the
 * page clears the banner then too (the call is over).
 */

export interface RecordingControlDeps {
  /** POST to the agent API with the session's token; rejects with the server's error message. */
  post(path: string): Promise<unknown>;
  /** Whether the agent is on a connected call now. */
  onCall(): boolean;
}

export interface RecordingControl {
  readonly state: { paused: boolean; pausedSince: number; error: string };
  /** Tell the control the call state changed (the page calls it from its render). */
  update(): void;
}

/** "m:ss" for the banner (pure). */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function mountRecordingControl(root: HTMLElement, deps: RecordingControlDeps): RecordingControl {
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'rec-toggle';
  button.className = 'rec-toggle';
  button.setAttribute('aria-pressed', 'false');
  button.title = 'Pause the recording while the customer reads out card details (Alt+P)';
  button.setAttribute('aria-keyshortcuts', 'Alt+P');
  const banner = document.createElement('div');
  banner.id = 'rec-banner';
  banner.className = 'rec-banner';
  banner.setAttribute('role', 'status');
  banner.setAttribute('aria-live', 'polite');
  banner.hidden = true;
  const label = document.createElement('strong');
  label.textContent = 'Recording paused';
  const time = document.createElement('span');
  time.className = 'rec-elapsed';
  // The seconds tick silently: a screen reader hears "Recording paused" once, not every second.
  time.setAttribute('aria-hidden', 'true');
  const hint = document.createElement('span');
  hint.className = 'rec-hint';
  hint.textContent = 'Card details are not recorded. Resume when done.';
  banner.append(label, ' ', time, ' ', hint);
  const error = document.createElement('span');
  error.className = 'error';
  error.setAttribute('role', 'alert');
  root.replaceChildren(button, banner, error);

  const state = { paused: false, pausedSince: 0, error: '' };
  let timer: ReturnType<typeof setInterval> | undefined;

  function render(): void {
    const on = deps.onCall();
    if (!on && state.paused) {
      // The call is over: the centre has resumed (and stopped) the recording itself.
      state.paused = false;
    }
    button.hidden = !on;
    button.textContent = state.paused ? 'Resume recording' : 'Pause recording';
    button.setAttribute('aria-pressed', String(state.paused));
    banner.hidden = !state.paused;
    time.textContent = state.paused ? elapsed(Date.now() - state.pausedSince) : '';
    error.textContent = state.error;
    if (state.paused && !timer) timer = setInterval(render, 1000);
    if (!state.paused && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  async function toggle(): Promise<void> {
    state.error = '';
    button.disabled = true;
    try {
      const r = (await deps.post(`/api/v1/agent/call/recording/${state.paused ? 'resume' : 'pause'}`)) as {
        paused?: boolean;
        pausedSince?: number;
      };
      state.paused = r.paused === true;
      state.pausedSince = r.pausedSince ?? Date.now();
    } catch (e) {
      state.error = e instanceof Error ? e.message : String(e);
    } finally {
      button.disabled = false;
      render();
    }
  }
  button.addEventListener('click', () => void toggle());
  document.addEventListener('keydown', (ev) => {
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && ev.key.toLowerCase() === 'p' && !button.hidden) {
      ev.preventDefault();
      void toggle();
    }
  });
  render();
  return { state, update: render };
}
