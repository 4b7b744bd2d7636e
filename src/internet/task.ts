/**
 * Scheduling helpers (`twisted.internet.task`): `Clock` for deterministic time,
 * `LoopingCall`, `deferLater`, `react` and `Cooperator`.
 *
 * @module
 */
export { Clock } from "./_clock.ts";
export { LoopingCall } from "./_looping_call.ts";
export { deferLater, react, type ReactOptions } from "./_task_helpers.ts";
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
} from "./_cooperator.ts";
