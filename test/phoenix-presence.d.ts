// phoenix@1.8.16 ships no typings: just the static Presence helpers the presence tests run.
// Other test files may add their own `declare module 'phoenix'` blocks (Socket...); ambient
// module declarations merge, so keep the names here specific to Presence.
declare module 'phoenix' {
  export type PhxPresenceMeta = { phx_ref: string; phx_ref_prev?: string; [field: string]: unknown };
  export type PhxPresenceState = Record<string, { metas: PhxPresenceMeta[] }>;
  export type PhxPresenceDiff = { joins: PhxPresenceState; leaves: PhxPresenceState };
  export type PhxPresenceCallback = (
    key: string,
    current: { metas: PhxPresenceMeta[] } | undefined,
    changed: { metas: PhxPresenceMeta[] },
  ) => void;

  export class Presence {
    constructor(channel: Channel, opts?: PresenceOpts);
    /** Mutates `newState`'s presences: pass a copy. */
    static syncState(
      currentState: PhxPresenceState,
      newState: PhxPresenceState,
      onJoin?: PhxPresenceCallback,
      onLeave?: PhxPresenceCallback,
    ): PhxPresenceState;
    /** Returns `state` itself, changed in place, when it already has a null prototype. */
    static syncDiff(
      state: PhxPresenceState,
      diff: PhxPresenceDiff,
      onJoin?: PhxPresenceCallback,
      onLeave?: PhxPresenceCallback,
    ): PhxPresenceState;
  }
}
