/**
 * The QA workspace (qa.html): a reviewer signs in (HTTP Basic to the QA API, kept in memory
 * only), searches calls, opens one, plays its recording with both channels' waveforms and the
 * call's event timeline beside it, comments at the playhead and scores it on the queue's form.
 * Every figure comes from the server's QA engine (GET /api/v1/qa/…); the audio is fetched with
 * the credentials and played from a blob URL (an <audio src> cannot send an Authorization header).
 * Keyboard: the waveform is a slider (arrows seek 5 s, Home/End, space plays/pauses); the form is
 * radio groups, one per item.
 */

interface Scale {
  max: number;
  labels?: string[];
}
interface FormItem {
  id: string;
  text: string;
  weight: number;
  scale: string;
  na: boolean;
  autoFail: boolean;
}
interface Form {
  id: string;
  title: string;
  passMark: number;
  version: string;
  scales: Record<string, Scale>;
  sections: { id: string; title: string; weight: number; items: FormItem[] }[];
}
interface CallRow {
  contactId: string;
  enteredAt: string;
  queue: string;
  agentId: string | null;
  caller: string | null;
  talkSec: number;
  csat: number[];
  flags: string[];
  evaluations: { reviewer: string; score: number | null; kind: string }[];
}
interface Detail {
  contactId: string;
  recordings: { recordingId: string; audio: string | null }[];
  timeline: { at: string; offsetSec: number; type: string; label: string }[];
  analytics: Record<string, number | null | string | unknown[]>[];
  comments: { offsetMs: number; text: string; author: string }[];
  evaluations: { reviewer: string; score: number | null; kind: string; passed: boolean }[];
  calibration: { spread: number | null; disagreements: { item: string; text: string; answers: Record<string, unknown> }[] } | null;
  form: Form | null;
}
interface Wave {
  durationSec: number;
  caller: number[];
  agent: number[];
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const qa = {
  auth: '' as string,
  user: '' as string,
  calls: [] as CallRow[],
  current: undefined as Detail | undefined,
  wave: undefined as Wave | undefined,
  lastScore: undefined as { score: number | null; passed: boolean } | undefined,
  errors: [] as string[],
};
(window as unknown as { qa: typeof qa }).qa = qa;

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    ...init,
    headers: {
      authorization: qa.auth,
      'x-requested-with': 'fetch',
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.headers ?? {}),
    },
  });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

const text = (tag: string, s: string, cls?: string): HTMLElement => {
  const e = document.createElement(tag);
  e.textContent = s;
  if (cls) e.className = cls;
  return e;
};
const mmss = (sec: number): string => `${Math.floor(sec / 60)}:${String(Math.floor(sec % 60)).padStart(2, '0')}`;

$('qa-login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const user = $<HTMLInputElement>('qa-user').value.trim();
  const pass = $<HTMLInputElement>('qa-password').value;
  qa.auth = `Basic ${btoa(unescape(encodeURIComponent(`${user}:${pass}`)))}`;
  api<{ forms: unknown }>('/api/v1/qa/forms')
    .then(() => {
      qa.user = user;
      $('qa-who').textContent = `signed in as ${user}`;
      $('qa-login').hidden = true;
      $('qa-app').hidden = false;
      $<HTMLInputElement>('s-queue').focus();
      void search();
    })
    .catch((e: Error) => {
      qa.auth = '';
      $('qa-login-error').textContent = e.message;
    });
});

async function search(): Promise<void> {
  const p = new URLSearchParams();
  const v = (id: string): string => $<HTMLInputElement>(id).value.trim();
  if (v('s-from')) p.set('from', v('s-from'));
  if (v('s-to')) p.set('to', v('s-to'));
  for (const [id, k] of [
    ['s-queue', 'queue'],
    ['s-agent', 'agent'],
    ['s-disposition', 'disposition'],
    ['s-min-talk', 'minTalkSec'],
    ['s-max-csat', 'maxCsat'],
    ['s-flag', 'flag'],
  ] as const)
    if (v(id)) p.set(k, v(id));
  if ($<HTMLInputElement>('s-flagged').checked) p.set('flagged', '1');
  const { calls } = await api<{ calls: CallRow[] }>(`/api/v1/qa/calls?${p.toString()}`);
  qa.calls = calls;
  $('s-count').textContent = `${calls.length} call${calls.length === 1 ? '' : 's'}`;
  const tbody = $('qa-results').querySelector('tbody')!;
  tbody.replaceChildren();
  for (const c of calls) {
    const tr = document.createElement('tr');
    tr.dataset.contact = c.contactId;
    tr.append(
      text('td', new Date(c.enteredAt).toLocaleString()),
      text('td', c.queue),
      text('td', c.agentId ?? ''),
      text('td', c.caller ?? ''),
      text('td', mmss(c.talkSec)),
      text('td', c.csat.join(', ')),
    );
    const flags = document.createElement('td');
    for (const f of c.flags) flags.append(text('span', f, 'flag'));
    tr.append(flags, text('td', c.evaluations.map((e) => `${e.score ?? '—'} (${e.reviewer})`).join(', ')));
    const open = document.createElement('td');
    const b = text('button', 'Open');
    b.setAttribute('aria-label', `Open call from ${c.caller ?? 'unknown'} at ${new Date(c.enteredAt).toLocaleString()}`);
    b.addEventListener('click', () => void openCall(c.contactId));
    open.append(b);
    tr.append(open);
    tbody.append(tr);
  }
}
$('qa-search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void search().catch((e: Error) => ($('s-count').textContent = e.message));
});

const audio = $<HTMLAudioElement>('qa-audio');
const canvas = $<HTMLCanvasElement>('qa-wave');

async function openCall(contactId: string): Promise<void> {
  const d = await api<Detail>(`/api/v1/qa/calls/${encodeURIComponent(contactId)}`);
  qa.current = d;
  qa.lastScore = undefined;
  $('qa-results')
    .querySelectorAll('tr')
    .forEach((tr) => tr.classList.toggle('current', tr.dataset.contact === contactId));
  $('qa-call').hidden = false;
  $('qa-call-title').textContent = `Call ${contactId.slice(0, 8)}`;
  renderTimeline(d);
  renderAnalytics(d);
  renderComments(d);
  renderForm(d.form);
  renderCalibration(d);
  $('qa-score-result').textContent = '';
  const rec = d.recordings.find((r) => r.audio);
  if (audio.src.startsWith('blob:')) URL.revokeObjectURL(audio.src);
  audio.removeAttribute('src');
  qa.wave = undefined;
  if (rec?.audio) {
    const res = await fetch(rec.audio, { headers: { authorization: qa.auth } });
    if (res.ok) audio.src = URL.createObjectURL(await res.blob());
    qa.wave = await api<Wave>(
      `/api/v1/qa/calls/${encodeURIComponent(contactId)}/waveform?points=640&recording=${encodeURIComponent(rec.recordingId)}`,
    );
    canvas.setAttribute('aria-valuemax', String(Math.round(qa.wave.durationSec)));
  }
  draw();
  $('qa-call-title').focus();
}

function renderTimeline(d: Detail): void {
  const ol = $('qa-timeline');
  ol.replaceChildren();
  for (const e of d.timeline) {
    const li = document.createElement('li');
    const b = text('button', e.offsetSec >= 0 ? mmss(e.offsetSec) : `−${mmss(-e.offsetSec)}`) as HTMLButtonElement;
    b.setAttribute('aria-label', `Seek to ${e.type}`);
    b.disabled = e.offsetSec < 0;
    b.addEventListener('click', () => seek(e.offsetSec));
    li.append(b, ' ', text('strong', e.type), ' ', text('span', e.label));
    ol.append(li);
  }
}

function renderAnalytics(d: Detail): void {
  const dl = $('qa-analytics');
  dl.replaceChildren();
  const a = d.analytics.find((x) => !x.error);
  if (!a) {
    dl.append(text('dt', 'Analytics'), text('dd', d.analytics[0]?.error ? String(d.analytics[0].error) : 'not analysed yet'));
    return;
  }
  const pct = (x: unknown): string => (typeof x === 'number' ? `${Math.round(x * 100)} %` : '—');
  const s = (x: unknown): string => (typeof x === 'number' ? `${x.toFixed(1)} s` : '—');
  for (const [k, v] of [
    ['Caller talk', pct(a.callerShare)],
    ['Agent talk', pct(a.agentShare)],
    ['Overtalk', pct(a.overtalkShare)],
    ['Longest silence', s(a.longestSilenceSec)],
    ['Hold', s(a.holdSec)],
    ['Flags', ((a.flags as { flag: string }[]) ?? []).map((f) => f.flag).join(', ') || 'none'],
  ])
    dl.append(text('dt', k!), text('dd', v!));
}

function renderComments(d: Detail): void {
  const ul = $('qa-comments');
  ul.replaceChildren();
  for (const c of d.comments) {
    const li = document.createElement('li');
    const b = text('button', mmss(c.offsetMs / 1000));
    b.addEventListener('click', () => seek(c.offsetMs / 1000));
    li.append(b, ` ${c.author}: `, text('span', c.text));
    ul.append(li);
  }
}

function renderForm(form: Form | null): void {
  const body = $('qa-form-body');
  body.replaceChildren();
  if (!form) {
    body.append(text('p', 'No QA form is configured for this queue (config/qa.yaml).'));
    return;
  }
  $('qa-form-title').textContent = `Score: ${form.title} (pass mark ${form.passMark})`;
  for (const s of form.sections) {
    const fs = document.createElement('fieldset');
    fs.append(text('legend', `${s.title} (weight ${s.weight})`));
    for (const it of s.items) {
      const row = document.createElement('div');
      row.className = 'item';
      row.setAttribute('role', 'radiogroup');
      const qid = `q-${it.id}`;
      row.setAttribute('aria-labelledby', qid);
      const q = text('span', it.text);
      q.id = qid;
      if (it.autoFail) q.append(' ', text('span', '(auto-fail)', 'autofail'));
      const choices = document.createElement('span');
      choices.className = 'choices';
      const scale = form.scales[it.scale]!;
      const opts: [string, string][] = [];
      for (let v = 0; v <= scale.max; v++) opts.push([String(v), scale.labels?.[v] ?? String(v)]);
      if (it.na) opts.push(['na', 'N/A']);
      for (const [value, label] of opts) {
        const l = document.createElement('label');
        const r = document.createElement('input');
        r.type = 'radio';
        r.name = it.id;
        r.value = value;
        r.required = true;
        l.append(r, ` ${label}`);
        choices.append(l);
      }
      row.append(q, choices);
      fs.append(row);
    }
    body.append(fs);
  }
}

function renderCalibration(d: Detail): void {
  const div = $('qa-calibration');
  div.replaceChildren();
  if (d.evaluations.length === 0) return;
  div.append(text('h3', 'Evaluations'));
  const ul = document.createElement('ul');
  for (const e of d.evaluations) ul.append(text('li', `${e.reviewer} (${e.kind}): ${e.score ?? '—'} ${e.passed ? 'pass' : 'fail'}`));
  div.append(ul);
  if (d.calibration?.spread !== null && d.calibration?.spread !== undefined) {
    div.append(text('p', `Calibration spread: ${d.calibration.spread} points`));
    for (const x of d.calibration.disagreements) div.append(text('p', `Differ on ${x.text}: ${JSON.stringify(x.answers)}`));
  }
}

$('qa-score').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const d = qa.current;
  if (!d?.form) return;
  const answers: Record<string, number | 'na'> = {};
  for (const s of d.form.sections)
    for (const it of s.items) {
      const r = document.querySelector<HTMLInputElement>(`input[name="${CSS.escape(it.id)}"]:checked`);
      if (r) answers[it.id] = r.value === 'na' ? 'na' : Number(r.value);
    }
  const notes = $<HTMLTextAreaElement>('qa-notes').value.trim();
  api<{ evaluation: { score: number | null; passed: boolean; kind: string } }>(
    `/api/v1/qa/calls/${encodeURIComponent(d.contactId)}/evaluations`,
    {
      method: 'POST',
      body: JSON.stringify({ answers, ...(notes ? { notes } : {}) }),
    },
  )
    .then(async ({ evaluation }) => {
      qa.lastScore = evaluation;
      $('qa-score-result').textContent = `Scored ${evaluation.score ?? '—'}: ${evaluation.passed ? 'pass' : 'fail'} (${evaluation.kind})`;
      const fresh = await api<Detail>(`/api/v1/qa/calls/${encodeURIComponent(d.contactId)}`);
      qa.current = fresh;
      renderCalibration(fresh);
    })
    .catch((e: Error) => ($('qa-score-result').textContent = `Not saved: ${e.message}`));
});

$('qa-comment').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const d = qa.current;
  const t = $<HTMLInputElement>('qa-comment-text').value.trim();
  if (!d || !t) return;
  api(`/api/v1/qa/calls/${encodeURIComponent(d.contactId)}/comments`, {
    method: 'POST',
    body: JSON.stringify({ offsetMs: Math.round(audio.currentTime * 1000), text: t }),
  })
    .then(async () => {
      $<HTMLInputElement>('qa-comment-text').value = '';
      const fresh = await api<Detail>(`/api/v1/qa/calls/${encodeURIComponent(d.contactId)}`);
      qa.current = fresh;
      renderComments(fresh);
    })
    .catch((e: Error) => qa.errors.push(e.message));
});

function seek(sec: number): void {
  if (!Number.isFinite(sec)) return;
  audio.currentTime = Math.max(0, Math.min(sec, qa.wave?.durationSec ?? sec));
  draw();
}

function draw(): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const w = canvas.width;
  const h = canvas.height;
  ctx.fillStyle = '#10151f';
  ctx.fillRect(0, 0, w, h);
  const wave = qa.wave;
  if (!wave) return;
  const lane = h / 2;
  const drawLane = (peaks: number[], top: number, colour: string): void => {
    ctx.fillStyle = colour;
    const mid = top + lane / 2;
    const bw = w / peaks.length;
    peaks.forEach((p, i) => {
      const y = Math.max(1, p * (lane / 2 - 4) * 2.5);
      ctx.fillRect(i * bw, mid - Math.min(y, lane / 2 - 2), Math.max(1, bw - 0.5), Math.min(2 * y, lane - 4));
    });
  };
  drawLane(wave.caller, 0, '#4fb3ff');
  drawLane(wave.agent, lane, '#ffb347');
  ctx.fillStyle = '#2a3344';
  ctx.fillRect(0, lane, w, 1);
  // Holds and comments as marks; then the playhead.
  const x = (sec: number): number => (wave.durationSec > 0 ? (sec / wave.durationSec) * w : 0);
  ctx.fillStyle = '#e5e7eb';
  for (const c of qa.current?.comments ?? []) ctx.fillRect(x(c.offsetMs / 1000), 0, 2, 8);
  ctx.fillStyle = '#ff4d6d';
  ctx.fillRect(x(audio.currentTime), 0, 2, h);
  canvas.setAttribute('aria-valuenow', String(Math.round(audio.currentTime)));
  canvas.setAttribute('aria-valuetext', `${mmss(audio.currentTime)} of ${mmss(wave.durationSec)}`);
  $('qa-playhead').textContent = mmss(audio.currentTime);
}

audio.addEventListener('timeupdate', draw);
audio.addEventListener('seeked', draw);
canvas.addEventListener('click', (ev) => {
  const r = canvas.getBoundingClientRect();
  if (qa.wave) seek(((ev.clientX - r.left) / r.width) * qa.wave.durationSec);
});
canvas.addEventListener('keydown', (ev) => {
  const step = 5;
  if (ev.key === 'ArrowRight') seek(audio.currentTime + step);
  else if (ev.key === 'ArrowLeft') seek(audio.currentTime - step);
  else if (ev.key === 'Home') seek(0);
  else if (ev.key === 'End') seek(qa.wave?.durationSec ?? 0);
  else if (ev.key === ' ') void (audio.paused ? audio.play() : Promise.resolve(audio.pause()));
  else return;
  ev.preventDefault();
});
$('qa-call-title').tabIndex = -1;
