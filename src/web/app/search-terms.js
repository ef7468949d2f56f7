// A search hit's body with the query's words marked: pure, for the results
// list. The server decides what matches (PostgreSQL full text, 'simple'
// config); this only finds the same words again to show them, so a word the
// query excludes (-word) or an operator (or) is not marked.

/** The words a websearch query looks for, lower-cased. */
export function searchTerms(query) {
  const terms = [];
  for (const match of query.matchAll(/(-?)"([^"]*)"|(-?)([^\s"]+)/gu)) {
    const negated = (match[1] ?? match[3]) === '-';
    const text = match[2] ?? match[4] ?? '';
    if (negated || /^or$/i.test(text)) continue;
    for (const word of text.split(/[^\p{L}\p{N}]+/u)) if (word !== '') terms.push(word.toLowerCase());
  }
  return [...new Set(terms)];
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `text` cut into parts, `{ text, match }`, the query's whole words marked. */
export function markTerms(text, query) {
  const terms = searchTerms(query);
  if (terms.length === 0) return [{ text, match: false }];
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${terms.map(escape).join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  const parts = [];
  let at = 0;
  for (const found of text.matchAll(pattern)) {
    if (found.index > at) parts.push({ text: text.slice(at, found.index), match: false });
    parts.push({ text: found[0], match: true });
    at = found.index + found[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), match: false });
  return parts;
}
