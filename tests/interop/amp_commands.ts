/**
 * The commands Twist's AMP interop tests and tests/interop/amp_peer.py share,
 * and a Twist server answering them as the Python one does.
 *
 * @module
 */
import * as amp from "../../src/protocols/amp.ts";
import { Deferred } from "../../src/internet/defer.ts";

// The documented Math commands: the same classes the examples use.
import { Divide, Sum, ZeroDivision } from "../../examples/amp_server.ts";
export { Divide, Sum, ZeroDivision };

export const ECHO = {
  i: new amp.Integer(),
  big: new amp.BigInteger(),
  flt: new amp.Float(),
  fl: new amp.ListOf(new amp.Float()),
  b: new amp.Boolean(),
  u: new amp.Unicode(),
  s: new amp.Bytes(),
  l: new amp.ListOf(new amp.Integer()),
  al: new amp.AmpList({
    x: new amp.Integer(),
    y: new amp.Unicode({ optional: true }),
  }),
  dt: new amp.DateTime(),
  d: new amp.Decimal(),
  p: new amp.Path(),
  o: new amp.Unicode({ optional: true }),
};

export class Echo extends amp.Command {
  static override arguments = ECHO;
  static override response = ECHO;
}

export class Gather extends amp.Command {
  static override arguments = {
    n: new amp.Integer(),
    total: new amp.Integer(),
  };
  static override response = { n: new amp.Integer() };
}

export class Notify extends amp.Command {
  static override arguments = { text: new amp.Unicode() };
  static override readonly requiresAnswer = false;
}

export class Notified extends amp.Command {
  static override response = { texts: new amp.ListOf(new amp.Unicode()) };
}

export class Secure extends amp.Command {
  static override response = { tls: new amp.Boolean() };
}

/** A seeded random source (so a failure can be replayed). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s + Math.imul(s ^ (s >>> 7), 61 | s);
    return ((s ^ (s >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/** The Twist twin of amp_peer.py's MathServer. */
export class MathServer extends amp.AMP {
  static certificate: amp.TLSCertificate | undefined;
  #waiting: [number, Deferred<{ n: number }>][] = [];
  #notes: string[] = [];
  #random = rng(7);
  tls = false;

  @Sum.responder
  sum({ a, b }: { a: number; b: number }): { total: number } {
    return { total: a + b };
  }

  constructor() {
    super();
    this.registerResponder(Divide, ({ numerator, denominator }) => {
      if (denominator === 0) throw new ZeroDivision("division by zero");
      return { result: numerator / denominator };
    });
    this.registerResponder(Echo, (args) => args);
    this.registerResponder(Notify, ({ text }) => {
      this.#notes.push(text);
      return {};
    });
    this.registerResponder(Notified, () => ({ texts: this.#notes }));
    this.registerResponder(Secure, () => ({ tls: this.tls }));
  }

  @Gather.responder
  gather({ n, total }: { n: number; total: number }): Deferred<{ n: number }> {
    const d = new Deferred<{ n: number }>();
    this.#waiting.push([n, d]);
    if (this.#waiting.length === total) {
      const batch = this.#waiting;
      this.#waiting = [];
      for (let i = batch.length - 1; i > 0; i--) {
        const j = Math.floor(this.#random() * (i + 1));
        [batch[i], batch[j]] = [batch[j], batch[i]];
      }
      for (const [m, w] of batch) w.callback({ n: m });
    }
    return d;
  }

  @amp.StartTLS.responder
  startTLS(): { tls_localCertificate: amp.TLSCertificate } {
    this.tls = true;
    return { tls_localCertificate: MathServer.certificate! };
  }
}
