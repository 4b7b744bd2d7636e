import { assertEquals, assertInstanceOf } from "@std/assert";
import {
  ConnectionDone,
  type Failure,
  type IPullProducer,
  Protocol,
} from "../../mod.ts";
import { collapsingPumpPolicy, loopbackAsync } from "../../src/testing/mod.ts";
import { LineReceiver } from "../../src/protocols/basic.ts";
import { decode } from "../_helpers.ts";

/** Records what it receives and how the connection ended. */
class Recorder extends Protocol {
  received: string[] = [];
  lost: Failure[] = [];
  override dataReceived(data: Uint8Array): void {
    this.received.push(decode(data));
  }
  override connectionLost(reason: Failure): void {
    this.lost.push(reason);
  }
}

Deno.test("loopbackAsync: line protocols talk; the closing side's writes arrive first, then both lose the connection", async () => {
  const log: string[] = [];
  class Server extends LineReceiver {
    override lineReceived(line: Uint8Array): void {
      log.push(`server got ${decode(line)}`);
      this.sendLine(decode(line).toUpperCase());
    }
    override connectionLost(reason: Failure): void {
      log.push(`server lost ${(reason.value as Error).name}`);
    }
  }
  class Client extends LineReceiver {
    override connectionMade(): void {
      this.sendLine("hello");
    }
    override lineReceived(line: Uint8Array): void {
      log.push(`client got ${decode(line)}`);
      this.sendLine("bye");
      this.transport.loseConnection();
    }
    override connectionLost(reason: Failure): void {
      log.push(`client lost ${(reason.value as Error).name}`);
    }
  }
  await loopbackAsync(new Server(), new Client());
  assertEquals(log, [
    "server got hello",
    "client got HELLO",
    "server got bye",
    "server lost ConnectionDone",
    "client lost ConnectionDone",
  ]);
});

Deno.test("loopbackAsync: a write is delivered later, never from inside write()", async () => {
  const server = new Recorder();
  let inWrite = false;
  const seen: boolean[] = [];
  server.dataReceived = (data) => {
    seen.push(inWrite);
    server.received.push(decode(data));
  };
  const client = new Recorder();
  const done = loopbackAsync(server, client);
  inWrite = true;
  client.transport.write("late");
  inWrite = false;
  assertEquals(server.received, []);
  client.transport.loseConnection();
  await done;
  assertEquals(server.received, ["late"]);
  assertEquals(seen, [false]);
  assertInstanceOf(server.lost[0].value, ConnectionDone);
  assertInstanceOf(client.lost[0].value, ConnectionDone);
});

Deno.test("loopbackAsync: the collapsing policy joins waiting writes; the default keeps them apart", async () => {
  class Talker extends Protocol {
    override connectionMade(): void {
      this.transport.writeSequence(["a", "b", "c"]);
      this.transport.loseConnection();
    }
  }
  const apart = new Recorder();
  await loopbackAsync(new Talker(), apart);
  assertEquals(apart.received, ["a", "b", "c"]);
  const joined = new Recorder();
  await loopbackAsync(new Talker(), joined, {
    pumpPolicy: collapsingPumpPolicy,
  });
  assertEquals(joined.received, ["abc"]);
});

Deno.test("loopbackAsync: a pull producer is asked for more each time its writes are delivered", async () => {
  class Producing extends Protocol {
    override connectionMade(): void {
      let n = 0;
      const producer: IPullProducer = {
        resumeProducing: () => {
          if (n === 3) {
            this.transport.unregisterProducer();
            this.transport.loseConnection();
            return;
          }
          this.transport.write(`chunk ${n++}`);
        },
        stopProducing: () => {},
      };
      this.transport.registerProducer(producer, false);
    }
  }
  const client = new Recorder();
  await loopbackAsync(new Producing(), client);
  assertEquals(client.received, ["chunk 0", "chunk 1", "chunk 2"]);
});
