/**
 * Bytes from what a transport's `write()` accepts.
 *
 * @module
 */
import type { Data } from "../interfaces.ts";

const encoder = new TextEncoder();

/** `data` as bytes: a string is UTF-8 encoded, bytes are returned as they are. */
export function toBytes(data: Data): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}
