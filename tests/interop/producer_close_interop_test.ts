/**
 * `loseConnection()` with a producer that has finished but was never
 * unregistered does what Python Twisted does (its `doWrite`): a streaming
 * producer does not hold the close (the connection closes once flushed and
 * the producer is stopped), a pull producer does (the connection stays
 * open). The same scenario runs in Twisted (tests/interop/producer_close_peer.py)
 * and in Twist, and the lines they print must match.
 */
import { assertEquals } from "@std/assert";
import { hasPythonTwisted, withTimeout } from "../_helpers.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import type { IPv4Address } from "../../src/internet/address.ts";
import type { ITCPTransport } from "../../src/internet/interfaces.ts";

const PYTHON = "/usr/bin/python3";
const PEER = "tests/interop/producer_close_peer.py";
const twisted = await hasPythonTwisted();
if (!twisted) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: the producer close interop test needs /usr/bin/python3 with Twisted (apt-get install python3-twisted)",
  );
}

/** How long a connection that does not close is given (as the Python peer). */
const WAIT_MS = 1000;

/** Runs the scenario in Twist; returns the line the Python peer prints for it. */
async function runTwist(mode: "streaming" | "pull"): Promise<string> {
  const reactor = new Reactor();
  let stopped = false;
  let server: ITCPTransport | undefined;
  class Server extends Protocol {
    override connectionMade(): void {
      server = this.transport as ITCPTransport;
      const stopProducing = (): void => {
        stopped = true;
      };
      if (mode === "streaming") {
        server.registerProducer({
          pauseProducing() {},
          resumeProducing() {},
          stopProducing,
        }, true);
      } else {
        server.registerProducer({ resumeProducing() {}, stopProducing }, false);
      }
      this.transport.write("finished");
      this.transport.loseConnection();
    }
  }
  const factory = Factory.forProtocol(Server);
  factory.noisy = false;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const closed = Promise.withResolvers<"closed">();
  class Client extends Protocol {
    override connectionLost(): void {
      closed.resolve("closed");
    }
  }
  const client = ClientFactory.forProtocol(Client);
  client.noisy = false;
  const connector = reactor.connectTCP(
    "127.0.0.1",
    (port.getHost() as IPv4Address).port,
    client,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const state = await Promise.race([
    closed.promise,
    new Promise<"open">((resolve) => {
      timer = setTimeout(() => resolve("open"), WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  const line = `${mode}: ${state}, stopProducing called: ${
    stopped ? "yes" : "no"
  }`;
  if (state === "open") {
    connector.disconnect();
    server?.abortConnection();
    await withTimeout(closed.promise, 5000, "the client to close");
  }
  await port.stopListening();
  return line;
}

Deno.test({
  name:
    "loseConnection with a finished but registered producer: Twist closes (or not) exactly when Python Twisted does",
  ignore: !twisted,
  async fn() {
    const python = await new Deno.Command(PYTHON, {
      args: [PEER],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const expected = new TextDecoder().decode(python.stdout).trim().split("\n");
    assertEquals(python.code, 0, new TextDecoder().decode(python.stderr));
    assertEquals(expected, [
      "streaming: closed, stopProducing called: yes",
      "pull: open, stopProducing called: no",
    ]);
    assertEquals(
      [await runTwist("streaming"), await runTwist("pull")],
      expected,
    );
  },
});
