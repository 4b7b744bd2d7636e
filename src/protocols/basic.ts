/**
 * The basic framing protocols (`twisted.protocols.basic`): lines, netstrings
 * and length-prefixed strings; and `FileSender`, which streams a file to a
 * transport. Built only on the public core API, so each can
 * be tested with a `StringTransport`.
 *
 * @example Receiving CRLF-terminated lines
 * ```ts
 * import { LineReceiver } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const lines: string[] = [];
 * class Lines extends LineReceiver {
 *   override lineReceived(line: Uint8Array): void {
 *     lines.push(new TextDecoder().decode(line));
 *   }
 * }
 * const p = new Lines();
 * p.makeConnection(new StringTransport());
 * p.dataReceived(new TextEncoder().encode("one\r\ntwo\r\n"));
 * assertEquals(lines, ["one", "two"]);
 * ```
 *
 * @module
 */
export * from "./line_receiver.ts";
export * from "./netstring.ts";
export * from "./int_string.ts";
export * from "./file_sender.ts";

// The core types this entry point's signatures mention, re-exported as types
// only (the values live in the root module), so that it is documented on its
// own.
export type * from "../internet/common/entry_types.ts";
