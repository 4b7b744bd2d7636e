/**
 * The Deno reactor and the default `reactor` instance.
 *
 * STUB — the life cycle lives in `base.ts` (`ReactorBase`); TCP is delegated
 * to `tcp.ts`.
 *
 * @module
 */
