// bench/startup.sh: a program that imports the root entry point
// (`@twist/twist`, with its reactor).
import { reactor } from "../../mod.ts";

// deno-lint-ignore no-console
console.log(typeof reactor.callLater);
