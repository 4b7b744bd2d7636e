/**
 * The PROXY protocol's headers, version 1 (a text line) and version 2
 * (binary), parsed incrementally from whatever chunks arrive, down to one
 * byte at a time. Pure: no I/O, no clock.
 *
 * The format is HAProxy's: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
 *
 * @module
 */
import {
  IPv4Address,
  IPv6Address,
  UNIXAddress,
} from "../../internet/address.ts";
import type { IAddress } from "../../internet/interfaces.ts";

/**
 * What a PROXY header said: the raw header, and the addresses of the
 * original connection (`null` when the proxy sent none: a `LOCAL` command,
 * an `UNKNOWN` or unspecified protocol).
 *
 * @example Reading the header a connection started with
 * ```ts
 * import { Factory, Protocol } from "@twist/twist";
 * import { HAProxyWrappingFactory, type ProxyInfo } from "@twist/twist/protocols/haproxy";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const factory = new HAProxyWrappingFactory(Factory.forProtocol(Protocol), { timeout: null });
 * const wrapper = factory.buildProtocol(new StringTransport().getPeer());
 * wrapper.makeConnection(new StringTransport());
 * wrapper.dataReceived(new TextEncoder().encode("PROXY TCP4 1.2.3.4 5.6.7.8 1111 80\r\n"));
 * const info: ProxyInfo = wrapper.proxyInfo!;
 * assertEquals(String(info.source), 'IPv4Address(type="TCP", host="1.2.3.4", port=1111)');
 * assertEquals(info.header.length, 36);
 * ```
 */
export interface ProxyInfo {
  /** The header's bytes, as received (with its CRLF for version 1). */
  readonly header: Uint8Array;
  /** The original client's address, if the proxy sent one. */
  readonly source: IAddress | null;
  /** The address the client connected to, if the proxy sent one. */
  readonly destination: IAddress | null;
}

/**
 * A connection's PROXY header is malformed, or missing; the message says how
 * (Twisted's `InvalidProxyHeader`). The wrapper logs it and drops the
 * connection.
 *
 * @example
 * ```ts
 * import { InvalidProxyHeader } from "@twist/twist/protocols/haproxy";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new InvalidProxyHeader("no CRLF").name, "InvalidProxyHeader");
 * ```
 */
export class InvalidProxyHeader extends Error {
  /** The error's name. */
  override name = "InvalidProxyHeader";
}

/**
 * The header names a network protocol or address family the PROXY protocol
 * does not define (Twisted's `InvalidNetworkProtocol`).
 *
 * @example
 * ```ts
 * import { InvalidNetworkProtocol, InvalidProxyHeader } from "@twist/twist/protocols/haproxy";
 * import { assert } from "@std/assert";
 *
 * assert(new InvalidNetworkProtocol("TCP5") instanceof InvalidProxyHeader);
 * ```
 */
export class InvalidNetworkProtocol extends InvalidProxyHeader {
  /** The error's name. */
  override name = "InvalidNetworkProtocol";
}

/**
 * The header's addresses or ports are missing or incomplete (Twisted's
 * `MissingAddressData`).
 *
 * @example
 * ```ts
 * import { InvalidProxyHeader, MissingAddressData } from "@twist/twist/protocols/haproxy";
 * import { assert } from "@std/assert";
 *
 * assert(new MissingAddressData("no ports") instanceof InvalidProxyHeader);
 * ```
 */
export class MissingAddressData extends InvalidProxyHeader {
  /** The error's name. */
  override name = "MissingAddressData";
}

/** The version 2 signature: `\r\n\r\n\0\r\nQUIT\n`. */
const V2_SIGNATURE = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);
/** How a version 1 header starts. */
const V1_START = Uint8Array.from("PROXY ", (c) => c.charCodeAt(0));
/** The longest version 1 header, CRLF included (the specification's limit). */
const V1_MAX = 107;
/** The fixed part of a version 2 header: signature, version/command, family, length. */
const V2_FIXED = 16;
/** Address block sizes of version 2's families: INET, INET6, UNIX. */
const V2_ADDRESS_SIZE: Record<number, number> = { 1: 12, 2: 36, 3: 216 };

/** Whether `data` starts with as much of `prefix` as it holds. */
function startsLike(data: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(data.length, prefix.length);
  for (let i = 0; i < n; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

/** Up to `max` bytes of `data` as a quoted, escaped string for messages. */
export function quoteBytes(data: Uint8Array, max = 24): string {
  let text = "";
  for (const b of data.subarray(0, max)) {
    if (b === 0x0d) text += "\\r";
    else if (b === 0x0a) text += "\\n";
    else if (b === 0x22 || b === 0x5c) text += "\\" + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) text += String.fromCharCode(b);
    else text += "\\x" + b.toString(16).padStart(2, "0");
  }
  return `"${text}${data.length > max ? "..." : ""}"`;
}

const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

function port(text: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(text) || Number(text) > 65535) {
    throw new InvalidProxyHeader(
      `port "${text}" is not an integer from 0 to 65535`,
    );
  }
  return Number(text);
}

/**
 * Parses a version 1 header line (without its CRLF): `PROXY TCP4 SRC DST
 * SPORT DPORT`, `PROXY TCP6 ...` or `PROXY UNKNOWN[ anything]`.
 */
function parseV1(header: Uint8Array, line: string): ProxyInfo {
  const fields = line.split(" ");
  const protocol = fields[1];
  if (protocol === "UNKNOWN") {
    return { header, source: null, destination: null };
  }
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw new InvalidNetworkProtocol(
      `unknown protocol "${protocol ?? ""}" in ${
        JSON.stringify(line)
      } (expected TCP4, TCP6 or UNKNOWN)`,
    );
  }
  if (fields.length !== 6) {
    throw new MissingAddressData(
      `expected "PROXY ${protocol} SOURCE DESTINATION SPORT DPORT", got ${
        JSON.stringify(line)
      }`,
    );
  }
  const [, , src, dst, sport, dport] = fields;
  const valid = protocol === "TCP4" ? (a: string) => IPV4.test(a) : isIPv6;
  for (const a of [src, dst]) {
    if (!valid(a)) {
      throw new MissingAddressData(
        `"${a}" is not an ${protocol === "TCP4" ? "IPv4" : "IPv6"} address in ${
          JSON.stringify(line)
        }`,
      );
    }
  }
  const Address = protocol === "TCP4" ? IPv4Address : IPv6Address;
  return {
    header,
    source: new Address("TCP", src, port(sport)),
    destination: new Address("TCP", dst, port(dport)),
  };
}

/** An IPv6 address's 16 bytes as RFC 5952 text (what `inet_ntop` prints). */
export function formatIPv6(bytes: Uint8Array): string {
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) &&
    bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return `::ffff:${bytes.subarray(12, 16).join(".")}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // The longest run of two or more zero groups (the first of equals) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${
    hex(groups.slice(bestStart + bestLength))
  }`;
}

/** A UNIX socket path from its 108 NUL-padded bytes. */
function unixPath(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** Parses a complete version 2 header. */
function parseV2(header: Uint8Array): ProxyInfo {
  const version = header[12] >> 4;
  const command = header[12] & 0x0f;
  if (version !== 2) {
    throw new InvalidProxyHeader(
      `unsupported PROXY protocol version ${version} (expected 2)`,
    );
  }
  if (command === 0) return { header, source: null, destination: null }; // LOCAL
  if (command !== 1) {
    throw new InvalidProxyHeader(
      `unknown command ${command} (expected 0 for LOCAL or 1 for PROXY)`,
    );
  }
  const family = header[13] >> 4;
  const transport = header[13] & 0x0f;
  if (family > 3 || transport > 2) {
    throw new InvalidNetworkProtocol(
      `unknown address family and protocol 0x${
        header[13].toString(16).padStart(2, "0")
      } (expected a family from 0 to 3 and a protocol from 0 to 2)`,
    );
  }
  if (family === 0 || transport === 0) {
    return { header, source: null, destination: null }; // UNSPEC
  }
  const size = V2_ADDRESS_SIZE[family];
  const length = header.length - V2_FIXED;
  if (length < size) {
    throw new MissingAddressData(
      `the address block is ${length} bytes, too short for its family (${size})`,
    );
  }
  const a = header.subarray(V2_FIXED);
  if (family === 3) {
    return {
      header,
      source: new UNIXAddress(unixPath(a.subarray(0, 108))),
      destination: new UNIXAddress(unixPath(a.subarray(108, 216))),
    };
  }
  const type = transport === 2 ? "UDP" : "TCP";
  const view = new DataView(a.buffer, a.byteOffset, a.byteLength);
  if (family === 1) {
    return {
      header,
      source: new IPv4Address(
        type,
        a.subarray(0, 4).join("."),
        view.getUint16(8),
      ),
      destination: new IPv4Address(
        type,
        a.subarray(4, 8).join("."),
        view.getUint16(10),
      ),
    };
  }
  return {
    header,
    source: new IPv6Address(
      type,
      formatIPv6(a.subarray(0, 16)),
      view.getUint16(32),
    ),
    destination: new IPv6Address(
      type,
      formatIPv6(a.subarray(16, 32)),
      view.getUint16(34),
    ),
  };
}

/** A complete header and the bytes that followed it. */
export interface ParsedHeader {
  /** What the header said. */
  info: ProxyInfo;
  /** The bytes after the header (the start of the proxied stream). */
  rest: Uint8Array;
}

/**
 * Reads a PROXY header, version 1 or 2, from the chunks fed to it. It keeps
 * the chunks until the header is complete, and joins them once (a version 2
 * header may be 64 KiB long, and a peer may send it a byte at a time).
 */
export class ProxyHeaderParser {
  #chunks: Uint8Array[] = [];
  #length = 0;
  #version: 1 | 2 | undefined;
  /** Version 2: the header's full length, once its fixed part is in. */
  #needed: number | undefined;

  /**
   * Takes the next chunk.
   *
   * @returns the header and what followed it once the header is complete,
   *   else `null`
   * @throws {InvalidProxyHeader} if the bytes cannot start, or do not make, a
   *   PROXY header
   */
  feed(data: Uint8Array): ParsedHeader | null {
    if (data.length === 0) return null;
    this.#chunks.push(data);
    this.#length += data.length;
    if (this.#version === undefined) {
      const start = this.#join(Math.min(this.#length, V2_SIGNATURE.length));
      if (startsLike(start, V2_SIGNATURE)) {
        if (start.length < V2_SIGNATURE.length) return null;
        this.#version = 2;
      } else if (startsLike(start, V1_START)) {
        if (start.length < V1_START.length) return null;
        this.#version = 1;
      } else {
        throw new InvalidProxyHeader(
          `the connection did not start with a PROXY protocol header (received ${
            quoteBytes(this.#join(Math.min(this.#length, 25)))
          })`,
        );
      }
    }
    return this.#version === 1 ? this.#feedV1() : this.#feedV2();
  }

  #feedV1(): ParsedHeader | null {
    const all = this.#join(this.#length);
    // A CR may have ended the previous chunk: search from before it.
    const end = all.subarray(0, V1_MAX).indexOf(0x0a);
    if (end < 0 || all[end - 1] !== 0x0d) {
      if (end >= 0 || all.length >= V1_MAX) {
        throw new InvalidProxyHeader(
          `the version 1 header has no CRLF within ${V1_MAX} bytes (received ${
            quoteBytes(all, 40)
          })`,
        );
      }
      return null;
    }
    const header = all.slice(0, end + 1);
    const line = String.fromCharCode(...header.subarray(0, end - 1));
    return { info: parseV1(header, line), rest: all.subarray(end + 1) };
  }

  #feedV2(): ParsedHeader | null {
    if (this.#needed === undefined) {
      if (this.#length < V2_FIXED) return null;
      const fixed = this.#join(V2_FIXED);
      this.#needed = V2_FIXED + ((fixed[14] << 8) | fixed[15]);
    }
    if (this.#length < this.#needed) return null;
    const all = this.#join(this.#length);
    const header = all.slice(0, this.#needed);
    return { info: parseV2(header), rest: all.subarray(this.#needed) };
  }

  /**
   * The first `n` bytes kept. Joining keeps the result as the only chunk,
   * so bytes are copied once per join; joins happen when a decision needs
   * them (at most 12 + 16 bytes, then once the header is complete).
   */
  #join(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const joined = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      joined.set(c, at);
      at += c.length;
    }
    this.#chunks = [joined];
    return joined.subarray(0, n);
  }
}
