/**
 * Bytes from what a transport's `write()` accepts.
 *
 * @module
 */
import type { Data } from "../interfaces.ts";

const encoder = new TextEncoder();

/**
 * `data` as bytes: a string is UTF-8 encoded, a `Uint8Array` is returned as
 * it is. Anything else is refused at the call, as Twisted's `write` refuses
 * what is not `bytes`: other typed arrays and `DataView`s too, since their
 * length is not their size in bytes (wrap their buffer in a `Uint8Array`).
 *
 * @throws {TypeError} for anything but a string or a `Uint8Array`
 */
export function toBytes(data: Data): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw new TypeError(
    `Cannot write ${describe(data)}: expected a string or a Uint8Array`,
  );
}

/** The value's kind, for the message. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return `a ${typeof value} (${String(value)})`;
  const name = (value as object).constructor?.name;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `a ${name}: wrap its buffer in a Uint8Array`;
  }
  return `a ${name ?? "object"}`;
}
