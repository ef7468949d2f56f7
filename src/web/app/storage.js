// Storage can be unavailable (some privacy modes throw, reading `localStorage`
// itself included): then this tab's memory keeps the value instead.

const memory = new Map();

function withFallback(storage) {
  return {
    get(key) {
      try {
        return storage().getItem(key);
      } catch {
        return memory.get(key) ?? null;
      }
    },
    set(key, value) {
      try {
        storage().setItem(key, value);
      } catch {
        memory.set(key, value);
      }
    },
  };
}

/** Shared by every tab of this browser. */
export const browserStore = withFallback(() => localStorage);

/** This tab's own, gone when it closes. */
export const tabStore = withFallback(() => sessionStorage);
