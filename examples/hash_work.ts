// The CPU-heavy work of the hash servers (examples/hash_server.ts,
// examples/hash_factory.ts): plain functions, no reactor, so a WorkerPool's
// Workers can run them.

/**
 * A deliberately slow hash: 32-bit FNV-1a over `data`, `rounds` times over
 * (each round starts from the last one's hash). About 1 ms per round per KiB.
 */
export function slowHash(data: Uint8Array, rounds: number): string {
  let h = 0x811c9dc5;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < data.length; i++) {
      h ^= data[i];
      h = Math.imul(h, 0x01000193);
    }
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** Does nothing: what the round-trip benchmark calls. */
export function noop(): void {}
