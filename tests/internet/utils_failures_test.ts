import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  type Deferred,
  type Failure,
  getProcessOutput,
  getProcessValue,
} from "../../mod.ts";

async function failureOf<T>(d: Deferred<T>): Promise<Failure> {
  let failure: Failure | undefined;
  await d.addErrback((f: Failure) => {
    failure = f;
  });
  assert(failure, "expected the Deferred to fail");
  return failure;
}

Deno.test("getProcessOutput fails (got stderr: ...) for a program that cannot be started, as Twisted's", async () => {
  const failure = await failureOf(
    getProcessOutput("/nonexistent/twist-no-such-program"),
  );
  assertEquals(
    failure.getErrorMessage(),
    'got stderr: A process has ended with a probable error condition: cannot run "/nonexistent/twist-no-such-program": no such program',
  );
});

Deno.test("getProcessOutput and getProcessValue return a failed Deferred, not a throw, when the program may not run", async () => {
  // The test task does not grant --allow-run=uptime.
  const output = getProcessOutput("uptime");
  assertEquals(
    (await failureOf(output)).getErrorMessage(),
    'Cannot run "uptime": run again with --allow-run=uptime',
  );
  assertStringIncludes(
    (await failureOf(getProcessValue("uptime"))).getErrorMessage(),
    "--allow-run=uptime",
  );
});
