// The server's input rules, mirrored to answer early. The server still decides.

const BODY_MAX = 500;

export function usernameProblem(name) {
  if (name === '') return 'Enter a username.';
  if (name.length > 30) return 'Use at most 30 characters.';
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return 'Use only letters, digits, _ - and . (no spaces).';
  return null;
}

export function roomProblem(name) {
  if (name === '') return 'Enter a room name.';
  if (name.length > 32) return 'Use at most 32 characters.';
  if (!/^[a-z0-9_-]+$/.test(name)) return 'Use only a-z, 0-9, _ and -.';
  return null;
}

export function bodyProblem(body) {
  // Code points, as the server counts them (an emoji is one character, not two).
  const length = [...body].length;
  return length > BODY_MAX ? `Too long: ${length} characters, the limit is ${BODY_MAX}.` : null;
}
