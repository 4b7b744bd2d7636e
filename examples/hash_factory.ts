// The hash server on every core, one reactor per Worker:
//
//   deno run --allow-net --allow-read --unstable-net jsr:@twist/twist/cli \
//     serve examples/hash_factory.ts --workers 2 --listen tcp:8000
//
// (from a checkout: `deno run --allow-net --allow-read --unstable-net
// src/cli.ts serve examples/hash_factory.ts --workers 2 --listen tcp:8000`).
// Each Worker hashes on its own reactor thread, so N Workers use N cores.
import { Factory } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { slowHash } from "./hash_work.ts";

const rounds = 2000;

class HashLine extends LineReceiver {
  override delimiter = "\n";

  override lineReceived(line: Uint8Array): void {
    this.sendLine(slowHash(line, rounds));
  }
}

export default Factory.forProtocol(HashLine);
