// Notices: short messages about the connection or a failed action, which go
// away by themselves unless they must stay until something changes.

import { $ } from './dom.js';

const NOTICE_MS = 8000;

let timer;

export function showNotice(text, { sticky = false } = {}) {
  const notice = $('notice');
  clearTimeout(timer);
  notice.textContent = text;
  notice.hidden = false;
  if (!sticky) timer = setTimeout(() => (notice.hidden = true), NOTICE_MS);
}
