// The scheduler (kube-scheduler's default profile, run as a controller here).
export { Scheduler, type SchedulerOptions } from './controller.ts';
