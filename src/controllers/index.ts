// Controllers: each reconciles observed API state toward desired state, through the API.
export { startControllers, type Controller, type ControllerContext, type ClusterSettings, type RunningControllers } from './manager.ts';
export { defaultControllers, controllerFactories, type ControllerFactory } from './all.ts';
