/**
 * Scheduling helpers (`twisted.internet.task`): `Clock` for deterministic time,
 * `LoopingCall`, `deferLater`, `react` and `Cooperator`.
 *
 * @module
 */
export { Clock } from "./_clock.ts";
