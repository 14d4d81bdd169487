// The controllers `svcnet server` runs, in kube-controller-manager's spirit. Each entry is a
// factory so a process can pick a subset (e.g. an agent-only node runs none).
import type { Controller } from './manager.ts';

export type ControllerFactory = () => Controller;

/** name → factory; add new controllers here (one line each). */
export const controllerFactories: Record<string, ControllerFactory> = {
};

export function defaultControllers(): Controller[] {
  return Object.values(controllerFactories).map((f) => f());
}
