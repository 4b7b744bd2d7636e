/**
 * The import graph stays lean (issue 12 §3): the protocol entry points load no
 * transport code, and nothing loads a `node:` module at start-up. The
 * graphs are Deno's own (`deno info --json`), walked along the imports that
 * run at start-up (not `import type`, not dynamic `import()`).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { DENO } from "./_helpers.ts";

const root = new URL("../", import.meta.url);

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface GraphModule {
  specifier: string;
  dependencies?: Dependency[];
}

/** The modules loaded when `entry` (a path from the repository root) is imported. */
async function loadedModules(entry: string): Promise<string[]> {
  const { success, stdout, stderr } = await new Deno.Command(DENO, {
    args: ["info", "--json", new URL(entry, root).href],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(success, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  for (let url = todo.pop(); url !== undefined; url = todo.pop()) {
    if (seen.has(url)) continue;
    seen.add(url);
    for (const dep of bySpecifier.get(url)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) todo.push(dep.code.specifier);
    }
  }
  return [...seen].map((url) =>
    url.startsWith(root.href) ? url.slice(root.href.length) : url
  );
}

/** The modules that make up the reactor and its transports. */
const TRANSPORTS = [
  "src/internet/reactor.ts",
  "src/internet/base.ts",
  "src/internet/tcp.ts",
  "src/internet/stream/",
  "src/internet/tls.ts",
  "src/internet/unix.ts",
  "src/internet/udp.ts",
  "src/internet/process.ts",
  "src/internet/endpoints.ts",
];

for (
  const entry of [
    "src/protocols/basic.ts",
    "src/protocols/policies.ts",
    "src/protocols/wire.ts",
    "src/protocols/haproxy.ts",
  ]
) {
  Deno.test(`Importing ${entry} loads no transport and no node: module`, async () => {
    const loaded = await loadedModules(entry);
    assert(loaded.includes(entry), `${entry} is not in its own graph`);
    assertEquals(
      loaded.filter((m) =>
        TRANSPORTS.some((t) => t.endsWith("/") ? m.startsWith(t) : m === t) ||
        m.startsWith("node:")
      ),
      [],
    );
  });
}

// Any node: module starts Deno's Node compatibility layer, which costs more
// start-up time than all of Twist: node:tls, node:dgram, node:timers... are
// loaded when first used (process.getBuiltinModule), not imported.
Deno.test("Importing the root entry point loads no node: module (node:tls, node:dgram...)", async () => {
  const loaded = await loadedModules("mod.ts");
  assert(loaded.includes("src/internet/reactor.ts"));
  assertEquals(loaded.filter((m) => m.startsWith("node:")), []);
});

/** Runs `code` in a child `deno eval`; returns what it printed. */
async function evaluate(code: string): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command(DENO, {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(success, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim();
}

const timedProtocol = `
  import { TimeoutMixin } from "${new URL("src/protocols/policies.ts", root)}";
  import { Protocol } from "${new URL("src/internet/protocol.ts", root)}";
  const p = new (TimeoutMixin(Protocol))();
`;

Deno.test("A protocol that schedules without a clock, in a program without the reactor, says what to do", async () => {
  const printed = await evaluate(`${timedProtocol}
    try {
      p.setTimeout(1);
      console.log("scheduled");
    } catch (e) {
      console.log(e.message);
    }
  `);
  assertStringIncludes(
    printed,
    'No default reactor: pass a clock, or import the reactor from "@twist/twist"',
  );
});

Deno.test("A protocol that schedules without a clock uses the reactor once the program imports it", async () => {
  const printed = await evaluate(`${timedProtocol}
    const { reactor } = await import("${new URL(
    "src/internet/reactor.ts",
    root,
  )}");
    p.setTimeout(1);
    console.log(p.clock === reactor, reactor.getDelayedCalls().length);
    p.setTimeout(null);
  `);
  assertEquals(printed, "true 1");
});
