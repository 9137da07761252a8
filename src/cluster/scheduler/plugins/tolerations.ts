/** Toleration matching, as core/v1 `Toleration.ToleratesTaint` (k8s.io/api/core/v1/toleration.go). */
import type { Taint, Toleration } from '../../objects/core.js';

/** Whether `t` tolerates `taint`: effect (empty: any), key (empty: any), and Exists or an equal value. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (let i = 0; i < tolerations.length; i++) if (toleratesTaint(tolerations[i] as Toleration, taint)) return true;
  return false;
}

/** The reason kube-scheduler gives for an untolerated taint: `node(s) had untolerated taint {key: value}`. */
export function untoleratedReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}
