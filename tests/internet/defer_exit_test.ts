import { assertEquals, assertMatch } from "@std/assert";
import { decode, DENO, denoFlags, withTimeout } from "../_helpers.ts";

Deno.test("A failed Deferred nobody handled is reported at process exit when the reactor never ran", async () => {
  const { code, stdout, stderr } = await withTimeout(
    new Deno.Command(DENO, {
      args: ["run", ...denoFlags(), "tests/fixtures/unhandled_deferred.ts"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output(),
    20_000,
    "the script",
  );
  assertEquals(code, 0);
  assertEquals(decode(stdout), "done\n");
  const lines = decode(stderr).split("\n");
  assertMatch(
    lines[0],
    /^\S+ \[error\] Unhandled error in Deferred: nobody handles me$/,
  );
  assertEquals(decode(stderr).match(/Unhandled error/g)?.length, 1);
  assertEquals(decode(stderr).includes("handled\n"), false);
});
