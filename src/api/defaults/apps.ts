// apps/v1 defaults: SetDefaults_Deployment and SetDefaults_ReplicaSet
// (pkg/apis/apps/v1/defaults.go), with the pod template defaults of core/v1.
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { setDefaultsPodTemplateSpec } from './pod.ts';

export function setDefaultsDeployment(d: Deployment): void {
  d.spec ??= { selector: {}, template: {} };
  const s = d.spec;
  if (s.replicas === undefined || s.replicas === null) s.replicas = 1;
  s.strategy ??= {};
  if (!s.strategy.type) s.strategy.type = 'RollingUpdate';
  if (s.strategy.type === 'RollingUpdate') {
    s.strategy.rollingUpdate ??= {};
    s.strategy.rollingUpdate.maxUnavailable ??= '25%';
    s.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  if (s.revisionHistoryLimit === undefined || s.revisionHistoryLimit === null) s.revisionHistoryLimit = 10;
  if (s.progressDeadlineSeconds === undefined || s.progressDeadlineSeconds === null) s.progressDeadlineSeconds = 600;
  setDefaultsPodTemplateSpec(s.template);
  // DeploymentStatus is a struct whose fields are all omitempty: kubectl shows "status: {}".
  (d as { status?: Deployment['status'] }).status ??= {};
}

export function setDefaultsReplicaSet(rs: ReplicaSet): void {
  rs.spec ??= { selector: {} };
  if (rs.spec.replicas === undefined || rs.spec.replicas === null) rs.spec.replicas = 1;
  setDefaultsPodTemplateSpec(rs.spec.template);
  // ReplicaSetStatus.replicas is not omitempty: kubectl shows "status: {replicas: 0}".
  (rs as { status?: ReplicaSet['status'] }).status ??= { replicas: 0 };
}
