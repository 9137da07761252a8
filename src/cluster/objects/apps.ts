/**
 * apps/v1 kinds — ReplicaSet and Deployment — with Kubernetes' field names
 * (k8s.io/api/apps/v1/types.go).
 */
import type { KubeObject } from '../api/types.js';
import type { ConditionStatus, LabelSelector, PodTemplateSpec } from './core.js';
import type { IntOrString } from './quantity.js';

export interface ReplicaSetSpec {
  /** Default 1. */
  readonly replicas?: number;
  readonly minReadySeconds?: number;
  /** Must match the template's labels. */
  readonly selector: LabelSelector;
  readonly template?: PodTemplateSpec;
}

export interface ReplicaSetCondition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface ReplicaSetStatus {
  readonly replicas: number;
  readonly fullyLabeledReplicas?: number;
  readonly readyReplicas?: number;
  readonly availableReplicas?: number;
  readonly terminatingReplicas?: number;
  readonly observedGeneration?: number;
  readonly conditions?: readonly ReplicaSetCondition[];
}

export interface ReplicaSet extends KubeObject<ReplicaSetSpec, ReplicaSetStatus> {
  readonly apiVersion: 'apps/v1';
  readonly kind: 'ReplicaSet';
  readonly spec: ReplicaSetSpec;
}

export interface RollingUpdateDeployment {
  /** Default 25%. Pods that may be unavailable during the update (rounded down). */
  readonly maxUnavailable?: IntOrString;
  /** Default 25%. Pods that may exist above `replicas` during the update (rounded up). */
  readonly maxSurge?: IntOrString;
}

export interface DeploymentStrategy {
  /** Default RollingUpdate. */
  readonly type?: 'RollingUpdate' | 'Recreate';
  /** Only with type RollingUpdate. */
  readonly rollingUpdate?: RollingUpdateDeployment;
}

export interface DeploymentSpec {
  /** Default 1. */
  readonly replicas?: number;
  /** Must match the template's labels. */
  readonly selector: LabelSelector;
  readonly template: PodTemplateSpec;
  readonly strategy?: DeploymentStrategy;
  readonly minReadySeconds?: number;
  /** Old ReplicaSets kept for rollback. Default 10. */
  readonly revisionHistoryLimit?: number;
  readonly paused?: boolean;
  /** Default 600. */
  readonly progressDeadlineSeconds?: number;
}

export interface DeploymentCondition {
  /** Available, Progressing, ReplicaFailure. */
  readonly type: string;
  readonly status: ConditionStatus;
  readonly lastUpdateTime?: string;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface DeploymentStatus {
  readonly observedGeneration?: number;
  readonly replicas?: number;
  readonly updatedReplicas?: number;
  readonly readyReplicas?: number;
  readonly availableReplicas?: number;
  readonly unavailableReplicas?: number;
  readonly terminatingReplicas?: number;
  readonly conditions?: readonly DeploymentCondition[];
  readonly collisionCount?: number;
}

export interface Deployment extends KubeObject<DeploymentSpec, DeploymentStatus> {
  readonly apiVersion: 'apps/v1';
  readonly kind: 'Deployment';
  readonly spec: DeploymentSpec;
}
