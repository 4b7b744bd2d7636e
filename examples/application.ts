// deno task twist serve examples/application.ts
// (that is: deno run --allow-net --allow-read src/cli.ts serve examples/application.ts)
//
// A program composed as a Twisted .tac file composes its `application`: a
// MultiService holding an echo server on port 8000 and a TimerService that
// tells every connected client the time every 10 seconds. `twist serve`
// starts it, and stops it (the server, then the timer) on Ctrl-C. Try
// `nc localhost 8000`.
import {
  Factory,
  type IReactorEndpoints,
  Protocol,
  reactor,
  serverFromString,
} from "../mod.ts";
import {
  MultiService,
  StreamServerEndpointService,
  TimerService,
} from "../src/application/mod.ts";

/** Echoes, and hears the time. */
class Echo extends Protocol {
  override connectionMade(): void {
    clients.add(this);
  }
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
  override connectionLost(): void {
    clients.delete(this);
  }
}

const clients = new Set<Echo>();

/** The application: where it listens, and how often the time is told. */
export function makeApplication(
  listen: string,
  options: { reactor?: IReactorEndpoints; every?: number } = {},
): MultiService {
  const application = new MultiService();
  application.setName("echo-with-clock");
  const server = new StreamServerEndpointService(
    serverFromString(options.reactor ?? reactor, listen),
    Factory.forProtocol(Echo),
    { raiseSynchronously: true }, // a port in use stops the program
  );
  server.setName("server");
  server.setServiceParent(application);
  const clock = new TimerService(options.every ?? 10, () => {
    for (const client of clients) {
      client.transport.write(`It is ${new Date().toISOString()}\r\n`);
    }
  });
  clock.setName("clock");
  clock.setServiceParent(application);
  return application;
}

export default makeApplication("tcp:8000");
