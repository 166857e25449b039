// The operator's console (docs/CONSOLE.md): a view of the manager's estate
// kept live by the event stream, the rules engine's decisions, and the
// day-to-day actions. It talks only to the public REST API.
import {h, replace, table, badge, when, link, sparkline} from './dom.js';
import {api, token, EventStream} from './api.js';
import {actions} from './actions.js';

const EVENTS_KEPT = 2000;   // records of the event log kept in the page
const EVENTS_SHOWN = 300;   // of which the log view shows the newest matching
const PAGE = 100;           // rows of a list page
const POINTS = 120;         // samples of a metric kept for its chart (the API's history_max)
const MONITOR_MS = 2000;    // how often an open deployment's metrics are read

// What the page knows; views render from it.
export const S = {
  me: null,                 // {admin, tenant, version}
  sites: [],
  managers: null,           // on a cloud VNFM (admin): GET /v0/managers
  components: null,         // admin: GET /v0/vnfm/components
  ha: null,                 // a manager of a cluster on etcd: GET /v0/health "ha"
  poolDecisions: [],
  poolJudged: {},           // there: site -> GET /v0/sites/ID/pool's judged        // there: the newest decisions of rule pool
  deployments: new Map(),   // id -> deployment (list entries)
  details: new Map(),       // id -> deployment with its VIs
  operations: new Map(),    // id -> operation
  decisions: [],
  vnfds: [],
  events: [],               // log records, oldest first
  conn: 'connecting',
  watched: new Map(),       // operations started here: id -> what was asked
  monitoring: new Map(),    // deployment -> {view, charts: "metric/vi" -> values}
  counts: {},               // deployments by status
};

let stream = null;
let root, mainEl, connEl, progressEl;
const pending = new Map();  // debounced refreshes: key -> timer

// ---- refreshing what the events name ----

// Reads what key names with fn, ms after the first record that asks for it.
// Reads of one key never overlap: a record that arrives while one is under
// way has it read once more when it ends, so the last answer applied is
// never older than the last record (answers may come back out of order).
function later(key, ms, fn) {
  const p = pending.get(key);
  if (p) {
    p.again = p.running;
    return;
  }
  const run = async () => {
    const me = pending.get(key);
    me.running = true;
    me.again = false;
    try {
      await fn();
    } finally {
      me.running = false;
      if (me.again) setTimeout(run, ms);
      else pending.delete(key);
    }
  };
  pending.set(key, {running: false, again: false});
  setTimeout(run, ms);
}

async function loadDeployment(id) {
  const {status, doc} = await api('GET', `/v0/deployments/${encodeURIComponent(id)}`);
  if (status === 200) {
    S.details.set(id, doc);
    const {vis, ...entry} = doc;
    if (S.deployments.has(id)) S.deployments.set(id, entry);
    // a new one comes last in the list: on the page shown only if it is not full
    else if (S.deployments.size < PAGE || listState.filter) later('page', 300, loadDeployments);
  } else if (status === 404) {
    S.details.delete(id);
    if (S.deployments.delete(id)) later('page', 300, loadDeployments);
  }
  draw();
}

async function loadOperation(id) {
  const {status, doc} = await api('GET', `/v0/operations/${encodeURIComponent(id)}`);
  if (status === 200) S.operations.set(id, doc);
  drawProgress();
  draw();
}

// The monitoring view of a deployment (statistics per metric and VI, rule
// states), and a chart of each series: on the first read the series' history
// (GET .../metrics, the monitor's last 120 values), then each new sample seen
// here. History first, then the view: the view's sample counts are then never
// behind the history's, so no value is added twice.
async function loadMonitoring(id) {
  const path = `/v0/deployments/${encodeURIComponent(id)}`;
  let m = S.monitoring.get(id);
  if (!m) {
    m = {charts: new Map(), probes: new Map()};
    const {status, doc} = await api('GET', `${path}/metrics`);
    for (const [metric, def] of Object.entries(status === 200 ? doc.metrics : {})) {
      for (const v of def.vis || []) {
        m.charts.set(`${metric}/${v.name}`, v.history.slice(-POINTS).map(([, value]) => value));
        m.probes.set(`${metric}/${v.name}`, v.samples);
      }
    }
  }
  const {status, doc} = await api('GET', `${path}/monitoring`);
  if (status !== 200) return;
  for (const [metric, def] of Object.entries(doc.metrics || {})) {
    for (const v of def.vis || []) {
      const key = `${metric}/${v.name}`;
      if (typeof v.last !== 'number' || m.probes.get(key) === v.samples) continue;
      m.probes.set(key, v.samples);
      const values = m.charts.get(key) || [];
      values.push(v.last);
      if (values.length > POINTS) values.shift();
      m.charts.set(key, values);
    }
  }
  m.view = doc;
  S.monitoring.set(id, m);
  draw();
}

async function loadList(path, key, apply) {
  const {status, doc} = await api('GET', path);
  if (status === 200) apply(doc[key] || []);
  draw();
}

const loadSites = () => loadList('/v0/sites', 'sites', (l) => { S.sites = l; });
const loadDecisions = () => loadList(`/v0/decisions?limit=${PAGE}`, 'decisions', (l) => { S.decisions = l; });
const loadVnfds = () => loadList('/v0/vnfds', 'vnfds', (l) => { S.vnfds = l; });
// Operations are read when a view shows them (they are the largest records):
// the newest of all, or of one deployment.
const loadOperations = (dep) => loadList(`/v0/operations?limit=${dep ? 20 : PAGE}${
  dep ? `&deployment=${encodeURIComponent(dep)}` : ''}`, 'operations', (l) => {
  for (const op of l) S.operations.set(op.id, op);
});
// The page of deployments the list shows, read a page at a time in the
// order they were made (a text filter reads them all and filters here).
const listState = {filter: '', status: '', page: 0};
function loadDeployments() {
  const q = new URLSearchParams();
  if (listState.status) q.set('status', listState.status);
  if (!listState.filter) {
    q.set('limit', PAGE);
    q.set('offset', listState.page * PAGE);
  }
  return loadList(`/v0/deployments?${q}`, 'deployments', (l) => {
    S.deployments = new Map(l.map((d) => [d.id, d]));
  });
}
// Deployments by status, all of them: the manager's own count (GET /metrics).
async function loadCounts() {
  const {status, doc} = await api('GET', '/metrics');
  if (status !== 200) return;
  S.counts = {};
  for (const [, st, n] of String(doc?.message ?? '').matchAll(/^vnfm_deployments\{status="([^"]+)"\} (\d+)$/gm))
    if (Number(n)) S.counts[st] = Number(n);
  draw();
}
// On a cloud VNFM: its branch managers (with each branch site's load), the
// newest moves and the pool's decisions (docs/FEDERATION.md "The branch pool").
async function loadManagers() {
  if (!S.me.admin || S.me.version.role !== 'cloud') return;
  await Promise.all([
    loadList('/v0/managers', 'managers', (l) => { S.managers = l; }),
    loadList('/v0/operations?type=move&limit=20', 'operations', (l) => {
      for (const op of l) S.operations.set(op.id, op);
    }),
    loadPoolDecisions()]);
  await loadPoolJudging();
}
// The manager's components (FIG. 2C: its worker pools, each sized by its own
// load; a resize is an event, which reads them again) and, in a cluster on
// etcd, its part in it (docs/HA.md), read with the first load.
const loadComponents = () => (S.me.admin
  ? loadList('/v0/vnfm/components', 'components', (l) => { S.components = l; }) : null);
async function loadSystem() {
  if (!S.me.admin) return;
  const [health] = await Promise.all([api('GET', '/v0/health'), loadComponents()]);
  S.ha = health.doc?.ha || null;
  draw();
}
// How the pool judges each branch site with a policy (the streaks, the
// decision under way, the cooldown left, a hold): GET /v0/sites/ID/pool.
async function loadPoolJudging() {
  const sites = new Set((S.managers || []).filter((m) => m.site_load).map((m) => m.site));
  const judged = {};
  await Promise.all([...sites].filter((id) => S.sites.find((s) => s.id === id)?.pool_policy)
    .map(async (id) => {
      const {status, doc} = await api('GET', `/v0/sites/${encodeURIComponent(id)}/pool`);
      if (status === 200) judged[id] = doc.judged || null;
    }));
  S.poolJudged = judged;
  draw();
}
const loadPoolDecisions = () => loadList('/v0/decisions?rule=pool&limit=20', 'decisions', (l) => { S.poolDecisions = l; });

// One record of the event log: kept, and what it names is read again.
function onRecord(rec) {
  S.events.push(rec);
  if (S.events.length > EVENTS_KEPT) S.events.splice(0, S.events.length - EVENTS_KEPT);
  if (rec.deployment) later(`d:${rec.deployment}`, 100, () => loadDeployment(rec.deployment));
  if (rec.operation) later(`o:${rec.operation}`, 100, () => loadOperation(rec.operation));
  if (rec.category === 'policy') {
    later('decisions', 200, loadDecisions);
    if (S.managers) later('pool', 200, loadPoolDecisions);
  }
  if (rec.category === 'lifecycle' || rec.category === 'vim') later('sites', 1000, loadSites);
  if (rec.category === 'lifecycle' && rec.event === 'operation') later('counts', 1000, loadCounts);
  if (rec.event === 'component-resized' && S.components) later('components', 500, loadComponents);
  // changes of configuration are audit records naming their object ("vnfd/ID")
  if (rec.category === 'audit' && /^vnfd\//.test(rec.object || '')) later('vnfds', 200, loadVnfds);
  if (rec.category === 'audit' && /^site\//.test(rec.object || '')) later('sites', 200, loadSites);
  draw();
}

// ---- signing in ----

async function signIn(tok) {
  const [v, tokens, tenants] = await Promise.all(['/v0/version', '/v0/tokens', '/v0/tenants']
    .map((path) => api('GET', path, undefined, tok)));
  if (v.status !== 200) return v;
  const admin = tokens.status === 200;
  S.me = {admin, version: v.doc,
    tenant: admin ? null : tenants.doc?.tenants?.[0]?.id ?? null};
  return v;
}

function signOut(message) {
  stream?.stop();
  stream = null;
  token.clear();
  S.me = null;
  showSignIn(message);
}

function showSignIn(message) {
  const input = h('input', {id: 'token', name: 'token', type: 'password', autocomplete: 'off',
    required: true, 'aria-describedby': 'token-error', spellcheck: 'false'});
  const err = h('p', {id: 'token-error', class: 'field-error', role: 'alert'}, message || '');
  const form = h('form', {class: 'signin', onsubmit: async (e) => {
    e.preventDefault();
    const tok = input.value.trim();
    const r = await signIn(tok);
    if (r.status !== 200) {
      input.setAttribute('aria-invalid', 'true');
      err.textContent = r.status === 401 || r.status === 403
        ? `Not signed in: ${r.doc?.message || 'the token was refused'}`
        : `Not signed in: ${r.doc?.message || `HTTP ${r.status}`}`;
      input.focus();
      return;
    }
    token.set(tok);
    start();
  }},
  h('h1', null, 'vnfm console'),
  h('label', {for: 'token'}, 'Token'),
  h('p', {class: 'hint'}, 'The admin token (DATA_DIR/admin.token) or a tenant token. It is kept only in this tab.'),
  input, err,
  h('button', {type: 'submit'}, 'Sign in'));
  replace(root, form);
  input.focus();
}

// ---- the frame ----

const NAV = [
  ['#/', 'Overview'], ['#/deployments', 'Deployments'], ['#/operations', 'Operations'],
  ['#/decisions', 'Decisions'], ['#/events', 'Events'], ['#/vnfds', 'VNFDs'],
];

function frame() {
  const v = S.me.version;
  connEl = h('span', {id: 'conn', role: 'status'});
  mainEl = h('main', {id: 'main', tabindex: '-1'});
  progressEl = h('aside', {id: 'progress', 'aria-live': 'polite', 'aria-label': 'Operations started here'});
  replace(root,
    h('a', {href: '#main', class: 'skip'}, 'Skip to content'),
    h('header', null,
      h('span', {class: 'brand'}, 'vnfm'),
      h('span', {class: 'who'},
        `${v.role || 'local'} manager ${v.site ? `· site ${v.site}` : ''} · `,
        S.me.admin ? 'admin' : `tenant ${S.me.tenant ?? ''}`),
      connEl,
      h('button', {type: 'button', class: 'link', onclick: () => signOut('Signed out.')}, 'Sign out')),
    h('nav', {'aria-label': 'Views'}, h('ul', null,
      NAV.map(([href, text]) => h('li', null, link(href, text, {'data-nav': href}))))),
    mainEl, progressEl);
  drawConn();
}

function drawConn() {
  if (!connEl) return;
  const words = {live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…',
    refused: 'event stream refused'};
  connEl.className = `conn ${S.conn}`;
  connEl.textContent = `Events: ${words[S.conn] || S.conn}`;
}

// ---- routing and drawing ----

function route() {
  const parts = (location.hash.replace(/^#\/?/, '') || '').split('/').map(decodeURIComponent);
  return {view: parts[0] || '', id: parts[1] || null};
}

let drawQueued = false;
export function draw() {
  if (drawQueued || !mainEl) return;
  drawQueued = true;
  setTimeout(() => {
    drawQueued = false;
    const r = route();
    const view = VIEWS[r.view] || notFound;
    document.querySelectorAll('nav a').forEach((a) => {
      const on = a.getAttribute('data-nav') === `#/${r.view}`;
      if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    replace(mainEl, view(r));
  });
}

const DISMISS_MS = 15000;   // a completed operation leaves the corner panel after this
const dismissing = new Set();

function drawProgress() {
  if (!progressEl) return;
  for (const [id] of S.watched) {
    if (S.operations.get(id)?.state !== 'completed' || dismissing.has(id)) continue;
    dismissing.add(id);
    setTimeout(() => { S.watched.delete(id); dismissing.delete(id); drawProgress(); }, DISMISS_MS);
  }
  replace(progressEl, [...S.watched].map(([id, what]) => {
    const op = S.operations.get(id);
    const state = op?.state || 'starting';
    const done = !['starting', 'processing', 'rolling_back'].includes(state);
    return h('div', {class: 'op-progress', 'data-op': id},
      h('strong', null, what), ' ', badge(state),
      op?.stage && !done ? ` stage ${op.stage} (attempt ${op.attempt ?? 1})` : '',
      op?.error ? h('span', {class: 'error-text'}, ` ${op.error}`) : '', ' ',
      link(`#/operations/${encodeURIComponent(id)}`, 'details'),
      done ? h('button', {type: 'button', class: 'link', 'aria-label': `Dismiss ${what}`,
        onclick: () => { S.watched.delete(id); drawProgress(); }}, 'dismiss') : '');
  }));
}

// An operation started from the console: shown until it ends.
export function watch(op, what) {
  S.operations.set(op.id, op);
  S.watched.set(op.id, what);
  drawProgress();
  later(`o:${op.id}`, 0, () => loadOperation(op.id));
}

function section(title, ...body) {
  return h('section', null, h('h2', null, title), ...body);
}

function notFound() {
  return section('Not found', h('p', null, 'No such view. ', link('#/', 'Overview')));
}

function sorted(list, key = 'id') {
  return [...list].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
}

// ---- views ----

function pct(used, cap) {
  return cap ? Math.round((100 * (used || 0)) / cap) : 0;
}

function meter(label, used, cap, unit = '') {
  const p = pct(used, cap);
  return h('div', {class: 'meter-row'},
    h('span', null, `${label} ${used ?? 0}${unit} of ${cap ?? 0}${unit} (${p}%)`),
    h('meter', {min: 0, max: 100, value: p, 'aria-label': `${label} ${p}%`}));
}

function sitesTable() {
  return table([
    ['Site', (s) => s.id],
    ['Driver', (s) => `${s.driver}${s.kind === 'branch' ? ' (branch)' : ''}`],
    ['VIM', (s) => [badge(s.vim?.health), s.vim?.message ? ` ${s.vim.message}` : '']],
    ['vCPU', (s) => meter('vCPU', s.allocated?.vcpu, s.capacity?.vcpu)],
    ['Memory', (s) => meter('Memory', s.allocated?.memory_mb, s.capacity?.memory_mb, ' MB')],
    ['VIs', (s) => String(s.allocated?.vis ?? '')],
  ], sorted(S.sites), {label: 'Sites', rowAttrs: (s) => ({'data-site': s.id})});
}

function managersTable() {
  // the weighed value and its parts, each in its own unit (docs/FEDERATION.md
  // "Elastic managers": vnfs, vis, probes_per_s, ops_running, ops_queued, cpu
  // in cores, memory_mb)
  const num = (v) => String(Math.round(v * 100) / 100);
  const load = (m) => (m.load && typeof m.load.value === 'number'
    ? `${num(m.load.value)} (${Object.entries(m.load.parts || {})
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${k} ${num(v)}`).join(', ')})`
    : 'no report');
  return table([
    ['Manager', (m) => m.id],
    ['Site', (m) => m.site],
    ['State', (m) => badge(m.state)],
    ['Reachable', (m) => (m.reachable ? 'yes' : 'no')],
    ['Load', load],
    ['Deployments', (m) => String(m.deployments ?? '')],
    ['Last report', (m) => (m.last_report ? when(m.last_report) : 'never') + (m.stale ? ' (stale)' : '')],
    ['Judging', (m) => h('span', {'data-judging-manager': m.id}, judgingWords(m.judged, ''))],
    ['Move', moveWords],
    ['Actions', managerMoveButton],
  ], sorted(S.managers || []), {label: 'Managers', rowAttrs: (m) => ({'data-manager': m.id})});
}

// A manager's last move (docs/FEDERATION.md "Moving a branch manager to the
// cloud"): where to, how it stands, the stage under way, why it failed.
function moveWords(m) {
  const mv = m.move;
  if (!mv) return '';
  return `${mv.back ? 'back to' : 'to'} ${mv.to}: ${mv.state}` +
    (mv.state === 'processing' && mv.stage ? ` (${mv.stage})` : '') + (mv.error ? ` · ${mv.error}` : '');
}

// A manager in the cloud by its last move goes back; one at its branch moves
// to this cloud VNFM's site. Not while a move of it is under way; not for the
// managers another one started (they follow their site).
function managerMoveButton(m) {
  if (m.parent) return '';
  const inCloud = m.move && !m.move.back && m.move.state === 'completed';
  const to = inCloud ? m.site : S.me.version.site;
  return h('button', {type: 'button', disabled: m.move?.state === 'processing',
    onclick: () => actions.moveManager(m, to)}, inCloud ? 'Move back…' : 'Move to cloud…');
}

const share = (v) => `${Math.round(v * 1000) / 10}%`;

// A branch site's load against its pool policy, in words.
function poolState(load, policy) {
  if (!load) return 'no report yet';
  const v = `load ${share(load.value)}`;
  if (!policy) return `${v}; no pool policy`;
  if (load.value > policy.overload) return `overloaded: ${v}, above ${share(policy.overload)}`;
  if (policy.underload && load.value < policy.underload) return `quiet: ${v}, below ${share(policy.underload)}`;
  return `normal: ${v}, overloaded above ${share(policy.overload)}`;
}

// A judging in words (docs/FEDERATION.md "Decisions"): the streak of
// reports over or under the policy, a decision under way with its state,
// the cooldown left, the operation that held a decision (text, never markup).
function judgingWords(j, need) {
  if (!j) return 'not judged yet';
  const n = (k) => `${k} report${k === 1 ? '' : 's'}`;
  const parts = [j.over_reports ? `over for ${n(j.over_reports)}${need}`
    : j.under_reports ? `under for ${n(j.under_reports)}${need}` : 'no streak'];
  if (j.pending) {
    const d = [...S.poolDecisions, ...(S.decisions || [])].find((x) => x.id === j.pending);
    parts.push(`decision ${j.pending} under way${d?.state ? ` (${d.state})` : ''}`);
  }
  if (j.cooldown_left_s) parts.push(`cooling down, ${j.cooldown_left_s} s left`);
  if (j.held_by) parts.push(`held by operation ${j.held_by}`);
  return parts.join('; ');
}

function poolJudging(j, policy) {
  if (!policy) return 'no pool policy';
  return judgingWords(j, policy.for_s ? ` (needs ${policy.for_s} s)` : ` (needs ${policy.for_reports ?? 3})`);
}

// Each branch site's pool load as the cloud adds it up from its managers'
// reports: what its VIs (and the managers started there) use of its
// capacity, what they hold, how many managers, and the WAN to the cloud.
function branchSitesTable() {
  const seen = new Set();
  const rows = sorted(S.managers || [], 'site').filter((m) => m.site_load && !seen.has(m.site) && seen.add(m.site));
  const round = (v, n = 100) => Math.round((v ?? 0) * n) / n;
  return table([
    ['Site', (m) => m.site],
    ['Pool', (m) => poolState(m.site_load, S.sites.find((s) => s.id === m.site)?.pool_policy)],
    ['Judging', (m) => h('span', {'data-judging': m.site},
      poolJudging(S.poolJudged[m.site], S.sites.find((s) => s.id === m.site)?.pool_policy))],
    ['CPU used', (m) => meter('CPU', round(m.site_load.used?.vcpu), m.site_load.capacity?.vcpu, ' cores')],
    ['Memory used', (m) => meter('Memory', Math.round(m.site_load.used?.memory_mb ?? 0), m.site_load.capacity?.memory_mb, ' MB')],
    ['Disk used', (m) => meter('Disk', Math.round(m.site_load.used?.disk_mb ?? 0), m.site_load.capacity?.disk_mb, ' MB')],
    ['Allocated', (m) => `${round(m.site_load.allocated?.vcpu)} vCPU, ${Math.round(m.site_load.allocated?.memory_mb ?? 0)} MB`],
    ['Managers', (m) => String((m.site_load.members || [m.id]).length)],
    ['Deployments', (m) => String(Object.keys(m.site_load.deployments || {}).length)],
    ['WAN', (m) => {
      const w = m.site_load.wan || {};
      return `latency ${round(w.latency_ms)} ms, rtt ${round(w.rtt_ms)} ms, loss ${share(w.loss ?? 0)}, ` +
        `${Math.round(w.throughput_kbps ?? 0)} kbit/s; ${w.reports ?? 0} reports, ${w.failed ?? 0} failed`;
    }],
  ], rows, {label: 'Branch sites', empty: 'No branch site has reported its load yet.',
    rowAttrs: (m) => ({'data-pool-site': m.site})});
}

// Moves between a branch and the cloud, newest first: by an operator or by
// the pool's decisions.
function movesTable() {
  const moves = [...S.operations.values()].filter((o) => o.type === 'move')
    .sort((a, b) => String(b.created).localeCompare(String(a.created))).slice(0, 20);
  return table([
    ['Deployment', (o) => link(`#/deployments/${encodeURIComponent(o.deployment)}`, o.deployment)],
    ['From', (o) => o.from || ''],
    ['To', (o) => o.to || ''],
    ['State', (o) => [badge(o.state), o.stage && !o.finished ? ` ${o.stage}` : '']],
    ['Why', (o) => (o.why?.rule ? ['decision ', link(`#/decisions/${encodeURIComponent(o.why.id)}`, o.why.id),
      ` of rule ${o.why.rule}`] : o.why?.reason || '')],
    ['Operation', (o) => link(`#/operations/${encodeURIComponent(o.id)}`, o.id)],
    ['Started', (o) => when(o.created)],
    ['Error', (o) => o.error || ''],
  ], moves, {label: 'Moves', empty: 'No moves.', rowAttrs: (o) => ({'data-move': o.id})});
}

// The worker pools: size between min and max, busy, waiting, done.
function componentsTable() {
  const ha = S.ha;
  return [
    ha ? h('p', {'data-ha': ''}, `${ha.state} of a cluster of ${ha.members} member${ha.members === 1 ? '' : 's'}; ` +
      `primary ${ha.primary || 'not known yet'}; peer ${ha.peer}, store ${ha.store}`) : null,
    table([
      ['Component', (c) => c.name],
      ['Threads', (c) => `${c.threads} (${c.min} to ${c.max})`],
      ['Busy', (c) => String(c.busy)],
      ['Waiting', (c) => String(c.queued)],
      ['Jobs', (c) => String(c.jobs)],
      ['Resizes', (c) => String(c.resizes) + (c.last_resize ? ` (last ${c.last_resize.from} to ${c.last_resize.to})` : '')],
      ['Sized by', (c) => c.sized_by],
    ], S.components, {label: 'Components', rowAttrs: (c) => ({'data-component': c.name})}),
  ];
}

function overview() {
  const counts = Object.entries(S.counts);
  return [
    h('h1', null, 'Overview'),
    section('Deployments', h('p', {'data-counts': ''}, counts.length
      ? counts.map(([s, n]) => [badge(s), ` ${n} `])
      : 'No deployments yet. ', link('#/deployments', 'All deployments'))),
    section('Sites', sitesTable()),
    S.managers ? [
      section('Branch managers', managersTable()),
      section('Branch sites', branchSitesTable()),
      section('Moves', movesTable()),
      section('Decisions of the pool', decisionList(S.poolDecisions.slice(0, 5),
        'No decisions of the pool: no branch site was over its policy.')),
    ] : null,
    S.components ? section('Manager', componentsTable()) : null,
  ];
}

function instancesText(d) {
  return Object.entries(d.instances || {}).map(([vdu, n]) => `${vdu}: ${n}`).join(', ');
}

function deploymentsView() {
  const q = listState.filter.toLowerCase();
  const rows = [...S.deployments.values()].filter((d) =>
    (!q || `${d.id} ${d.vnfd} ${d.tenant} ${d.sol003?.vnfInstanceName ?? ''}`.toLowerCase().includes(q)) &&
    (!listState.status || d.status === listState.status));
  const total = listState.status ? S.counts[listState.status] || 0
    : Object.values(S.counts).reduce((a, b) => a + b, 0);
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const turn = (n) => { listState.page = n; loadDeployments(); };
  const statuses = [...new Set([...Object.keys(S.counts), listState.status].filter(Boolean))].sort();
  return [
    h('h1', null, 'Deployments'),
    h('div', {class: 'toolbar'},
      h('label', null, 'Filter ', h('input', {type: 'search', 'data-key': 'dep-filter', value: listState.filter,
        oninput: (e) => {
          const all = !listState.filter !== !e.target.value; // all of them, or a page again
          listState.filter = e.target.value;
          listState.page = 0;
          if (all) later('page', 300, loadDeployments);
          draw();
        }})),
      h('label', null, 'Status ', h('select', {'data-key': 'dep-status', onchange: (e) => {
        listState.status = e.target.value;
        turn(0);
      }}, h('option', {value: ''}, 'any'),
      statuses.map((s) => h('option', {value: s, selected: s === listState.status}, s)))),
      h('button', {type: 'button', onclick: () => actions.deploy()}, 'Deploy…')),
    table([
      ['Name', (d) => [link(`#/deployments/${encodeURIComponent(d.id)}`, d.id),
        d.sol003?.vnfInstanceName ? h('span', {class: 'sub'}, ` ${d.sol003.vnfInstanceName}`) : '']],
      S.me.admin ? ['Tenant', (d) => d.tenant] : null,
      ['VNFD', (d) => d.vnfd],
      ['Site', (d) => d.site],
      ['Status', (d) => badge(d.status)],
      ['Stage', (d) => d.stage || ''],
      ['Instances', instancesText],
      ['Operation', (d) => (d.operation ? link(`#/operations/${encodeURIComponent(d.operation)}`, d.operation) : '')],
      ['Updated', (d) => when(d.updated)],
    ].filter(Boolean), rows, {label: 'Deployments', empty: 'No deployments.',
      rowAttrs: (d) => ({'data-deployment': d.id})}),
    !listState.filter && (pages > 1 || listState.page > 0) ? h('div', {class: 'pager'},
      h('button', {type: 'button', disabled: listState.page === 0, 'data-key': 'prev',
        onclick: () => turn(listState.page - 1)}, 'Previous'),
      ` page ${listState.page + 1} of ${pages} (${total} deployments) `,
      h('button', {type: 'button', disabled: S.deployments.size < PAGE, 'data-key': 'next',
        onclick: () => turn(listState.page + 1)}, 'Next')) : null,
  ];
}

function kv(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('p', {class: 'empty'}, 'none');
  return h('dl', {class: 'kv'}, entries.map(([k, v]) =>
    [h('dt', null, k), h('dd', null, typeof v === 'string' ? v : JSON.stringify(v))]));
}

function deploymentView({id}) {
  const d = S.details.get(id);
  if (!d) {
    later(`d:${id}`, 0, () => loadDeployment(id));
    return [h('h1', null, `Deployment ${id}`), h('p', null, S.deployments.has(id) ? 'Loading…' : 'Loading… (or not visible to this token)')];
  }
  const ops = [...S.operations.values()].filter((o) => o.deployment === id)
    .sort((a, b) => String(b.created).localeCompare(String(a.created))).slice(0, 20);
  const decisions = S.decisions.filter((x) => x.deployment === id).slice(0, 20);
  const events = S.events.filter((e) => e.deployment === id).slice(-50).reverse();
  const busy = !!d.operation;
  if (!S.monitoring.has(id)) {
    later(`m:${id}`, 0, () => loadMonitoring(id));
    later(`ops:${id}`, 0, () => loadOperations(id));
  }
  const vdus = Object.keys(d.instances || {});
  return [
    h('h1', null, `Deployment ${d.id} `, badge(d.status)),
    d.sol003?.vnfInstanceName ? h('p', {class: 'sub'}, 'VNF instance name: ', d.sol003.vnfInstanceName) : null,
    h('p', null, `VNFD ${d.vnfd} · site ${d.site} · tenant ${d.tenant} · stage ${d.stage || '-'}`,
      d.operation ? [' · running ', link(`#/operations/${encodeURIComponent(d.operation)}`, d.operation)] : ''),
    d.error ? h('p', {class: 'error-text', role: 'note'}, `Error: ${d.error}`) : null,
    d.move ? h('p', {'data-last-move': ''}, `Last move: ${d.move.from} → ${d.move.to} `, badge(d.move.state),
      ' ', link(`#/operations/${encodeURIComponent(d.move.operation)}`, d.move.operation), ` · started ${when(d.move.started)}`,
      d.move.why?.rule ? [' · by decision ', link(`#/decisions/${encodeURIComponent(d.move.why.id)}`, d.move.why.id),
        ` of rule ${d.move.why.rule}`] : ` · ${d.move.why?.reason ?? ''}`,
      d.move.error ? h('span', {class: 'error-text'}, ` ${d.move.error}`) : '',
      d.service_endpoint ? ` · service endpoint ${d.service_endpoint}` : '') : null,
    h('div', {class: 'toolbar', role: 'group', 'aria-label': 'Actions'},
      vdus.map((vdu) => [
        h('button', {type: 'button', disabled: busy, onclick: () => actions.scale(d, vdu, 1)}, `Scale out ${vdu}`),
        h('button', {type: 'button', disabled: busy || !(d.instances[vdu] > 0), onclick: () => actions.scale(d, vdu, -1)}, `Scale in ${vdu}`),
      ]),
      h('button', {type: 'button', disabled: busy || (d.vis || []).every((v) => v.state === 'running'),
        title: 'restarts the VIs that are not running', onclick: () => actions.heal(d)}, 'Heal'),
      h('button', {type: 'button', disabled: busy, onclick: () => actions.resize(d)}, 'Resize…'),
      h('button', {type: 'button', onclick: () => actions.rules(d)}, 'Edit rules…'),
      S.me.version.role === 'cloud'
        ? h('button', {type: 'button', disabled: busy, onclick: () => actions.move(d)}, 'Move…') : null,
      h('button', {type: 'button', class: 'danger', disabled: busy, onclick: () => actions.undeploy(d)}, 'Undeploy…')),
    section('VIs', table([
      ['VI', (v) => v.name],
      ['VDU', (v) => v.vdu],
      ['State', (v) => badge(v.state)],
      ['Address', (v) => v.ip || ''],
      ['PID', (v) => (v.pid ? String(v.pid) : '')],
      ['Restarts', (v) => String(v.restarts ?? 0)],
      ['vCPU', (v) => String(v.vcpu ?? '')],
      ['Memory', (v) => (v.memory_mb ? `${v.memory_mb} MB` : '')],
      ['Started', (v) => when(v.started)],
      ['Error', (v) => v.error || ''],
      ['Actions', (v) => h('button', {type: 'button', disabled: busy, onclick: () => actions.heal(d, v)}, 'Restart')],
    ], sorted(d.vis || [], 'name'), {label: 'VIs', empty: 'No VIs.', rowAttrs: (v) => ({'data-vi': v.name})})),
    metricsSection(d),
    section('Parameters', kv(d.params)),
    section('Operations', opsTable(ops)),
    section('Decisions', decisionList(decisions)),
    section('Events', eventTable(events)),
  ];
}

// What a metric's numbers are (docs/MONITORING.md, the probes).
function unitOf(def) {
  if (def.probe === 'cgroup') return def.unit === 'cores' ? ' cores' : def.unit === 'mb' ? ' MB' : '%';
  return '';
}

function num(v) {
  return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : '';
}

function metricsSection(d) {
  const m = S.monitoring.get(d.id);
  if (!m?.view) return section('Metrics', h('p', {class: 'empty'}, 'Reading…'));
  const rows = [];
  // CPU and memory first, then the others by name
  const names = Object.keys(m.view.metrics || {}).sort((a, b) =>
    (m.view.metrics[b].probe === 'cgroup') - (m.view.metrics[a].probe === 'cgroup') || a.localeCompare(b));
  for (const metric of names) {
    const def = m.view.metrics[metric];
    for (const v of def.vis || []) rows.push({metric, def, v, values: m.charts.get(`${metric}/${v.name}`) || []});
  }
  const states = [];
  for (const r of m.view.rule_states || [])
    for (const [target, t] of Object.entries(r.targets || {})) states.push({...r, target, t});
  return [
    section('Metrics', table([
      ['Metric', (r) => `${r.metric} (${r.def.probe})`],
      ['VI', (r) => r.v.name],
      ['Last', (r) => (r.v.up === false ? 'down' : `${num(r.v.last)}${unitOf(r.def)}`)],
      ['Average', (r) => num(r.v.avg)],
      ['p95', (r) => num(r.v.p95)],
      ['Chart', (r) => (r.values.length ? sparkline(r.values,
        `${r.metric} of ${r.v.name}: the last ${r.values.length} samples, from ${num(Math.min(...r.values))} to ${num(Math.max(...r.values))}`)
        : '')],
      ['Error', (r) => r.v.error || ''],
    ], rows, {label: 'Metrics', empty: 'No metrics: the VNFD defines no monitoring.',
      rowAttrs: (r) => ({'data-metric': `${r.metric}/${r.v.name}`})})),
    section('Rules', table([
      ['Rule', (r) => r.name],
      ['Metric', (r) => r.metric],
      ['Stage', (r) => r.stage],
      ['Target', (r) => (r.target === '*' ? 'all VIs' : (d.vis || []).find((v) => v.id === r.target)?.name ?? r.target)],
      ['Enabled', (r) => (r.enabled === false ? 'no' : 'yes')],
      ['Hits', (r) => String(r.t.hits ?? 0)],
      ['Raised', (r) => (r.t.raised ? badge('raised') : 'no')],
      ['Last value', (r) => num(r.t.last_value)],
    ], states, {label: 'Rules', empty: 'No rules.', rowAttrs: (r) => ({'data-rule': r.name})})),
  ];
}

function opsTable(ops) {
  return table([
    ['Operation', (o) => link(`#/operations/${encodeURIComponent(o.id)}`, o.id)],
    ['Type', (o) => o.type + (o.automatic ? ' (automatic)' : '')],
    ['Deployment', (o) => (o.deployment ? link(`#/deployments/${encodeURIComponent(o.deployment)}`, o.deployment) : '')],
    ['State', (o) => badge(o.state)],
    ['Stage', (o) => (o.stage ? `${o.stage} (attempt ${o.attempt ?? 1})` : '')],
    ['Started', (o) => when(o.created)],
    ['Finished', (o) => when(o.finished)],
  ], ops, {label: 'Operations', empty: 'No operations.', rowAttrs: (o) => ({'data-operation': o.id})});
}

let opsRead = false;
function operationsView() {
  if (!opsRead) {
    opsRead = true;
    later('ops', 0, () => loadOperations());
  }
  const ops = [...S.operations.values()]
    .sort((a, b) => String(b.created).localeCompare(String(a.created))).slice(0, PAGE * 2);
  return [h('h1', null, 'Operations'), opsTable(ops)];
}

function duration(a, b) {
  if (!a) return '';
  const ms = (b ? new Date(b) : new Date()) - new Date(a);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

// Whether a cancel of a running operation is pending: its newest record of
// the log is the cancel's (the native view has no flag; cancel_mode stays
// after the cancel took effect).
function cancelPending(o) {
  if (!['starting', 'processing', 'rolling_back'].includes(o.state)) return false;
  const last = S.events.findLast((e) => e.operation === o.id && e.category === 'lifecycle' && e.event === 'operation');
  return last?.result === 'cancel';
}

function operationView({id}) {
  const o = S.operations.get(id);
  if (!o) {
    later(`o:${id}`, 0, () => loadOperation(id));
    return [h('h1', null, `Operation ${id}`), h('p', null, 'Loading…')];
  }
  return [
    h('h1', null, `Operation ${o.id} `, badge(o.state)),
    h('p', null, `${o.type}${o.automatic ? ' (automatic)' : ''} of `,
      o.deployment ? link(`#/deployments/${encodeURIComponent(o.deployment)}`, o.deployment) : '-',
      o.decision ? [' · decided by ', link(`#/decisions/${encodeURIComponent(o.decision)}`, o.decision)] : '',
      ` · started ${when(o.created)}`, o.finished ? ` · finished ${when(o.finished)} (${duration(o.created, o.finished)})` : ''),
    o.error ? h('p', {class: 'error-text', role: 'note'}, `Error: ${o.error}`) : null,
    cancelPending(o) ? h('p', {class: 'note', role: 'status'},
      `Cancel requested (${o.cancel_mode}): it stops once the work in flight has ended.`) : null,
    actions.operationButtons(o, cancelPending(o)),
    section('Stages', h('ol', {class: 'timeline'}, (o.stages || []).map((s) =>
      h('li', {'data-stage': s.stage},
        h('strong', null, s.stage), ' ', badge(s.result || (s.finished ? 'done' : 'running')),
        ` ${s.attempts ?? 1} attempt${(s.attempts ?? 1) === 1 ? '' : 's'}`,
        ` · ${when(s.started)}${s.finished ? ` → ${when(s.finished)} (${duration(s.started, s.finished)})` : ''}`,
        s.error ? h('div', {class: 'error-text'}, s.error) : '')))),
    section('Parameters', kv(o.params)),
    section('Events', eventTable(S.events.filter((e) => e.operation === id).slice(-100).reverse())),
  ];
}

function decisionItem(x) {
  const i = x.inputs || {};
  return h('li', {class: 'decision', 'data-decision': x.id},
    h('div', null, h('strong', null, `Rule ${x.rule}`), ' ', badge(x.state),
      x.deployment ? [' on ', link(`#/deployments/${encodeURIComponent(x.deployment)}`, x.deployment)]
        : ` at site ${x.site ?? '-'}${x.action ? `: ${x.action.replace(/_/g, ' ')}` : ''}`,
      ` · stage ${x.stage || '-'} · ${x.automatic === false ? 'manual' : 'automatic'} · ${when(x.created)} `,
      link(`#/decisions/${encodeURIComponent(x.id)}`, x.id)),
    h('p', {class: 'reason'}, 'Why: ', x.reason || ''),
    i.metric ? h('p', {class: 'saw'}, `Saw ${i.metric}${i.stat ? ` (${i.stat})` : ''} = ${num(i.value)}`,
      ` against ${i.op ?? ''} ${num(i.threshold)}`, i.samples ? ` over ${i.samples} sample${i.samples === 1 ? '' : 's'}` : '',
      i.vdu ? ` on VDU ${i.vdu}${i.per_vi ? ', per VI' : ''}` : '') : null,
    Object.keys(i).length ? h('details', null, h('summary', null, 'Every input'),
      h('dl', {class: 'kv inputs'}, Object.entries(i).map(([k, v]) =>
        [h('dt', null, k), h('dd', null, typeof v === 'string' ? v : JSON.stringify(v))]))) : null,
    x.targets?.length ? h('p', null, `Targets: ${x.targets.join(', ')}`) : null,
    x.rule === 'pool' ? poolParts(x) : null,
    h('ol', {class: 'actions'}, (x.actions || []).map((a) => h('li', null,
      h('span', null, a.action), ' ', badge(a.state),
      a.operation ? [' ', link(`#/operations/${encodeURIComponent(a.operation)}`, a.operation)] : '',
      a.error ? h('span', {class: 'error-text'}, ` ${a.error}`) : '',
      a.note ? h('span', {class: 'sub'}, ` ${a.note}`) : ''))));
}

function decisionList(list, empty = 'No decisions of the rules engine.') {
  return list.length ? h('ol', {class: 'decisions'}, list.map(decisionItem)) : h('p', {class: 'empty'}, empty);
}

// What a decision of the pool chose, rejected and did not do (docs/FEDERATION.md
// "An overloaded branch").
function poolParts(x) {
  const items = (title, list, f) => (list?.length ? h('div', null, `${title}:`, h('ul', null, list.map((e) => h('li', null, f(e))))) : null);
  // a deployment, or the branch's own manager (count_manager) and its move
  const what = (c) => c.deployment ?? `manager ${c.manager}`;
  return [
    x.capacity ? h('p', null, `Capacity asked: ${Object.entries(x.capacity).map(([k, v]) => `${k} ${v}`).join(', ')}`) : null,
    items('Chosen', x.chosen, (c) => [`${what(c)} → ${c.to}`,
      c.operation ? [' ', link(`#/operations/${encodeURIComponent(c.operation)}`, c.operation)] : '',
      c.move ? ` (move ${c.move})` : '',
      `: ${c.why || ''}`, c.error ? h('span', {class: 'error-text'}, ` ${c.error}`) : '']),
    items('Rejected', x.rejected, (r) => `${what(r)}: ${r.why}`),
    items('Not done', x.alternatives, (a) => a.why),
    x.error ? h('p', {class: 'error-text'}, x.error) : null,
    x.note ? h('p', {class: 'sub'}, x.note) : null,
  ];
}

function decisionsView({id}) {
  const list = id ? S.decisions.filter((x) => x.id === id) : S.decisions;
  return [h('h1', null, id ? `Decision ${id}` : 'Decisions of the rules engine'),
    h('p', {class: 'hint'}, 'Every firing of a rule: what it saw, and what its actions did.'),
    decisionList(list)];
}

const logFilter = {category: '', level: '', object: '', tag: ''};

function matches(e) {
  const f = logFilter;
  const obj = f.object.toLowerCase();
  return (!f.category || e.category === f.category) && (!f.level || e.level === f.level) &&
    (!obj || [e.object, e.deployment, e.operation, e.vi].some((x) => x && String(x).toLowerCase().includes(obj))) &&
    (!f.tag || (e.tags || []).includes(f.tag));
}

function eventTable(events) {
  return table([
    ['Time', (e) => when(e.time)],
    ['Level', (e) => badge(e.level)],
    ['Category', (e) => e.category],
    ['Event', (e) => [e.event || '', e.result ? ` ${e.result}` : '']],
    ['Object', (e) => e.object || ''],
    ['Message', (e) => e.message || ''],
  ], events, {label: 'Events', class: 'events', empty: 'No events.', rowAttrs: (e) => ({'data-seq': e.seq})});
}

function eventsView() {
  const pick = (key, label, values) => h('label', null, `${label} `,
    h('select', {'data-key': `log-${key}`, onchange: (e) => { logFilter[key] = e.target.value; draw(); }},
      h('option', {value: ''}, 'any'),
      values.map((v) => h('option', {value: v, selected: v === logFilter[key]}, v))));
  const text = (key, label) => h('label', null, `${label} `, h('input', {type: 'search', 'data-key': `log-${key}`,
    value: logFilter[key], oninput: (e) => { logFilter[key] = e.target.value.trim(); draw(); }}));
  const seen = (k) => [...new Set(S.events.map((e) => e[k]).filter(Boolean))].sort();
  const tags = [...new Set(S.events.flatMap((e) => e.tags || []))].sort();
  const shown = S.events.filter(matches).slice(-EVENTS_SHOWN).reverse();
  return [
    h('h1', null, 'Events'),
    h('div', {class: 'toolbar', role: 'search'},
      pick('category', 'Category', [...new Set(['lifecycle', 'api', 'vim', 'system', 'audit', 'policy', ...seen('category')])]),
      pick('level', 'Level', [...new Set(['debug', 'info', 'warn', 'error', ...seen('level')])]),
      pick('tag', 'Tag', tags),
      text('object', 'Object')),
    h('p', {class: 'hint'}, `The newest ${shown.length} matching of the ${S.events.length} events received.`),
    eventTable(shown),
  ];
}

function vnfdsView() {
  return [
    h('h1', null, 'VNF descriptors'),
    h('div', {class: 'toolbar'},
      h('button', {type: 'button', onclick: () => actions.onboard()}, 'On-board VNFD…')),
    table([
      ['VNFD', (v) => v.id],
      ['Name', (v) => v.name || ''],
      ['Version', (v) => v.version || ''],
      ['Vendor', (v) => v.vendor || ''],
      ['Tenant', (v) => v.tenant ?? 'global'],
      ['VDUs', (v) => (v.vdus || []).join(', ')],
      ['Description', (v) => v.description || ''],
      ['', (v) => h('button', {type: 'button', onclick: () => actions.deploy(v.id)}, `Deploy ${v.id}…`)],
    ], sorted(S.vnfds), {label: 'VNFDs', empty: 'No VNFDs on-boarded.', rowAttrs: (v) => ({'data-vnfd': v.id})}),
  ];
}

const VIEWS = {
  '': overview,
  deployments: (r) => (r.id ? deploymentView(r) : deploymentsView()),
  operations: (r) => (r.id ? operationView(r) : operationsView()),
  decisions: decisionsView,
  events: eventsView,
  vnfds: vnfdsView,
};

// ---- start ----

// deployments: the first page of the list when it was asked for already.
async function start(deployments = loadDeployments()) {
  frame();
  draw();
  // the newest records first, then the stream from the last of them; the
  // lists meanwhile (what changes in between comes again with the stream)
  const lists = Promise.all([deployments, loadCounts(), loadSites(), loadDecisions(),
    loadVnfds(), loadManagers(), loadSystem()]);
  const logs = await api('GET', `/v0/logs?tail=1&limit=${PAGE}`);
  S.events = logs.status === 200 ? logs.doc.logs : [];
  const after = S.events.length ? S.events[S.events.length - 1].seq : undefined;
  stream = new EventStream({after, onRecord,
    onState: (st) => { S.conn = st; drawConn(); }}).start();
  await lists;
}

// Metric samples are not events: an open deployment's monitoring view is
// read every MONITOR_MS for its charts.
setInterval(() => {
  const r = route();
  if (S.me && r.view === 'deployments' && r.id && S.details.has(r.id)) later(`m:${r.id}`, 0, () => loadMonitoring(r.id));
}, MONITOR_MS);

// Reports of branch managers are soft state the event log does not carry:
// read them again every 5 s while the overview shows them.
setInterval(() => { if (S.me && S.managers && route().view === '') loadManagers(); }, 5000);

api.onUnauthorized = () => { if (S.me) signOut('The token is no longer valid: sign in again.'); };
export const reload = {vnfds: loadVnfds,
  managers: () => later('managers', 0, loadManagers),
  operation: (id) => later(`o:${id}`, 0, () => loadOperation(id)),
  deployment: (id) => {
    S.monitoring.delete(id); // the series may have changed
    later(`d:${id}`, 0, () => loadDeployment(id));
  }};

window.addEventListener('hashchange', () => { draw(); mainEl?.focus({preventScroll: true}); });
window.addEventListener('DOMContentLoaded', async () => {
  root = document.getElementById('app');
  const tok = token.get();
  // a saved token: the first page of deployments is asked for with the
  // sign-in, not after it (the list is what an operator waits for)
  const deployments = tok ? loadDeployments() : undefined;
  if (tok && (await signIn(tok)).status === 200) start(deployments);
  else showSignIn(tok ? 'The saved token was refused: sign in again.' : '');
});
