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
 * Read memory handed out before the allocator is primed: only a process that
 * moves bulk data pays for (and gains from) priming.
 */
export const PRIME_AFTER = 16 * 1024 * 1024;
/**
 * The block that primes the allocator: just under glibc's largest dynamic
 * mmap threshold (32 MiB on 64-bit), so freeing it raises the threshold.
 */
const PRIME_SIZE = 32 * 1024 * 1024 - 64 * 1024;
let untilPrime = PRIME_AFTER;

/**
 * Every chunk a connection delivers lives in fresh memory (the protocol may
 * keep it), and the garbage collector frees that memory in batches of tens of
 * MB. With glibc's starting thresholds (128 KiB both for mmap and for giving
 * free memory back; they follow the largest block freed so far) each batch
 * went back to the kernel and was faulted in again a page at a time:
 * 30,000–85,000 page faults per 4 s of TLS streaming against the
 * buffer-reusing Deno echo's 1,000–4,000, and half the gap between them
 * (bench/RESULTS.md, "Priming the allocator"). glibc raises both thresholds
 * by itself once a large mmapped block is freed (`mallopt(3)`,
 * M_MMAP_THRESHOLD: the mmap threshold becomes that block's size, the trim
 * threshold twice it), as a busy program may sooner or later; this gets
 * there at once by freeing one large untouched block. The price: up to 64
 * MiB of freed memory may stay with the process after a burst. Linux only.
 * Exported for the test.
 */
export function primeAllocator(): void {
  untilPrime = Infinity;
  if (Deno.build.os !== "linux") return;
  // `transfer(0)` frees the block now (detaching it); the pages are never
  // touched, so this costs one mmap and one munmap.
  new ArrayBuffer(PRIME_SIZE).transfer(0);
}

/**
 * A region of `size` bytes that nobody else will ever be given. Small regions
 * come from the current shared slab; large ones get memory of their own.
 */
export function takeRegion(size: number): Uint8Array {
  if ((untilPrime -= size) <= 0) primeAllocator();
  if (size > SLAB_SIZE / 4) return new Uint8Array(size);
  if (slab.length - slabOffset < size) {
    slab = new Uint8Array(SLAB_SIZE);
    slabOffset = 0;
  }
  const region = slab.subarray(slabOffset, slabOffset + size);
  slabOffset += size;
  return region;
}
