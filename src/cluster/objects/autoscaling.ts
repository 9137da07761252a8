/**
 * autoscaling/v2 HorizontalPodAutoscaler, with Kubernetes' field names
 * (k8s.io/api/autoscaling/v2/types.go).
 */
import type { KubeObject } from '../api/types.js';
import type { ConditionStatus, LabelSelector } from './core.js';
import type { Quantity } from './quantity.js';

export interface CrossVersionObjectReference {
  readonly kind: string;
  readonly name: string;
  readonly apiVersion?: string;
}

export interface MetricTarget {
  readonly type: 'Utilization' | 'Value' | 'AverageValue';
  readonly value?: Quantity;
  readonly averageValue?: Quantity;
  /** Percent of the pods' requests, for type Utilization. */
  readonly averageUtilization?: number;
}

export interface MetricIdentifier {
  readonly name: string;
  readonly selector?: LabelSelector;
}

export interface ResourceMetricSource {
  /** `cpu` or `memory`. */
  readonly name: string;
  readonly target: MetricTarget;
}

export interface ContainerResourceMetricSource {
  readonly name: string;
  readonly container: string;
  readonly target: MetricTarget;
}

export interface PodsMetricSource {
  readonly metric: MetricIdentifier;
  readonly target: MetricTarget;
}

export interface ObjectMetricSource {
  readonly describedObject: CrossVersionObjectReference;
  readonly metric: MetricIdentifier;
  readonly target: MetricTarget;
}

export interface ExternalMetricSource {
  readonly metric: MetricIdentifier;
  readonly target: MetricTarget;
}

/** One metric; the member named by `type` is set. skiff measures Resource cpu. */
export interface MetricSpec {
  readonly type: 'Object' | 'Pods' | 'Resource' | 'ContainerResource' | 'External';
  readonly object?: ObjectMetricSource;
  readonly pods?: PodsMetricSource;
  readonly resource?: ResourceMetricSource;
  readonly containerResource?: ContainerResourceMetricSource;
  readonly external?: ExternalMetricSource;
}

export interface HPAScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

export interface HPAScalingRules {
  readonly stabilizationWindowSeconds?: number;
  /** Default Max. */
  readonly selectPolicy?: 'Max' | 'Min' | 'Disabled';
  readonly policies?: readonly HPAScalingPolicy[];
  /** Fraction of change ignored (default: the controller's 0.1). */
  readonly tolerance?: Quantity;
}

export interface HorizontalPodAutoscalerBehavior {
  readonly scaleUp?: HPAScalingRules;
  readonly scaleDown?: HPAScalingRules;
}

export interface HorizontalPodAutoscalerSpec {
  readonly scaleTargetRef: CrossVersionObjectReference;
  /** Default 1. */
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  /** Default: cpu at 80% average utilization. */
  readonly metrics?: readonly MetricSpec[];
  readonly behavior?: HorizontalPodAutoscalerBehavior;
}

export interface HorizontalPodAutoscalerCondition {
  /** ScalingActive, AbleToScale, ScalingLimited. */
  readonly type: string;
  readonly status: ConditionStatus;
  readonly lastTransitionTime?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface MetricValueStatus {
  readonly value?: Quantity;
  readonly averageValue?: Quantity;
  readonly averageUtilization?: number;
}

export interface MetricStatus {
  readonly type: MetricSpec['type'];
  readonly resource?: { readonly name: string; readonly current: MetricValueStatus };
  readonly containerResource?: { readonly name: string; readonly container: string; readonly current: MetricValueStatus };
  readonly pods?: { readonly metric: MetricIdentifier; readonly current: MetricValueStatus };
  readonly object?: { readonly describedObject: CrossVersionObjectReference; readonly metric: MetricIdentifier; readonly current: MetricValueStatus };
  readonly external?: { readonly metric: MetricIdentifier; readonly current: MetricValueStatus };
}

export interface HorizontalPodAutoscalerStatus {
  readonly observedGeneration?: number;
  readonly lastScaleTime?: string;
  readonly currentReplicas?: number;
  readonly desiredReplicas: number;
  readonly currentMetrics?: readonly MetricStatus[];
  readonly conditions?: readonly HorizontalPodAutoscalerCondition[];
}

export interface HorizontalPodAutoscaler extends KubeObject<HorizontalPodAutoscalerSpec, HorizontalPodAutoscalerStatus> {
  readonly apiVersion: 'autoscaling/v2';
  readonly kind: 'HorizontalPodAutoscaler';
  readonly spec: HorizontalPodAutoscalerSpec;
}
