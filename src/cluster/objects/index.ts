/**
 * skiff's Kubernetes object model: the kinds it serves (types), their schema, defaulting
 * and validation as the API server does them, and manifest parsing.
 */
export type * from './core.js';
export type * from './apps.js';
export type * from './batch.js';
export type * from './autoscaling.js';
export { VOLUME_SOURCES } from './core.js';
export { withDefaults, type DeepMutable } from './defaults.js';
export { validate, admit, invalidError, isServedKind, isNamespaced, type AdmitResult } from './validation.js';
export { parseManifests, type ManifestError, type ParsedManifests } from './manifests.js';
export { fieldErrors, type FieldError, type FieldErrorType } from './field-errors.js';
export { labelSelectorMatches } from './names.js';
export {
  quantityValue,
  quantityMilliValue,
  isQuantity,
  scaledValueFromIntOrPercent,
  isIntOrPercent,
  type Quantity,
  type ResourceList,
  type IntOrString,
} from './quantity.js';
