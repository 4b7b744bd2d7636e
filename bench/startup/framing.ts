// bench/startup.sh: a program that imports a framing protocol
// (`@twist/twist/protocols/basic`) and nothing else.
import { LineReceiver } from "../../src/protocols/basic.ts";

// deno-lint-ignore no-console
console.log(typeof LineReceiver);
