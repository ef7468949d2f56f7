// The room's message pane: it follows the newest message unless the reader
// has scrolled up to read, and loads older ones near its top.

import { $ } from './dom.js';

const scroller = () => $('message-scroll');

export const nearTop = () => scroller().scrollTop < 120;

export function nearBottom() {
  const box = scroller();
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

export function scrollToBottom() {
  scroller().scrollTop = scroller().scrollHeight;
  offerJumpToLatest(false);
}

/** The "New messages" button, for a message that arrived while the reader was further up. */
export function offerJumpToLatest(offered) {
  $('jump-latest').hidden = !offered;
}

/** Prepending older messages must not move what the reader is looking at. */
export function keepScrollAnchor(change) {
  const box = scroller();
  const fromBottom = box.scrollHeight - box.scrollTop;
  change();
  box.scrollTop = box.scrollHeight - fromBottom;
}
