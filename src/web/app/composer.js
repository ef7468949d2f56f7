// Sending a message: with a nonce of its own, so a push that timed out or met
// a database outage is sent again, and the server stores it once however many
// of the attempts reached it. Typing in it tells the room, once per 2 s.

import { $ } from './dom.js';
import { describeError } from './errors.js';
import { randomToken } from './identity.js';
import { bodyProblem } from './rules.js';
import { mayTellTyping } from './typing-state.js';

// A send that timed out or met a database outage is tried again this many times.
const SEND_RETRIES = 3;

/** Sends the composer's text on `channel`; `whileOpen` guards every callback of a room that may be left meanwhile. */
export function createComposer(channel, whileOpen) {
  let sending = false;
  let typingSent = null; // when `typing` last went out

  const finish = (error) => {
    sending = false;
    $('send').disabled = false;
    showComposerError(error ?? '');
  };

  function send() {
    const input = $('message-input');
    const body = input.value;
    if (body.trim() === '' || sending) return;
    sending = true;
    $('send').disabled = true;
    const nonce = randomToken(22);
    const attempt = (tries) => {
      const retry = (error) => {
        if (tries >= SEND_RETRIES) return finish(error);
        $('composer-error').textContent = 'Not sent yet: trying again...';
        setTimeout(whileOpen(() => attempt(tries + 1)), 500 * 2 ** tries);
      };
      channel
        .push('new_msg', { body, nonce })
        .receive(
          'ok',
          whileOpen(() => {
            // Accepted: clear, unless the user has already started the next message.
            if (input.value === body) input.value = '';
            finish();
          }),
        )
        .receive(
          'error',
          whileOpen((response) => {
            const error = describeError(response, 'Not sent: message ');
            if (response?.reason === 'db_unavailable') retry(`Not sent: ${error}`);
            else finish(error);
          }),
        )
        .receive('timeout', whileOpen(() => retry(`Not sent: ${describeError({ reason: 'timeout' })}`)));
    };
    attempt(0);
  }

  /** On input: the room hears of it, at most once per 2 s, and only while joined (a buffered one would come late). */
  function typing() {
    const now = Date.now();
    if ($('message-input').value.trim() === '' || channel.state !== 'joined' || !mayTellTyping(typingSent, now)) return;
    typingSent = now;
    channel.push('typing', {});
  }

  return { send, typing };
}

/** The composer's own line: a refusal, or (while typing) a warning; the server is the one that refuses. */
function showComposerError(text) {
  const input = $('message-input');
  $('composer-error').textContent = text;
  if (text === '') input.removeAttribute('aria-invalid');
  else input.setAttribute('aria-invalid', 'true');
}

/** Editing clears the last refusal, which was about other text. */
export function onComposerInput() {
  showComposerError(bodyProblem($('message-input').value) ?? '');
}

/** The composer as a new room finds it. */
export function clearComposer() {
  $('message-input').value = '';
  showComposerError('');
  $('send').disabled = false;
}
