/**
 * Scheduling helpers (`twisted.internet.task`): `Clock` for deterministic time,
 * `LoopingCall`, `deferLater`, `react` and `Cooperator`.
 *
 * @module
 */
export { Clock } from "./task/clock.ts";
export { LoopingCall } from "./task/looping_call.ts";
export { deferLater, react, type ReactOptions } from "./task/helpers.ts";
export {
  coiterate,
  cooperate,
  CooperativeTask,
  Cooperator,
  type CooperatorOptions,
  NotPaused,
  SchedulerError,
  SchedulerStopped,
  TaskDone,
  TaskFailed,
  TaskStopped,
} from "./task/cooperator.ts";
