/**
 * Read buffers for connections: regions carved from shared slabs, so an idle
 * connection pins only a small region (not a 64 KiB buffer of its own) and a
 * chunk handed to `dataReceived` is never written again (zero copies).
 *
 * @module
 */

/** The size of a shared slab. */
const SLAB_SIZE = 256 * 1024;
/**
 * The first read size of a connection: idle connections stay this cheap (a
 * small request still fits in one read).
 */
export const MIN_READ_SIZE = 1024;
/** The largest read size a busy connection grows to. */
export const MAX_READ_SIZE = 256 * 1024;

/**
 * The most plaintext one TLS record carries: a `Deno.TlsConn` read returns at
 * most one record, so a smaller read target splits a record over two reads.
 */
export const TLS_RECORD_SIZE = 16 * 1024;
/** The largest read size of a TLS connection: two records (a read returns one). */
export const MAX_TLS_READ_SIZE = 2 * TLS_RECORD_SIZE;

// The first slab is made by the first read, not when the module loads: a
// program that never opens a connection never pays for it.
let slab = new Uint8Array(0);
let slabOffset = 0;

/**
 * A region of `size` bytes that nobody else will ever be given. Small regions
 * come from the current shared slab; large ones get memory of their own.
 */
export function takeRegion(size: number): Uint8Array {
  if (size > SLAB_SIZE / 4) return new Uint8Array(size);
  if (slab.length - slabOffset < size) {
    slab = new Uint8Array(SLAB_SIZE);
    slabOffset = 0;
  }
  const region = slab.subarray(slabOffset, slabOffset + size);
  slabOffset += size;
  return region;
}
