// The server's error replies, in the user's terms. Every refusal is shown as
// the server says it: these only word it.

import { NAMES_OPEN, SIGNED } from './identity.js';

/** The server's messages are fragments ("must be at most 500 characters"): end them once. */
export const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

/** A sentence for an error reply. */
export function describeError(response, subject = '') {
  const reason = response?.reason;
  switch (reason) {
    case 'invalid_params': {
      const details = Object.values(response.errors ?? {}).filter((text) => typeof text === 'string');
      return details.length > 0 ? sentence(`${subject}${details.join('; ')}`) : 'The server did not accept that.';
    }
    case 'username_taken':
      if (SIGNED) return 'Your name is in use by another account here.';
      return NAMES_OPEN
        ? 'This name is in use right now by someone in another browser. Pick another name, or wait until they leave.'
        : 'This name is taken by someone in another browser. Pick another name.';
    case 'too_many_tabs':
      return `You have this room open in too many tabs (at most ${Number.isInteger(response.limit) ? response.limit : 'a few'}). Close one and try again.`;
    case 'unavailable':
      return 'The server cannot tell right now whose this name is. Try again in a moment.';
    case 'rate_limited':
      return 'You are sending too fast. Wait a moment and try again.';
    case 'db_unavailable':
      return 'The server cannot reach its database right now. Try again in a moment.';
    case 'forbidden':
      return 'You can only delete your own messages.';
    case 'not_found':
      return 'That message does not exist any more.';
    case 'timeout':
      return 'No answer from the server. Try again.';
    default:
      return `The server refused: ${typeof reason === 'string' ? reason : 'unknown error'}.`;
  }
}
