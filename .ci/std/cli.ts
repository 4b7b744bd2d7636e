/**
 * Offline stand-in for `jsr:@std/cli`, used by `.ci/run` only when JSR cannot be
 * reached. `parseArgs` follows the real one's documented behaviour for the
 * options used here: `boolean`, `string`, `collect`, `negatable`, `alias`,
 * `default`, `stopEarly`, `"--"` and `unknown`.
 *
 * @module
 */
import process from "node:process";

/** Options of {@linkcode parseArgs}, as in `@std/cli`. */
export interface ParseOptions {
  "--"?: boolean;
  alias?: Record<string, string | readonly string[]>;
  boolean?: string | boolean | readonly string[];
  default?: Record<string, unknown>;
  stopEarly?: boolean;
  string?: string | readonly string[];
  collect?: string | readonly string[];
  negatable?: string | readonly string[];
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
}

/** The parsed arguments: flags by name, and the positionals in `_`. */
export type Args = Record<string, unknown> & {
  _: Array<string | number>;
  "--"?: string[];
};

const list = (v: string | readonly string[] | undefined): string[] =>
  v === undefined ? [] : typeof v === "string" ? [v] : [...v];

/** Parses command-line arguments as `@std/cli`'s `parseArgs` does. */
export function parseArgs(
  args: string[] = process.argv.slice(2),
  options: ParseOptions = {},
  // deno-lint-ignore no-explicit-any
): any {
  const aliases = new Map<string, string[]>();
  for (const [k, v] of Object.entries(options.alias ?? {})) {
    const names = list(v as string | string[]);
    aliases.set(k, [...(aliases.get(k) ?? []), ...names]);
    for (const n of names) {
      aliases.set(n, [
        ...(aliases.get(n) ?? []),
        k,
        ...names.filter((x) => x !== n),
      ]);
    }
  }
  const group = (k: string): string[] => [k, ...(aliases.get(k) ?? [])];
  const inSet = (set: string[]) => (k: string): boolean =>
    group(k).some((n) => set.includes(n));
  const allBools = options.boolean === true;
  const isBool = inSet(
    typeof options.boolean === "boolean" ? [] : list(options.boolean),
  );
  const isString = inSet(list(options.string));
  const isCollect = inSet(list(options.collect));
  const isNegatable = inSet(list(options.negatable));
  const known = (k: string): boolean =>
    isBool(k) || isString(k) || aliases.has(k) ||
    (options.default ?? {})[k] !== undefined;

  const out: Args = { _: [] };
  const set = (key: string, value: unknown): void => {
    for (const n of group(key)) {
      if (isCollect(key)) {
        const prev = out[n];
        out[n] = Array.isArray(prev) ? [...prev, value] : [value];
      } else out[n] = value;
    }
  };
  const coerce = (k: string, v: string): unknown =>
    isString(k) || isNaN(Number(v)) || v === "" ? v : Number(v);

  for (
    const b of typeof options.boolean === "boolean" ? [] : list(options.boolean)
  ) {
    for (const n of group(b)) if (!isCollect(b)) out[n] = false;
  }
  for (const s of list(options.collect)) for (const n of group(s)) out[n] = [];

  let i = 0;
  const rest: string[] = [];
  const unknown = (arg: string, key?: string, value?: unknown): boolean =>
    options.unknown !== undefined && !known(key ?? "") && key !== undefined &&
    options.unknown(arg, key, value) === false;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      rest.push(...args.slice(i + 1));
      break;
    }
    let m: RegExpMatchArray | null;
    if ((m = arg.match(/^--([^=]+)=(.*)$/s))) {
      const [, key, value] = m;
      if (unknown(arg, key, value)) continue;
      set(key, isBool(key) ? value !== "false" : coerce(key, value));
    } else if (
      (m = arg.match(/^--no-(.+)/)) && (isNegatable(m[1]) || !isString(m[1]))
    ) {
      if (unknown(arg, m[1], false)) continue;
      set(m[1], false);
    } else if ((m = arg.match(/^--(.+)/))) {
      const key = m[1];
      const next = args[i + 1];
      if (isBool(key) || allBools) {
        if (unknown(arg, key, true)) continue;
        set(key, true);
      } else if (next !== undefined && !/^-/.test(next)) {
        if (unknown(arg, key, next)) continue;
        set(key, coerce(key, next));
        i++;
      } else {
        if (unknown(arg, key, isString(key) ? "" : true)) continue;
        set(key, isString(key) ? "" : true);
      }
    } else if (/^-[^-]+/.test(arg) && !/^-\d/.test(arg)) {
      const letters = arg.slice(1);
      for (let j = 0; j < letters.length; j++) {
        const key = letters[j];
        const after = letters.slice(j + 1);
        if (after.startsWith("=")) {
          set(key, coerce(key, after.slice(1)));
          break;
        }
        if (!isBool(key) && after.length > 0 && !/^[a-zA-Z]/.test(after)) {
          set(key, coerce(key, after));
          break;
        }
        if (j === letters.length - 1) {
          const next = args[i + 1];
          if (
            !isBool(key) && !allBools && next !== undefined && !/^-/.test(next)
          ) {
            if (unknown(arg, key, next)) break;
            set(key, coerce(key, next));
            i++;
          } else {
            if (unknown(arg, key, isString(key) ? "" : true)) break;
            set(key, isString(key) ? "" : true);
          }
        } else {
          if (unknown(arg, key, true)) continue;
          set(key, isString(key) ? "" : true);
        }
      }
    } else {
      if (options.unknown && options.unknown(arg) === false) continue;
      out._.push(isString("_") || isNaN(Number(arg)) ? arg : Number(arg));
      if (options.stopEarly) {
        rest.push(...args.slice(i + 1));
        if (!options["--"]) out._.push(...args.slice(i + 1));
        break;
      }
    }
  }
  for (const [k, v] of Object.entries(options.default ?? {})) {
    if (
      !group(k).some((n) =>
        n in out &&
        !(isCollect(k) && (out[n] as unknown[]).length === 0 && false)
      )
    ) {
      for (const n of group(k)) out[n] = v;
    }
  }
  if (options["--"]) out["--"] = options.stopEarly ? [] : rest;
  else if (!options.stopEarly) out._.push(...rest);
  else if (rest.length && !out._.includes(rest[0])) out._.push(...rest);
  return out;
}
