import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { fromRoot } from '../src/root.js';

/**
 * The browser client's pure parts for the room page (src/web/app/, plain ES
 * modules served as they are): who is typing, and marking a search hit's words.
 * Imported from their sources, the way the browser loads them.
 */

type TypingState = Map<string, number>;
interface TypingStateModule {
  readonly TYPING_SHOWN_MS: number;
  readonly TYPING_SEND_MS: number;
  noneTyping(): TypingState;
  typed(state: TypingState, name: string, now: number): TypingState;
  spoke(state: TypingState, name: string): TypingState;
  typingNow(state: TypingState, now: number): string[];
  nextExpiry(state: TypingState, now: number): number | null;
  typingLine(names: readonly string[]): string;
  mayTellTyping(lastSent: number | null, now: number): boolean;
}
interface SearchTermsModule {
  searchTerms(query: string): string[];
  markTerms(text: string, query: string): Array<{ text: string; match: boolean }>;
}

const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(fromRoot('src', 'web', 'app', file)).href)) as T;
const typing = await load<TypingStateModule>('typing-state.js');
const terms = await load<SearchTermsModule>('search-terms.js');

describe('who is typing (typing-state.js)', () => {
  it('says one, two, or how many people are typing', () => {
    assert.equal(typing.typingLine([]), '');
    assert.equal(typing.typingLine(['alice']), 'alice is typing…');
    assert.equal(typing.typingLine(['alice', 'bob']), 'alice and bob are typing…');
    assert.equal(typing.typingLine(['alice', 'bob', 'carol']), '3 people are typing…');
  });

  it('shows a name for 5 s after its last typing, or until that person’s message comes', () => {
    let state = typing.noneTyping();
    state = typing.typed(state, 'alice', 1_000);
    state = typing.typed(state, 'bob', 2_000);
    assert.deepEqual(typing.typingNow(state, 2_000), ['alice', 'bob']);
    assert.equal(typing.nextExpiry(state, 2_000), 1_000 + typing.TYPING_SHOWN_MS);
    // Alice types again: her 5 s start over, and she is now the latest to have started.
    state = typing.typed(state, 'alice', 5_000);
    assert.deepEqual(typing.typingNow(state, 6_999), ['bob', 'alice']);
    assert.deepEqual(typing.typingNow(state, 7_000), ['alice'], 'bob gone 5 s after his typing');
    assert.deepEqual(typing.typingNow(state, 10_000), []);
    assert.equal(typing.nextExpiry(state, 10_000), null);
    // A message from her clears her at once; one from someone not typing changes nothing.
    state = typing.typed(state, 'carol', 11_000);
    state = typing.typed(state, 'dan', 11_000);
    const before = state;
    assert.equal(typing.spoke(state, 'nobody'), before);
    state = typing.spoke(state, 'carol');
    assert.deepEqual(typing.typingNow(state, 11_001), ['dan']);
    assert.deepEqual(typing.typingNow(before, 11_001), ['carol', 'dan'], 'states are values: the old one is unchanged');
  });

  it('the composer tells the room at most once per 2 s', () => {
    assert.equal(typing.mayTellTyping(null, 0), true);
    assert.equal(typing.mayTellTyping(1_000, 1_000 + typing.TYPING_SEND_MS - 1), false);
    assert.equal(typing.mayTellTyping(1_000, 1_000 + typing.TYPING_SEND_MS), true);
  });
});

describe('a search hit’s words marked (search-terms.js)', () => {
  const marked = (text: string, query: string) =>
    terms
      .markTerms(text, query)
      .map((part) => (part.match ? `[${part.text}]` : part.text))
      .join('');

  it('marks the query’s whole words in any case, and nothing it excludes', () => {
    assert.deepEqual(terms.searchTerms('Tomatoes "ripe red" -rotten or sauce'), ['tomatoes', 'ripe', 'red', 'sauce']);
    assert.equal(marked('The TOMATOES are ripe; tomatoes!', 'tomatoes ripe'), 'The [TOMATOES] are [ripe]; [tomatoes]!');
    assert.equal(marked('tomatoesauce is one word', 'tomatoes'), 'tomatoesauce is one word');
    assert.equal(marked('rotten tomatoes', 'tomatoes -rotten'), 'rotten [tomatoes]');
    assert.equal(marked('déjà vu', 'DÉJÀ'), '[déjà] vu');
    assert.equal(marked('a.b*c (x)', 'b* (x)'), 'a.[b]*c ([x])', 'query punctuation is no pattern');
    assert.deepEqual(terms.markTerms('nothing to mark', '!!!'), [{ text: 'nothing to mark', match: false }]);
  });
});
