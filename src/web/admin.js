// The admin page: polls the admin API every second and draws it: charts of the
// last 5 minutes (GET /admin/stats), every node's numbers, mailboxes, chaos,
// one page of the sessions (searched on the server: there may be 19,000), the
// restart log and the tree. Buttons POST to the API. The token lives in
// sessionStorage (gone with the tab) and goes out as a bearer token on every
// call; the page itself holds no data.

import { lineChart } from './admin-chart.js';

const TOKEN_KEY = 'otp-chat-admin-token';
const POLL_MS = 1000;
const PAGE = 50;
const KILLABLE = new Set(['repo', 'pubsub', 'presence', 'endpoint']);
const CHARTS = [
  ['sockets', 'sockets'],
  ['joins', 'joins/s'],
  ['messagesIn', 'messages in/s'],
  ['messagesOut', 'messages out/s'],
  ['restarts', 'restarts/s', 'restarts'],
];

const $ = (id) => document.getElementById(id);
const status = $('status');
const lastRestarts = new Map();
const charts = new Map();
const sessionView = { q: '', offset: 0, count: 0 };
let timer;
let polling = false;

const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

function setStatus(text, error = false) {
  status.textContent = text;
  status.classList.toggle('error', error);
}

async function api(method, path) {
  const res = await fetch(path, { method, headers: { authorization: `Bearer ${token()}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(res.status === 401 ? 'wrong or missing token' : body.reason ?? body.detail ?? body.error ?? `HTTP ${res.status}`);
  return body;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

const cell = (text, className = '') => el('td', { textContent: String(text), className });
const said = (text) => ($('last-action').textContent = `${text} at ${new Date().toLocaleTimeString()}`);

function age(since) {
  if (since === null) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

async function act(method, path, describe) {
  try {
    said(describe(await api(method, path)));
  } catch (error) {
    said(`${path}: ${error.message}`);
  }
  void refresh();
}

function kill(path, label) {
  return act('POST', path, (body) => {
    const killed = Array.isArray(body.killed) ? body.killed : [body.killed];
    return `killed ${killed.length === 1 ? label : `${killed.length} sessions`}`;
  });
}

function kick(name) {
  return act('POST', `/admin/users/${encodeURIComponent(name)}/disconnect`, (body) => `disconnected ${body.disconnected} (${body.localSockets} here, and on every node)`);
}

// --- the tree, limited as the API limits it ---

function drawNode(node, parentIsSessions) {
  const key = node.path || node.id;
  const before = lastRestarts.get(key);
  lastRestarts.set(key, node.restarts);
  const line = el('span', { className: 'node' },
    el('span', { className: node.alive ? 'name' : 'name dead', textContent: node.id }),
    el('span', { className: 'kind', textContent: node.strategy ? `${node.kind} ${node.strategy}` : node.kind }),
    el('span', { className: node.restarts > 0 ? 'restarts hot' : 'restarts', textContent: `↻ ${node.restarts}`, title: 'restarts' }),
  );
  if (node.childCount !== undefined) line.append(el('span', { className: 'meta', textContent: `${node.childCount} children` }));
  if (before !== undefined && before !== node.restarts) line.classList.add('flash');
  if (KILLABLE.has(node.id) && node.path.split('/').length === 3) {
    line.append(el('button', { className: 'kill', textContent: 'kill', onclick: () => kill(`/admin/actors/${node.id}/kill`, node.id) }));
  } else if (parentIsSessions && node.alive) {
    line.append(el('button', { className: 'kill', textContent: 'kill', onclick: () => kill(`/admin/sessions/${encodeURIComponent(node.id)}/kill`, node.id) }));
  }
  const item = el('li', {}, line);
  if (node.children && node.children.length > 0) {
    const list = el('ul', { className: 'tree' });
    for (const child of node.children) list.append(drawNode(child, node.id === 'sessions'));
    if (node.omitted) list.append(el('li', { className: 'meta', textContent: `… ${node.omitted} more` }));
    item.append(list);
  }
  return item;
}

async function refreshTree() {
  if (!$('tree-panel').open) return;
  const { tree } = await api('GET', '/admin/tree?limit=200');
  $('tree').replaceChildren(el('ul', { className: 'tree root' }, drawNode(tree, false)));
}

// --- charts, nodes, mailboxes, chaos ---

function drawStats(stats) {
  if (charts.size === 0) for (const [key, title, className] of CHARTS) charts.set(key, lineChart($('charts'), { title, className }));
  for (const [key, chart] of charts) chart.update(stats.series.at, stats.series[key]);
  $('charts-node').textContent = `on ${stats.node}, one point a second`;
  $('nodes').tBodies[0].replaceChildren(...stats.nodes.map((n) =>
    el('tr', { title: `heard ${Math.round(n.ageMs / 100) / 10} s ago` },
      cell(n.node === stats.node ? `${n.node} (this one)` : n.node),
      ...[n.sockets, n.sessions, n.joins, n.messagesIn, n.messagesOut, n.restarts].map((v) => cell(v, 'n')),
    )));
  $('mailboxes').replaceChildren(...Object.entries(stats.mailboxes).map(([actor, depth]) =>
    el('span', { className: depth === null || depth > 100 ? 'hot' : '', textContent: `${actor} ${depth ?? 'down'}` })));
  const { chaos } = stats;
  $('chaos-state').textContent = chaos.running
    ? `chaos: killing ${chaos.rate} a second, ${Math.max(0, Math.round((chaos.until - Date.now()) / 1000))} s left, ${chaos.killed} killed so far`
    : chaos.until === null ? 'chaos: off' : `chaos: off (last run killed ${chaos.killed})`;
  $('chaos-state').classList.toggle('running', chaos.running);
}

// --- sessions, one page at a time ---

async function refreshSessions() {
  const query = new URLSearchParams({ q: sessionView.q, offset: String(sessionView.offset), limit: String(PAGE) });
  const page = await api('GET', `/admin/sessions?${query}`);
  sessionView.count = page.count;
  $('sessions').tBodies[0].replaceChildren(...page.sessions.map((s) =>
    el('tr', {},
      cell(s.id),
      cell(s.user ?? '-'),
      cell(s.topics.map((t) => t.replace(/^room:/, '')).join(', ') || '-', 'rooms'),
      cell(s.mailbox ?? '-', 'n'),
      cell(s.restarts, 'n'),
      cell(age(s.since), 'n'),
      el('td', {},
        el('button', { className: 'kill', textContent: 'kill', onclick: () => kill(`/admin/sessions/${encodeURIComponent(s.id)}/kill`, s.id) }),
        ' ',
        s.user === null ? '' : el('button', { className: 'kill', textContent: 'kick', title: `close every socket of ${s.user} on every node`, onclick: () => kick(s.user) }),
      ),
    )));
  const matching = sessionView.q === '' ? '' : ` matching “${sessionView.q}” (${page.total} in all)`;
  $('page-info').textContent = page.count === 0
    ? (sessionView.q === '' ? 'no sessions' : `none${matching}`)
    : `${page.offset + 1}–${page.offset + page.sessions.length} of ${page.count}${matching}`;
  $('prev').disabled = page.offset === 0;
  $('next').disabled = page.offset + PAGE >= page.count;
}

// --- restart log ---

async function refreshLog() {
  const { restarts } = await api('GET', '/admin/restarts');
  $('restart-log').tBodies[0].replaceChildren(...restarts.map((r) =>
    el('tr', { className: r.type },
      cell(new Date(r.at).toLocaleTimeString([], { hour12: false })),
      cell(r.type === 'gave_up' ? 'gave up' : 'restarted'),
      cell(r.path),
      cell(r.reason),
      cell(r.restarts, 'n'),
    )));
}

async function refresh() {
  if (token() === '' || polling) return;
  polling = true;
  try {
    const [stats] = await Promise.all([api('GET', '/admin/stats'), refreshSessions(), refreshLog(), refreshTree()]);
    drawStats(stats);
    $('sessions-tools').hidden = false;
    $('observer').hidden = false;
    setStatus(`live · ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    polling = false;
  }
}

function start() {
  clearInterval(timer);
  void refresh();
  timer = setInterval(refresh, POLL_MS);
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  start();
});
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(timer);
  $('tree').replaceChildren();
  $('sessions-tools').hidden = true;
  $('observer').hidden = true;
  setStatus('enter the admin token');
});
$('kill-random').addEventListener('click', () => {
  const count = Number($('count').value);
  void kill(`/admin/sessions/kill?count=${count}`, `${count} random sessions`);
});
$('chaos-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const query = new URLSearchParams({ rate: $('chaos-rate').value, seconds: $('chaos-seconds').value });
  void act('POST', `/admin/chaos?${query}`, ({ chaos }) => `chaos started: ${chaos.rate} a second`);
});
$('chaos-stop').addEventListener('click', () => void act('POST', '/admin/chaos/stop', ({ chaos }) => `chaos stopped after ${chaos.killed} kills`));
$('kick-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('kick-name').value.trim();
  if (name !== '') void kick(name);
});
let searchTimer;
$('session-q').addEventListener('input', () => {
  clearTimeout(searchTimer);
  // A search per pause in typing, not per key: each one filters every session on the server.
  searchTimer = setTimeout(() => {
    sessionView.q = $('session-q').value.trim();
    sessionView.offset = 0;
    void refreshSessions().catch((error) => setStatus(error.message, true));
  }, 250);
});
$('session-search').addEventListener('submit', (event) => event.preventDefault());
$('prev').addEventListener('click', () => {
  sessionView.offset = Math.max(0, sessionView.offset - PAGE);
  void refreshSessions();
});
$('next').addEventListener('click', () => {
  if (sessionView.offset + PAGE < sessionView.count) sessionView.offset += PAGE;
  void refreshSessions();
});
$('tree-panel').addEventListener('toggle', () => void refresh());

if (token() !== '') start();
