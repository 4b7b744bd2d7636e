/**
 * Addresses of connection endpoints (`twisted.internet.address`).
 *
 * @module
 */
import type { IAddress } from "./interfaces.ts";

/** The transport kinds an IP address can belong to. */
export type IPAddressType = "TCP" | "UDP";

/**
 * An IPv4 address of a TCP or UDP endpoint.
 *
 * @example Using `IPv4Address`
 * ```ts
 * import { IPv4Address } from "@twist/twist";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const addr = new IPv4Address("TCP", "127.0.0.1", 8000);
 * assertEquals(addr.toString(), 'IPv4Address(type="TCP", host="127.0.0.1", port=8000)');
 * assert(addr.equals(new IPv4Address("TCP", "127.0.0.1", 8000)));
 * ```
 */
export class IPv4Address implements IAddress {
  /** `"TCP"` or `"UDP"`. */
  readonly type: IPAddressType;
  /** The dotted-quad host. */
  readonly host: string;
  /** The port number. */
  readonly port: number;

  /** Creates an address. */
  constructor(type: IPAddressType, host: string, port: number) {
    this.type = type;
    this.host = host;
    this.port = port;
  }

  /** Whether `other` is the same address. */
  equals(other: unknown): boolean {
    return other instanceof IPv4Address && other.type === this.type &&
      other.host === this.host && other.port === this.port;
  }

  /** A readable form, as Twisted's `repr`. */
  toString(): string {
    return `IPv4Address(type="${this.type}", host="${this.host}", port=${this.port})`;
  }
}

/**
 * An IPv6 address of a TCP or UDP endpoint.
 *
 * @example Using `IPv6Address`
 * ```ts
 * import { IPv6Address } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const addr = new IPv6Address("TCP", "::1", 8000);
 * assertEquals(addr.host, "::1");
 * assertEquals(addr.flowInfo, 0);
 * ```
 */
export class IPv6Address implements IAddress {
  /** `"TCP"` or `"UDP"`. */
  readonly type: IPAddressType;
  /** The host, without brackets. */
  readonly host: string;
  /** The port number. */
  readonly port: number;
  /** The flow information. @default {0} */
  readonly flowInfo: number;
  /** The scope id. @default {0} */
  readonly scopeID: number | string;

  /** Creates an address. */
  constructor(
    type: IPAddressType,
    host: string,
    port: number,
    flowInfo = 0,
    scopeID?: number | string,
  ) {
    scopeID ??= 0;
    this.type = type;
    this.host = host;
    this.port = port;
    this.flowInfo = flowInfo;
    this.scopeID = scopeID;
  }

  /** Whether `other` is the same address. */
  equals(other: unknown): boolean {
    return other instanceof IPv6Address && other.type === this.type &&
      other.host === this.host && other.port === this.port &&
      other.flowInfo === this.flowInfo && other.scopeID === this.scopeID;
  }

  /** A readable form, as Twisted's `repr`. */
  toString(): string {
    return `IPv6Address(type="${this.type}", host="${this.host}", port=${this.port}, flowInfo=${this.flowInfo}, scopeID=${this.scopeID})`;
  }
}

/**
 * The address of a UNIX socket; `name` is its path, or `null` for an unnamed
 * socket.
 *
 * @example Using `UNIXAddress`
 * ```ts
 * import { UNIXAddress } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new UNIXAddress("/tmp/s.sock").toString(), 'UNIXAddress("/tmp/s.sock")');
 * ```
 */
export class UNIXAddress implements IAddress {
  /** Always `"UNIX"`. */
  readonly type = "UNIX" as const;
  /** The socket's path, or `null` when it has none. */
  readonly name: string | null;

  /** Creates an address. */
  constructor(name: string | null) {
    this.name = name;
  }

  /** Whether `other` is the same address. */
  equals(other: unknown): boolean {
    return other instanceof UNIXAddress && other.name === this.name;
  }

  /** A readable form, as Twisted's `repr`. */
  toString(): string {
    return `UNIXAddress(${
      this.name === null ? "None" : JSON.stringify(this.name)
    })`;
  }
}

/**
 * Turns a Deno network address into a Twist address.
 *
 * @example Calling `fromDenoAddr`
 * ```ts
 * import { IPv6Address } from "@twist/twist";
 * import { fromDenoAddr } from "./address.ts";
 * import { assert } from "@std/assert";
 *
 * const addr = fromDenoAddr({ transport: "tcp", hostname: "::1", port: 80 });
 * assert(addr instanceof IPv6Address);
 * ```
 */
export function fromDenoAddr(
  addr: Deno.Addr,
): IPv4Address | IPv6Address | UNIXAddress {
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    return new UNIXAddress((addr as Deno.UnixAddr).path || null);
  }
  if (addr.transport !== "tcp" && addr.transport !== "udp") {
    throw new TypeError(`Unsupported address transport "${addr.transport}"`);
  }
  const type: IPAddressType = addr.transport === "udp" ? "UDP" : "TCP";
  return addr.hostname.includes(":")
    ? new IPv6Address(type, addr.hostname, addr.port)
    : new IPv4Address(type, addr.hostname, addr.port);
}
