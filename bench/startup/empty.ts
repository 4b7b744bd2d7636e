// The baseline of bench/startup.sh: a Deno program that imports nothing.
// deno-lint-ignore no-console
console.log(typeof Deno.version.deno);
