/** batch/v1 Job, with Kubernetes' field names (k8s.io/api/batch/v1/types.go). */
import type { KubeObject } from '../api/types.js';
import type { ConditionStatus, LabelSelector, OpaqueObject, PodTemplateSpec } from './core.js';

export interface JobSpec {
  /** Pods running at once. Default 1. */
  readonly parallelism?: number;
  /** Successful pods needed. Default 1 when neither this nor parallelism is set. */
  readonly completions?: number;
  readonly activeDeadlineSeconds?: number;
  readonly podFailurePolicy?: OpaqueObject;
  readonly successPolicy?: OpaqueObject;
  /** Retries before the Job fails. Default 6. */
  readonly backoffLimit?: number;
  readonly backoffLimitPerIndex?: number;
  readonly maxFailedIndexes?: number;
  readonly selector?: LabelSelector;
  readonly manualSelector?: boolean;
  /** `restartPolicy` must be OnFailure or Never. */
  readonly template: PodTemplateSpec;
  readonly ttlSecondsAfterFinished?: number;
  /** Default NonIndexed. */
  readonly completionMode?: 'NonIndexed' | 'Indexed';
  /** Default false. */
  readonly suspend?: boolean;
  readonly podReplacementPolicy?: 'TerminatingOrFailed' | 'Failed';
  readonly managedBy?: string;
}

export interface JobCondition {
  /** Complete, Failed, Suspended, FailureTarget, SuccessCriteriaMet. */
  readonly type: string;
  readonly status: ConditionStatus;
  readonly lastProbeTime?: string;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface JobStatus {
  readonly conditions?: readonly JobCondition[];
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly active?: number;
  readonly succeeded?: number;
  readonly failed?: number;
  readonly terminating?: number;
  readonly completedIndexes?: string;
  readonly failedIndexes?: string;
  readonly uncountedTerminatedPods?: OpaqueObject;
  readonly ready?: number;
}

export interface Job extends KubeObject<JobSpec, JobStatus> {
  readonly apiVersion: 'batch/v1';
  readonly kind: 'Job';
  readonly spec: JobSpec;
}
