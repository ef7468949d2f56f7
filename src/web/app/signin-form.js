// The landing page's sign-in form: what it starts with, and where a refusal is shown.

import { $ } from './dom.js';
import { describeError, sentence } from './errors.js';
import { SIGNED, savedUsername } from './identity.js';

/** Prefilled with what this browser used last and the room asked for. With a signed token there is no name to pick. */
export function fillSigninForm(room, failure) {
  $('username').value = savedUsername() ?? '';
  $('username-field').hidden = SIGNED;
  $('room').value = room;
  clearSigninErrors();
  if (failure !== null) showJoinFailure(failure);
}

/** Where typing starts: at the room when there is no name to pick, or when the room is what was refused. */
export const signinFocus = (failure) =>
  SIGNED || (failure?.reason === 'invalid_params' && failure.errors?.topic) ? $('room') : $('username');

/** A room picked from the directory before any name was saved: the form keeps it, and asks for the name. */
export function offerRoom(room) {
  $('room').value = room;
  clearSigninErrors();
  signinFocus(null).focus();
}

export function clearSigninErrors() {
  for (const id of ['username', 'room']) {
    $(`${id}-error`).textContent = '';
    $(id).removeAttribute('aria-invalid');
  }
  showSigninError('');
}

export function showFieldError(field, text) {
  $(`${field}-error`).textContent = text;
  $(field).setAttribute('aria-invalid', 'true');
}

/** What is about neither field. */
export function showSigninError(text) {
  $('signin-error').textContent = text;
}

/** A refused room join, shown where it belongs: next to the field it is about. */
export function showJoinFailure(response) {
  if (response.reason === 'username_taken') return showFieldError('username', describeError(response));
  if (response.reason === 'invalid_params') {
    const errors = response.errors ?? {};
    if (typeof errors.username === 'string') showFieldError('username', sentence(`Username ${errors.username}`));
    if (typeof errors.topic === 'string') showFieldError('room', sentence(`The ${errors.topic}`));
    const rest = Object.entries(errors).filter(([field]) => field !== 'username' && field !== 'topic');
    if (rest.length > 0) showSigninError(sentence(rest.map(([field, text]) => `${field} ${text}`).join('; ')));
    return;
  }
  showSigninError(describeError(response));
}
