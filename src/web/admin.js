// The admin page: polls GET /admin/tree every second and draws it; kill buttons
// POST to the admin API. The token lives in sessionStorage (gone with the tab)
// and goes out as a bearer token on every call; the page itself holds no data.

const TOKEN_KEY = 'otp-chat-admin-token';
const POLL_MS = 1000;
const KILLABLE = new Set(['repo', 'pubsub', 'presence', 'endpoint']);

const $ = (id) => document.getElementById(id);
const status = $('status');
const lastRestarts = new Map();
let timer;

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

async function kill(path, label) {
  try {
    const body = await api('POST', path);
    const killed = Array.isArray(body.killed) ? body.killed : [body.killed];
    $('last-action').textContent = `killed ${killed.length === 1 ? label : `${killed.length} sessions`} at ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $('last-action').textContent = `kill ${label}: ${error.message}`;
  }
  void refresh();
}

function draw(node, parentIsSessions) {
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
    for (const child of node.children) list.append(draw(child, node.id === 'sessions'));
    if (node.omitted) list.append(el('li', { className: 'meta', textContent: `… ${node.omitted} more` }));
    item.append(list);
  }
  return item;
}

async function refresh() {
  if (token() === '') return;
  try {
    const { tree } = await api('GET', '/admin/tree?limit=200');
    $('tree').replaceChildren(el('ul', { className: 'tree root' }, draw(tree, false)));
    $('sessions-tools').hidden = false;
    setStatus(`live · ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    setStatus(error.message, true);
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
  setStatus('enter the admin token');
});
$('kill-random').addEventListener('click', () => {
  const count = Number($('count').value);
  void kill(`/admin/sessions/kill?count=${count}`, `${count} random sessions`);
});

if (token() !== '') start();
