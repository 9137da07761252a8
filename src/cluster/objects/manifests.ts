/**
 * `parseManifests(input)`: the objects in what a user applies — a YAML or JSON text with
 * any number of `---`-separated documents, a parsed object, or an array of them — with
 * `List` kinds (`kind: List`, `PodList`, …: anything with `items` whose kind ends in
 * `List`) flattened into their items, as `kubectl apply -f` reads them.
 *
 * YAML is read as YAML 1.1, like Kubernetes (sigs.k8s.io/yaml on go-yaml): `0644` is
 * octal (a configMap volume's `defaultMode`), and `yes`/`no`/`on`/`off` are booleans.
 *
 * A document that does not parse, or is not an object with apiVersion and kind, is an
 * expected user error: it comes back in `errors` (with its document number and, for
 * YAML syntax, line and column), never as a throw. Empty documents are skipped. The
 * objects are returned as written: defaulting and validation are `admit`'s.
 */
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../api/types.js';

export interface ManifestError {
  /** 1-based number of the document in the text (or index + 1 in an array). */
  readonly document: number;
  readonly message: string;
}

export interface ParsedManifests {
  readonly objects: readonly KubeObject[];
  readonly errors: readonly ManifestError[];
}

export function parseManifests(input: string | object | readonly object[]): ParsedManifests {
  const objects: KubeObject[] = [];
  const errors: ManifestError[] = [];
  const docs: { value: unknown; document: number }[] = [];
  if (typeof input === 'string') {
    const parsed = parseAllDocuments(input, { version: '1.1', merge: true, prettyErrors: true });
    const list = Array.isArray(parsed) ? parsed : [parsed];
    list.forEach((doc, i) => {
      if (doc.errors.length > 0) {
        for (const e of doc.errors) errors.push({ document: i + 1, message: `error parsing YAML document ${i + 1}: ${e.message}` });
        return;
      }
      docs.push({ value: doc.toJS({ maxAliasCount: 100 }), document: i + 1 });
    });
  } else if (Array.isArray(input)) input.forEach((value, i) => docs.push({ value, document: i + 1 }));
  else docs.push({ value: input, document: 1 });

  for (const { value, document } of docs) collect(value, document, objects, errors, 0);
  errors.sort((a, b) => a.document - b.document);
  return { objects, errors };
}

function collect(value: unknown, document: number, objects: KubeObject[], errors: ManifestError[], depth: number): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push({ document, message: `document ${document}: expected an object with apiVersion and kind, got ${Array.isArray(value) ? 'an array' : typeof value}` });
    return;
  }
  const o = value as Record<string, unknown>;
  if (typeof o.kind !== 'string' || o.kind === '') {
    errors.push({ document, message: `document ${document}: Object 'Kind' is missing in '${preview(o)}'` });
    return;
  }
  if (typeof o.apiVersion !== 'string' || o.apiVersion === '') {
    errors.push({ document, message: `document ${document}: Object 'apiVersion' is missing in '${preview(o)}'` });
    return;
  }
  if (o.kind.endsWith('List') && Array.isArray(o.items)) {
    if (depth > 8) {
      errors.push({ document, message: `document ${document}: lists nested too deeply` });
      return;
    }
    for (const item of o.items) collect(item, document, objects, errors, depth + 1);
    return;
  }
  if (o.metadata === undefined || o.metadata === null) o.metadata = {};
  objects.push(o as unknown as KubeObject);
}

function preview(o: object): string {
  const s = JSON.stringify(o);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
