// A strict validator for Kubernetes objects, built on the kubernetes-models packages: their validators are
// generated from the Kubernetes OpenAPI spec and the CRDs' schemas (types, enums, required fields), but like
// those schemas they accept unknown fields, where the API server's strict field validation and a typo-free
// manifest do not. So each object is validated through proxies that record which fields the validator looks
// up: a field present in the object that the schema never asked for is unknown. Objects the validator
// enumerates (labels, ConfigMap data, resource lists: maps by schema) may hold any key.
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1/IstioOperator';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

interface ModelClass {
  readonly prototype: { validate(): void };
}

/** Every kind deploy/kubernetes may contain, by "apiVersion/kind". Anything else is reported as unknown. */
const MODELS: Record<string, ModelClass> = Object.fromEntries(
  [
    Namespace,
    ConfigMap,
    Secret,
    Service,
    ServiceAccount,
    PersistentVolumeClaim,
    Deployment,
    NetworkPolicy,
    PodDisruptionBudget,
    PodMonitor,
    ServiceMonitor,
    AuthorizationPolicy,
    ServiceEntry,
  ].map((model) => {
    const { apiVersion, kind } = model as unknown as { apiVersion: string; kind: string };
    return [`${apiVersion}/${kind}`, model];
  }),
);

export const SUPPORTED_KINDS = Object.keys(MODELS);

/** Problems with one object, as "<kind>/<name> <path>: <message>"; empty when it is valid. */
export function validateKubernetesObject(object: Record<string, any>): string[] {
  const id = `${object.kind}/${object.metadata?.name ?? '?'}`;
  const model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (model === undefined) return [`${id}: no schema for ${object.apiVersion} ${object.kind}`];
  return validateWithModel(model, withUnwrappedSecretData(object)).map((p) => `${id} ${p}`);
}

/**
 * The mesh-wide extension provider file (an IstioOperator). Its envelope is checked by the model; its
 * `spec` is free-form in the IstioOperator CRD (x-kubernetes-preserve-unknown-fields) and no Node 20 package
 * ships Istio's MeshConfig schema, so the part we write is checked against the fields of
 * istio.mesh.v1alpha1.MeshConfig.ExtensionProvider and EnvoyExternalAuthorizationGrpcProvider as declared in
 * istio/api mesh/v1alpha1/config.proto (JSON names).
 */
export function validateIstioMeshConfig(object: Record<string, any>): string[] {
  const { spec, ...envelope } = object;
  const problems = validateWithModel(IstioOperator, envelope);
  const fields = (value: unknown, path: string, allowed: Record<string, (v: unknown) => boolean>) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return problems.push(`${path}: expected a mapping`);
    for (const [key, v] of Object.entries(value)) {
      const check = allowed[key];
      if (check === undefined) problems.push(`${path}.${key}: unknown field`);
      else if (!check(v)) problems.push(`${path}.${key}: wrong type ${JSON.stringify(v)}`);
    }
    return undefined;
  };
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  const port = (v: unknown) => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536;
  const duration = (v: unknown) => typeof v === 'string' && /^\d+(\.\d+)?(ms|s|m|h)$/.test(v);
  const bool = (v: unknown) => typeof v === 'boolean';
  const httpStatus = (v: unknown) => typeof v === 'string' && /^[1-5]\d\d$/.test(v);
  const requestBody = (v: unknown) => typeof v === 'object' && v !== null;
  fields(spec, 'spec', { meshConfig: () => true });
  fields(spec?.meshConfig, 'spec.meshConfig', { extensionProviders: Array.isArray });
  (spec?.meshConfig?.extensionProviders ?? []).forEach((provider: unknown, i: number) => {
    const at = `spec.meshConfig.extensionProviders[${i}]`;
    fields(provider, at, { name: str, envoyExtAuthzGrpc: () => true });
    const grpc = (provider as Record<string, unknown>)?.envoyExtAuthzGrpc;
    fields(grpc, `${at}.envoyExtAuthzGrpc`, {
      service: str,
      port,
      timeout: duration,
      failOpen: bool,
      statusOnError: httpStatus,
      includeRequestBodyInCheck: requestBody,
    });
    for (const required of ['service', 'port']) {
      if ((grpc as Record<string, unknown> | undefined)?.[required] === undefined)
        problems.push(`${at}.envoyExtAuthzGrpc.${required}: required`);
    }
  });
  return problems;
}

/**
 * kustomize wraps long base64 values of generated Secrets over several lines. The API server decodes them
 * with Go's encoding/base64, which skips line breaks; the schema's "byte" format does not, so they go first.
 */
function withUnwrappedSecretData(object: Record<string, any>): Record<string, any> {
  if (object.kind !== 'Secret' || typeof object.data !== 'object' || object.data === null) return object;
  const data = Object.fromEntries(
    Object.entries(object.data).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]),
  );
  return { ...object, data };
}

function validateWithModel(model: ModelClass, object: Record<string, any>): string[] {
  const records: Tracked[] = [];
  const target = Object.assign(Object.create(model.prototype) as object, structuredClone(object));
  const problems: string[] = [];
  try {
    model.prototype.validate.call(track(target, '', records));
  } catch (err) {
    problems.push(`: ${(err as Error).message}`);
  }
  for (const record of records) {
    if (Array.isArray(record.value) || record.enumerated) continue;
    for (const key of Object.keys(record.value)) {
      if (!record.read.has(key)) problems.push(`${record.path}.${key}: unknown field`);
    }
  }
  return problems;
}

interface Tracked {
  readonly path: string;
  readonly value: object;
  readonly read: Set<string>;
  enumerated: boolean;
}

function track(value: object, path: string, records: Tracked[]): object {
  const record: Tracked = { path, value, read: new Set(), enumerated: false };
  records.push(record);
  const children = new Map<string, object>();
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      record.read.add(key);
      if (typeof child !== 'object' || child === null || !Object.hasOwn(target, key)) return child;
      if (!children.has(key)) children.set(key, track(child, `${path}.${key}`, records));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === 'string') record.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}
