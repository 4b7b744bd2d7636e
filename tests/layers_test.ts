/**
 * The architecture's import rules (README, "Architecture"), checked on the
 * source text: which layer may import which, and where Deno's network and
 * process APIs may be called. A rule broken here is a design change: make it
 * on purpose, in the README and in this table.
 */
import { assertEquals } from "@std/assert";

/** Modules that do I/O: the transports, and the reactor that ties them together. */
const TRANSPORTS = [
  "src/internet/stream/",
  "src/internet/tcp.ts",
  "src/internet/tls.ts",
  "src/internet/unix.ts",
  "src/internet/udp.ts",
  "src/internet/process.ts",
  "src/internet/stdio.ts",
  "src/internet/process_endpoint.ts",
  "src/internet/reactor.ts",
];

/** The core's machinery: reached through the module beside each folder (defer.ts, task.ts, tcp.ts...). */
const MACHINERY = [
  "src/internet/defer/",
  "src/internet/task/",
  "src/internet/stream/",
  "src/internet/workers/",
];

interface Rule {
  /** The files the rule applies to (a folder ends with "/"). */
  from: string;
  /** What they must not import. */
  forbid: string[];
  /** Whether the rule holds for everything they import, however indirectly. */
  transitive: boolean;
  why: string;
}

const RULES: Rule[] = [
  {
    from: "src/internet/",
    forbid: [
      "src/protocols/",
      "src/application/",
      "src/testing/",
      "src/cli.ts",
    ],
    transitive: false,
    why: "the core never depends on what is built on it",
  },
  {
    from: "src/application/",
    forbid: [...TRANSPORTS, ...MACHINERY, "src/protocols/", "src/cli.ts"],
    transitive: false,
    why:
      "services talk to endpoints and factories through the core's public modules",
  },
  {
    from: "src/protocols/",
    forbid: TRANSPORTS,
    transitive: false,
    why: "protocols talk to interfaces, never to transports",
  },
  {
    from: "src/testing/",
    forbid: TRANSPORTS,
    transitive: true,
    why: "test doubles stand in for transports and the reactor",
  },
  {
    from: "src/protocols/",
    forbid: MACHINERY,
    transitive: false,
    why:
      "outside the core, use its public modules (and common/), not its folders",
  },
  {
    from: "src/testing/",
    forbid: MACHINERY,
    transitive: false,
    why:
      "outside the core, use its public modules (and common/), not its folders",
  },
  {
    from: "src/cli.ts",
    forbid: MACHINERY,
    transitive: false,
    why:
      "outside the core, use its public modules (and common/), not its folders",
  },
];

/** Deno and Node APIs that open sockets, resolve names, run programs or read stdin. */
const IO_API =
  /\bDeno\.(listen|listenTls|connect|connectTls|startTls|listenDatagram|Command|run|resolveDns|stdin)\b|["']node:(net|tls|dgram|child_process|dns)["']/;

/** Files (under src/) allowed to use them. */
const IO_ALLOWED = "src/internet/";

const matches = (path: string, pattern: string): boolean =>
  pattern.endsWith("/") ? path.startsWith(pattern) : path === pattern;

/** The source without comments, so doc examples are not taken for imports. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/**
 * The repository-relative paths `file` imports. `all`: every import,
 * type-only and dynamic ones included (what the module depends on); else
 * only what loads with it (no `import type`, no `import()`).
 */
function importsOf(file: string, text: string, all = true): string[] {
  const specifiers = [
    ...[...text.matchAll(
      /\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
    )].filter((m) => all || !/^(?:import|export)\s+type\b/.test(m[0])),
    ...text.matchAll(/\bimport\s*["']([^"']+)["']/g),
    ...(all ? text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g) : []),
  ].map((m) => m[1]);
  const dir = file.slice(0, file.lastIndexOf("/") + 1);
  return specifiers
    .filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((s) => new URL(s, `file:///${dir}`).pathname.slice(1));
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

const files = new Map(
  sourceFiles("src").map((f) => [f, code(Deno.readTextFileSync(f))]),
);
const graph = new Map(
  [...files].map(([f, text]) => [f, importsOf(f, text)]),
);
/** Only what loads with a module: a transitive rule is about what a program loads. */
const staticGraph = new Map(
  [...files].map(([f, text]) => [f, importsOf(f, text, false)]),
);

/** Every file `file` loads through its static imports, with the path that reaches it. */
function reachable(file: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[file, [file]]]);
  const queue = [file];
  for (let i = 0; i < queue.length; i++) {
    for (const next of staticGraph.get(queue[i]) ?? []) {
      if (seen.has(next)) continue;
      seen.set(next, [...seen.get(queue[i])!, next]);
      queue.push(next);
    }
  }
  seen.delete(file);
  return seen;
}

Deno.test("Architecture: the import graph keeps the layering rules", () => {
  const broken: string[] = [];
  for (const rule of RULES) {
    for (const file of graph.keys()) {
      if (!matches(file, rule.from)) continue;
      const reached = rule.transitive
        ? reachable(file)
        : new Map(graph.get(file)!.map((f) => [f, [file, f]]));
      for (const [target, path] of reached) {
        if (rule.forbid.some((p) => matches(target, p))) {
          broken.push(`${path.join(" -> ")}: ${rule.why}`);
          if (rule.transitive) break; // The shortest way in says enough.
        }
      }
    }
  }
  assertEquals(broken, []);
});

Deno.test("Architecture: only src/internet opens sockets or runs programs", () => {
  const broken = [...files]
    .filter(([f, text]) => !f.startsWith(IO_ALLOWED) && IO_API.test(text))
    .map(([f, text]) => `${f}: ${text.match(IO_API)![0]}`);
  assertEquals(broken, []);
});

Deno.test("Architecture: the rule checker sees imports, and only real ones", () => {
  const text = code(`
    /** import { x } from "./doc_example.ts"; */
    import type { A } from "./a.ts";
    import {
      b,
    } from "../b.ts";
    export * from "./c.ts";
    import "./d.ts";
    const e = await import("./e.ts"); // import { f } from "./f.ts";
    const url = "https://example.com"; import { g } from "./g.ts";
  `);
  assertEquals(importsOf("src/internet/x.ts", text).sort(), [
    "src/b.ts",
    "src/internet/a.ts",
    "src/internet/c.ts",
    "src/internet/d.ts",
    "src/internet/e.ts",
    "src/internet/g.ts",
  ]);
  // What loads with a module: no type-only imports, no import().
  assertEquals(importsOf("src/internet/x.ts", text, false).sort(), [
    "src/b.ts",
    "src/internet/c.ts",
    "src/internet/d.ts",
    "src/internet/g.ts",
  ]);
  assertEquals(
    [...reachable("src/testing/iosim.ts").keys()].includes(
      "src/internet/address.ts",
    ),
    true,
  );
});
