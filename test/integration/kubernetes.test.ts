// deploy/kubernetes and the Dockerfile, checked the way a cluster and a build would take them: every
// kustomization is rendered by the real kustomize binary, every rendered object validated strictly against
// the Kubernetes and CRD schemas, the authzd configuration in the ConfigMaps loaded by authzd's own
// loadConfig, the pod's envoy.yaml validated against Envoy's Bootstrap proto, and the properties that keep the
// pod safe and the wiring right asserted one by one.
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

import { loadConfig } from '../../src/config/load-config.js';
import { placeholderSecretProblem } from '../../src/config/placeholder-secret-problem.js';
import { parsePostgresDsn } from '../../src/control-plane/store/postgres/postgres-settings.js';
import { validatePolicyFiles } from '../../src/control-plane/validate-policy-files.js';
import { compilePolicyModel } from '../../src/policy/compile-policy-model.js';
import { readPolicyDir } from '../../src/policy/policy-files.js';
import { readPolicyTests } from '../../src/policy-test/read-policy-tests.js';
import { loadEnvoyRoot } from '../helpers/envoy-protos.js';
import { validateEnvoyConfig } from '../helpers/validate-envoy-config.js';
import {
  SUPPORTED_KINDS,
  validateIstioMeshConfig,
  validateKubernetesObject,
} from '../helpers/validate-kubernetes-object.js';

type K8sObject = Record<string, any>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = path.join(ROOT, 'deploy', 'kubernetes');
const KUSTOMIZE_INSTALL = 'go install sigs.k8s.io/kustomize/kustomize/v5@v5.6.0';
const SIDECAR_LABEL = ['authzd/sidecar', 'true'] as const;
const OPERATOR_LABEL = ['authzd/operator', 'true'] as const;

/** kustomize from $KUSTOMIZE, $PATH or Go's bin directory. Missing kustomize is an error, never a skip. */
function findKustomize(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [
    env.KUSTOMIZE,
    ...(env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, 'kustomize')),
    path.join(env.GOPATH ?? path.join(env.HOME ?? homedir(), 'go'), 'bin', 'kustomize'),
  ];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  throw new Error(
    `kustomize not found (looked in $KUSTOMIZE, $PATH and ~/go/bin): install it with\n  ${KUSTOMIZE_INSTALL}`,
  );
}

/** Every folder under deploy/kubernetes with a kustomization.yaml, relative to deploy/kubernetes. */
function kustomizations(dir = DEPLOY): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) found.push(...kustomizations(path.join(dir, entry.name)));
    else if (entry.name === 'kustomization.yaml') found.push(path.relative(DEPLOY, dir));
  }
  return found.sort();
}

const rendered = new Map<string, K8sObject[]>();
/** Why rendering failed (kustomize missing or a kustomization broken): every test that needs a render fails with it. */
let renderError: Error | undefined;
const objects = (kustomization: string): K8sObject[] => {
  if (renderError !== undefined) throw renderError;
  const found = rendered.get(kustomization);
  if (found === undefined) throw new Error(`${kustomization} was not rendered`);
  return found;
};
/** [kustomization, objects] for every render. */
const renders = (): [string, K8sObject[]][] => {
  if (renderError !== undefined) throw renderError;
  return [...rendered];
};
const find = (kustomization: string, kind: string, name: string): K8sObject => {
  // Generated ConfigMaps and Secrets carry a content hash: match the name before it.
  const found = objects(kustomization).find(
    (o) => o.kind === kind && (o.metadata.name === name || o.metadata.name.replace(/-[a-z0-9]{10}$/, '') === name),
  );
  if (found === undefined) throw new Error(`${kustomization}: no ${kind} ${name}`);
  return found;
};
const podSpec = (deployment: K8sObject) => deployment.spec.template.spec;
const container = (deployment: K8sObject, name: string) => {
  const found = podSpec(deployment).containers.find((c: K8sObject) => c.name === name);
  if (found === undefined) throw new Error(`no container ${name}`);
  return found;
};
const volume = (deployment: K8sObject, name: string) =>
  podSpec(deployment).volumes.find((v: K8sObject) => v.name === name);
const mountOf = (c: K8sObject, volumeName: string) =>
  (c.volumeMounts ?? []).find((m: K8sObject) => m.name === volumeName);
/** A probe's or Service's port as a number, resolving container port names. */
const portNumber = (c: K8sObject, port: number | string) =>
  typeof port === 'number' ? port : (c.ports ?? []).find((p: K8sObject) => p.name === port)?.containerPort;
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
/** `--flag=value` or `--flag value` from a container's args. */
const flag = (args: string[], name: string): string | undefined => {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
};

let tmp: string;
let mounts = 0;
/**
 * A ConfigMap's or Secret's data (or a projected volume's files, by path) laid out as the kubelet mounts it:
 * the files in a timestamped folder, `..data` a symlink to it, each top-level name a symlink into `..data/`.
 */
function mountLikeKubelet(data: Record<string, string>, name: string): string {
  const dir = path.join(tmp, name);
  const timestamped = path.join(dir, '..2026_01_01_00_00_00.000000001');
  mkdirSync(timestamped, { recursive: true });
  for (const [key, value] of Object.entries(data)) {
    mkdirSync(path.dirname(path.join(timestamped, key)), { recursive: true });
    writeFileSync(path.join(timestamped, key), value);
  }
  symlinkSync(path.basename(timestamped), path.join(dir, '..data'));
  for (const top of new Set(Object.keys(data).map((key) => key.split('/')[0])))
    symlinkSync(path.join('..data', top), path.join(dir, top));
  return dir;
}

let envoyRoot: ReturnType<typeof loadEnvoyRoot>;

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'authzd-k8s-'));
  // Not thrown here: a failing beforeAll would report the tests as skipped, and these must fail.
  try {
    const kustomize = findKustomize();
    for (const kustomization of kustomizations()) {
      const out = execFileSync(kustomize, ['build', path.join(DEPLOY, kustomization)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      rendered.set(
        kustomization,
        parseAllDocuments(out).map((d) => d.toJS() as K8sObject),
      );
    }
  } catch (err) {
    renderError = err as Error;
  }
  envoyRoot = loadEnvoyRoot([
    'envoy/config/bootstrap/v3/bootstrap.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
    'envoy/extensions/access_loggers/stream/v3/stream.proto',
  ]);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('kustomize', () => {
  it('renders every kustomization under deploy/kubernetes: policies and their tests, sidecar, control plane, the bundles and Istio overlays', () => {
    expect(renders().map(([name]) => name)).toEqual([
      'control-plane',
      'overlays/bundles',
      'overlays/istio',
      'overlays/postgres',
      'policies',
      'policies/tests',
      'sidecar',
    ]);
    for (const [name, docs] of renders()) expect(docs.length, name).toBeGreaterThan(0);
  });

  it('a missing kustomize is an error with the install command, not a skipped test', () => {
    expect(() => findKustomize({ PATH: '', HOME: path.join(tmp, 'nowhere') })).toThrow(KUSTOMIZE_INSTALL);
  });
});

describe('every rendered object is valid against its schema', () => {
  it('has no unknown field, wrong type, bad enum value or missing required field anywhere', () => {
    const problems = renders().flatMap(([name, docs]) =>
      docs.flatMap((o) => validateKubernetesObject(o).map((p) => `${name}: ${p}`)),
    );
    expect(problems).toEqual([]);
    const kinds = new Set(
      renders()
        .flatMap(([, docs]) => docs)
        .map((o) => `${o.apiVersion}/${o.kind}`),
    );
    expect([...kinds].sort()).toEqual([...SUPPORTED_KINDS].sort());
  });

  it('the validator rejects unknown fields at any depth, in core kinds and CRDs alike (so the check above can fail)', () => {
    const deployment = structuredClone(find('sidecar', 'Deployment', 'authzd-demo'));
    deployment.spec.replcas = 3;
    podSpec(deployment).containers[2].readinesProbe = {};
    podSpec(deployment).containers[2].securityContext.runAsNonRot = true;
    podSpec(deployment).volumes[0].emptyDir.sizelimit = '1Mi';
    deployment.metadata.lables = {};
    const problems = validateKubernetesObject(deployment);
    for (const path of [
      '.spec.replcas',
      '.spec.template.spec.containers.2.readinesProbe',
      '.spec.template.spec.containers.2.securityContext.runAsNonRot',
      '.spec.template.spec.volumes.0.emptyDir.sizelimit',
      '.metadata.lables',
    ]) {
      expect(problems).toContain(`Deployment/authzd-demo ${path}: unknown field`);
    }

    const podMonitor = structuredClone(find('sidecar', 'PodMonitor', 'authzd-sidecars'));
    podMonitor.spec.podMetricsEndpoints[0].intervall = '15s';
    expect(validateKubernetesObject(podMonitor)).toEqual([
      'PodMonitor/authzd-sidecars .spec.podMetricsEndpoints.0.intervall: unknown field',
    ]);

    const policy = structuredClone(find('overlays/istio', 'AuthorizationPolicy', 'authzd-demo-ext-authz'));
    policy.spec.provider.nmae = 'x';
    expect(validateKubernetesObject(policy)).toEqual([
      'AuthorizationPolicy/authzd-demo-ext-authz .spec.provider.nmae: unknown field',
    ]);

    const networkPolicy = structuredClone(find('control-plane', 'NetworkPolicy', 'authzd-control-plane'));
    networkPolicy.spec.ingress[0].from[0].podSelecter = {};
    expect(validateKubernetesObject(networkPolicy)).toEqual([
      'NetworkPolicy/authzd-control-plane .spec.ingress.0.from.0.podSelecter: unknown field',
    ]);
  });

  it('the validator rejects wrong types, bad enum values, missing required fields and unknown kinds', () => {
    const deployment = structuredClone(find('sidecar', 'Deployment', 'authzd-demo'));
    delete podSpec(deployment).containers[0].name;
    podSpec(deployment).containers[1].ports[0].containerPort = '8000';
    const problems = validateKubernetesObject(deployment).join('\n');
    expect(problems).toMatch(/containers\/0 must have required property name/);
    expect(problems).toMatch(/containers\/1\/ports\/0\/containerPort must be integer/);

    const policy = structuredClone(find('overlays/istio', 'AuthorizationPolicy', 'authzd-demo-ext-authz'));
    policy.spec.action = 'EXTERNAL';
    expect(validateKubernetesObject(policy).join('\n')).toMatch(/action must be equal to one of the allowed values/);

    const secret = structuredClone(find('control-plane', 'Secret', 'authzd-control-plane'));
    secret.data['admin-token'] = 'not base64!';
    expect(validateKubernetesObject(secret).join('\n')).toMatch(/data\/admin-token must match format "byte"/);

    expect(validateKubernetesObject({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' } })).toEqual([
      'StatefulSet/x: no schema for apps/v1 StatefulSet',
    ]);
  });
});

describe('every Deployment is locked down', () => {
  const deployments = () =>
    renders().flatMap(([name, docs]) => docs.filter((o) => o.kind === 'Deployment').map((d) => [name, d] as const));

  it('runs non-root with seccomp RuntimeDefault and no service account token', () => {
    expect(deployments().length).toBe(5);
    for (const [, d] of deployments()) {
      const pod = podSpec(d);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
    }
  });

  it('gives every container a read-only root filesystem, no privilege escalation, no capabilities and resource limits', () => {
    for (const [name, d] of deployments()) {
      for (const c of podSpec(d).containers) {
        const where = `${name} ${d.metadata.name}/${c.name}`;
        expect(c.securityContext, where).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext.runAsUser ?? 1, where).not.toBe(0);
        expect(c.securityContext.privileged ?? false, where).toBe(false);
        expect(Object.keys(c.resources?.limits ?? {}).sort(), where).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources?.requests ?? {}).sort(), where).toEqual(['cpu', 'memory']);
      }
    }
  });

  it('pins every image by tag, Envoy to a v1.3x release', () => {
    const images = deployments().flatMap(([, d]) => podSpec(d).containers.map((c: K8sObject) => c.image as string));
    for (const image of images) expect(image).toMatch(/^[\w./-]+:[\w.-]+$/);
    for (const image of images) expect(image).not.toMatch(/:latest$/);
    expect(images).toContain('envoyproxy/envoy:v1.34.1');
    expect(images.filter((i) => i.startsWith('envoyproxy/envoy:')).every((i) => /:v1\.3\d\.\d+$/.test(i))).toBe(true);
  });

  it('mounts only declared volumes, probes only declared ports, and references only objects the render contains', () => {
    for (const [name, d] of deployments()) {
      const volumes = new Map<string, K8sObject>(podSpec(d).volumes.map((v: K8sObject) => [v.name, v]));
      for (const c of podSpec(d).containers) {
        for (const m of c.volumeMounts ?? [])
          expect(volumes.has(m.name), `${name} ${c.name} mounts ${m.name}`).toBe(true);
        for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe].filter(Boolean)) {
          const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
          const owner = podSpec(d).containers.find((o: K8sObject) => portNumber(o, port) !== undefined);
          expect(typeof port === 'number' || owner !== undefined, `${name} ${c.name} probes ${port}`).toBe(true);
        }
      }
      for (const v of volumes.values()) {
        const ref = v.configMap
          ? (['ConfigMap', v.configMap.name] as const)
          : v.secret
            ? (['Secret', v.secret.secretName] as const)
            : v.persistentVolumeClaim
              ? (['PersistentVolumeClaim', v.persistentVolumeClaim.claimName] as const)
              : undefined;
        if (ref === undefined || v.secret?.optional === true) continue;
        expect(
          objects(name).some((o) => o.kind === ref[0] && o.metadata.name === ref[1]),
          `${name}: ${ref[0]} ${ref[1]}`,
        ).toBe(true);
      }
    }
    // A PodMonitor endpoint must name a port of a pod it selects (the Istio overlay has no Envoy port).
    for (const [name, docs] of renders()) {
      for (const monitor of docs.filter((o) => o.kind === 'PodMonitor')) {
        const pods = docs.filter(
          (o) => o.kind === 'Deployment' && selects(monitor.spec.selector.matchLabels, o.spec.template.metadata.labels),
        );
        expect(pods.length, `${name} ${monitor.metadata.name}`).toBeGreaterThan(0);
        for (const endpoint of monitor.spec.podMetricsEndpoints) {
          const found = pods.some((d) =>
            podSpec(d).containers.some((c: K8sObject) => portNumber(c, endpoint.port) !== undefined),
          );
          expect(found, `${name} ${monitor.metadata.name} port ${endpoint.port}`).toBe(true);
        }
      }
    }
  });
});

describe('sidecar: the workload pod with Envoy and authzd', () => {
  const deployment = () => find('sidecar', 'Deployment', 'authzd-demo');
  const configMapData = (name: string) => find('sidecar', 'ConfigMap', name).data as Record<string, string>;
  const authzdConfig = () =>
    loadConfig(path.join(mountLikeKubelet(configMapData('authzd-config'), `config-${++mounts}`), 'authzd.yaml'));
  const envoyConfig = () => parse(configMapData('authzd-envoy')['envoy.yaml']);

  it("authzd's configuration passes authzd's own loadConfig (the schema of src/config/config-schema.ts)", () => {
    const config = authzdConfig();
    expect(config.grpc.address).toBe('unix:///var/run/authzd/authzd.sock');
    expect(config.admin.address).toBe('0.0.0.0:9192');
    expect(config.shutdown.drainDelayMs).toBeGreaterThanOrEqual(2000);
  });

  it('authzd reads the file the ConfigMap mounts, and its policies from the mounted policy ConfigMap', () => {
    const authzd = container(deployment(), 'authzd');
    const configFile = flag(authzd.args, 'config')!;
    expect(path.dirname(configFile)).toBe(mountOf(authzd, 'authzd-config').mountPath);
    expect(volume(deployment(), 'authzd-config').configMap.name).toBe(
      find('sidecar', 'ConfigMap', 'authzd-config').metadata.name,
    );
    expect(authzdConfig().policies.directory).toBe(mountOf(authzd, 'authzd-policies').mountPath);
    expect(volume(deployment(), 'authzd-policies').configMap.name).toBe(
      find('sidecar', 'ConfigMap', 'authzd-policies').metadata.name,
    );
    // The policy source lives in authzd.yaml alone, and the bundle credentials are already mounted (from an
    // optional Secret), so switching to bundles is a change of that one file.
    expect(flag(authzd.args, 'policies')).toBeUndefined();
    expect(volume(deployment(), 'authzd-bundle').secret).toMatchObject({ secretName: 'authzd-bundle', optional: true });
    expect(mountOf(authzd, 'authzd-bundle')).toMatchObject({
      mountPath: '/var/run/secrets/authzd/bundle',
      readOnly: true,
    });
  });

  it('the policy ConfigMap holds exactly the repository policies/, and loads as the kubelet mounts it (symlinks)', async () => {
    const data = configMapData('authzd-policies');
    // Files only: a ConfigMap is flat, and the policy tests in policies/tests/ run in CI, not in the cluster.
    const policyFiles = readdirSync(path.join(ROOT, 'policies'), { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
    const repo = Object.fromEntries(policyFiles.map((f) => [f, readFileSync(path.join(ROOT, 'policies', f), 'utf8')]));
    expect(
      data,
      'deploy/kubernetes/policies/ must copy policies/: cp policies/* deploy/kubernetes/policies/ (and list new files in its kustomization.yaml)',
    ).toEqual(repo);
    const files = await readPolicyDir(mountLikeKubelet(data, 'policies'));
    expect([...files.keys()].sort()).toEqual(Object.keys(repo).sort());
    expect(Object.keys(compilePolicyModel(files).policies).length).toBeGreaterThan(0);
  });

  it('liveness (/healthz) and readiness (/readyz) probes hit the admin port authzd listens on', () => {
    const authzd = container(deployment(), 'authzd');
    const adminPort = Number(authzdConfig().admin.address.split(':').at(-1));
    expect(adminPort).toBe(9192);
    expect(authzd.livenessProbe.httpGet.path).toBe('/healthz');
    expect(authzd.readinessProbe.httpGet.path).toBe('/readyz');
    expect(authzd.startupProbe.httpGet.path).toBe('/healthz');
    for (const probe of [authzd.livenessProbe, authzd.readinessProbe, authzd.startupProbe])
      expect(portNumber(authzd, probe.httpGet.port)).toBe(adminPort);
  });

  it('Envoy and authzd share the socket volume, and both point at the same socket', () => {
    const socketVolume = volume(deployment(), 'authzd-socket');
    expect(socketVolume.emptyDir).toBeDefined();
    const envoy = container(deployment(), 'envoy');
    const authzd = container(deployment(), 'authzd');
    const socket = authzdConfig().grpc.address.slice('unix://'.length);
    expect(mountOf(envoy, 'authzd-socket').mountPath).toBe(path.dirname(socket));
    expect(mountOf(authzd, 'authzd-socket').mountPath).toBe(path.dirname(socket));
    expect(mountOf(envoy, 'authzd-socket').readOnly ?? false).toBe(false);
    const cluster = envoyConfig().static_resources.clusters.find((c: K8sObject) => c.name === 'authzd');
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).toEqual({ pipe: { path: socket } });
    // Connecting to a Unix socket needs write permission on it: Envoy must run as the socket's owner.
    const uid = (c: K8sObject) => c.securityContext.runAsUser ?? podSpec(deployment()).securityContext.runAsUser;
    expect(uid(envoy)).toBe(uid(authzd));
  });

  it("the pod's envoy.yaml is a valid Bootstrap (no unknown field, enum value or @type anywhere)", () => {
    expect(validateEnvoyConfig(envoyRoot, 'envoy.config.bootstrap.v3.Bootstrap', envoyConfig())).toEqual([]);
    const broken = envoyConfig();
    broken.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe.paht = '/x';
    expect(validateEnvoyConfig(envoyRoot, 'envoy.config.bootstrap.v3.Bootstrap', broken).join('\n')).toMatch(
      /pipe\.paht: unknown field of \.envoy\.config\.core\.v3\.Pipe/,
    );
  });

  it("the pod's ext_authz filter is the top-level envoy.yaml's, and routes :8000 to the app on 127.0.0.1:8080", () => {
    const ingress = (config: K8sObject) =>
      config.static_resources.listeners.find((l: K8sObject) => l.name === 'ingress');
    const hcm = (config: K8sObject) => ingress(config).filter_chains[0].filters[0].typed_config;
    const topLevel = parse(readFileSync(path.join(ROOT, 'envoy.yaml'), 'utf8'));
    const pod = envoyConfig();
    expect(hcm(pod).http_filters).toEqual(hcm(topLevel).http_filters);
    expect(hcm(pod).route_config).toEqual(hcm(topLevel).route_config);
    expect(ingress(pod).address.socket_address.port_value).toBe(8000);
    const app = pod.static_resources.clusters.find((c: K8sObject) => c.name === 'app');
    expect(app.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '127.0.0.1',
      port_value: 8080,
    });
    // The app listens on loopback only: no way around Envoy and ext_authz.
    expect(container(deployment(), 'app').args).toContain('-listen=127.0.0.1:8080');
    expect(container(deployment(), 'app').ports).toBeUndefined();
    const envoy = container(deployment(), 'envoy');
    expect(flag(envoy.args, 'config-path')).toBe(`${mountOf(envoy, 'envoy-config').mountPath}/envoy.yaml`);
    expect(volume(deployment(), 'envoy-config').configMap.name).toBe(
      find('sidecar', 'ConfigMap', 'authzd-envoy').metadata.name,
    );
    expect(portNumber(envoy, 'http')).toBe(8000);
  });

  it("Envoy's probe listener exposes only GET /ready and /stats/prometheus of its admin interface", () => {
    const pod = envoyConfig();
    expect(pod.admin.address.socket_address.address).toBe('127.0.0.1');
    const health = pod.static_resources.listeners.find((l: K8sObject) => l.name === 'health');
    const routes = health.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes;
    expect(routes.map((r: K8sObject) => r.match.path)).toEqual(['/ready', '/stats/prometheus']);
    for (const r of routes) expect(r.match.headers).toEqual([{ name: ':method', string_match: { exact: 'GET' } }]);
    const envoy = container(deployment(), 'envoy');
    expect(portNumber(envoy, 'envoy-health')).toBe(health.address.socket_address.port_value);
    expect(envoy.readinessProbe.httpGet.path).toBe('/ready');
  });

  it('shutdown: authzd drains longer than Envoy keeps accepting, and the grace period covers the whole drain', () => {
    const { drainDelayMs, drainTimeoutMs } = authzdConfig().shutdown;
    const envoyPreStopMs = container(deployment(), 'envoy').lifecycle.preStop.sleep.seconds * 1000;
    expect(drainDelayMs).toBeGreaterThan(envoyPreStopMs);
    expect(podSpec(deployment()).terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainDelayMs + drainTimeoutMs);
  });

  it('the Service sends clients to Envoy, and the PodMonitor scrapes authzd /metrics on the admin port', () => {
    const labels = deployment().spec.template.metadata.labels;
    expect(labels[SIDECAR_LABEL[0]]).toBe(SIDECAR_LABEL[1]);
    const service = find('sidecar', 'Service', 'authzd-demo');
    expect(selects(service.spec.selector, labels)).toBe(true);
    expect(portNumber(container(deployment(), 'envoy'), service.spec.ports[0].targetPort)).toBe(8000);
    const monitor = find('sidecar', 'PodMonitor', 'authzd-sidecars');
    expect(selects(monitor.spec.selector.matchLabels, labels)).toBe(true);
    const endpoint = monitor.spec.podMetricsEndpoints.find((e: K8sObject) => e.path === '/metrics');
    expect(portNumber(container(deployment(), 'authzd'), endpoint.port)).toBe(9192);
  });
});

describe('control plane on PostgreSQL (overlays/postgres)', () => {
  const deployment = () => find('overlays/postgres', 'Deployment', 'authzd-control-plane');
  const base = () => find('control-plane', 'Deployment', 'authzd-control-plane');
  const cp = () => container(deployment(), 'control-plane');

  it('runs two replicas, rolled one at a time, spread over nodes, under a PodDisruptionBudget', () => {
    expect(deployment().spec.replicas).toBe(2);
    expect(deployment().spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    const pdb = find('overlays/postgres', 'PodDisruptionBudget', 'authzd-control-plane');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(selects(pdb.spec.selector.matchLabels, deployment().spec.template.metadata.labels)).toBe(true);
    expect(podSpec(deployment()).topologySpreadConstraints[0].topologyKey).toBe('kubernetes.io/hostname');
  });

  it('takes the DSN from its own Secret, has no data volume and nothing writable; the other flags are the base ones', () => {
    expect(flag(cp().args, 'store')).toBe('postgres');
    expect(flag(cp().args, 'data')).toBeUndefined();
    const dsnFile = flag(cp().args, 'store-dsn-file')!;
    expect(path.dirname(dsnFile)).toBe(mountOf(cp(), 'store').mountPath);
    const secret = find('overlays/postgres', 'Secret', volume(deployment(), 'store').secret.secretName);
    const dsn = Buffer.from(secret.data[path.basename(dsnFile)], 'base64').toString('utf8');
    const parsed = parsePostgresDsn(dsn);
    expect(parsed.ok && parsed.value.sslmode).toBe('verify-full');
    // A placeholder the control plane refuses to start with, like the other secrets.
    expect(parsed.ok && placeholderSecretProblem(parsed.value.password ?? '', 'password', 'dsn')).toBeDefined();
    expect(objects('overlays/postgres').some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(volume(deployment(), 'data')).toBeUndefined();
    expect(cp().volumeMounts.filter((m: K8sObject) => m.readOnly !== true)).toEqual([]);
    const baseArgs = (container(base(), 'control-plane').args as string[]).filter((a) => !a.startsWith('--data'));
    const args = (cp().args as string[]).filter((a) => !a.startsWith('--store'));
    expect(args).toEqual(baseArgs);
  });
});

describe('control plane', () => {
  const deployment = () => find('control-plane', 'Deployment', 'authzd-control-plane');
  const cp = () => container(deployment(), 'control-plane');
  const FLAGS = [
    'policies',
    'signing-key',
    'kid',
    'addr',
    'admin-addr',
    'data',
    'bundle-name',
    'scope',
    'admin-token-file',
    'read-token-file',
  ];

  it('runs `authzd control-plane` with one replica, recreated, with the documented flags only', () => {
    expect(deployment().spec.replicas).toBe(1);
    expect(deployment().spec.strategy.type).toBe('Recreate');
    expect(cp().args[0]).toBe('control-plane');
    const used = cp()
      .args.slice(1)
      .map((a: string) => /^--([a-z-]+)/.exec(a)?.[1]);
    for (const name of used) expect(FLAGS).toContain(name);
    for (const required of ['policies', 'signing-key', 'kid', 'addr', 'data'])
      expect(flag(cp().args, required), required).toBeDefined();
    // docs/kubernetes.md shows an overlay patching args/3 to set the kid.
    expect(cp().args[3]).toMatch(/^--kid=/);
  });

  it('writes only to its data volume, a PersistentVolumeClaim', () => {
    expect(cp().securityContext.readOnlyRootFilesystem).toBe(true);
    const writable = cp().volumeMounts.filter((m: K8sObject) => m.readOnly !== true);
    expect(writable.map((m: K8sObject) => m.mountPath)).toEqual([flag(cp().args, 'data')]);
    const claim = volume(deployment(), writable[0].name).persistentVolumeClaim.claimName;
    expect(find('control-plane', 'PersistentVolumeClaim', claim).spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  it('reads its key and tokens from the Secret and its policies from the policy ConfigMap', () => {
    const secretMount = mountOf(cp(), 'secrets');
    const secret = find('control-plane', 'Secret', volume(deployment(), 'secrets').secret.secretName);
    for (const name of ['signing-key', 'admin-token-file', 'read-token-file']) {
      const file = flag(cp().args, name)!;
      expect(path.dirname(file), name).toBe(secretMount.mountPath);
      expect(Object.keys(secret.data), name).toContain(path.basename(file));
    }
    expect(flag(cp().args, 'policies')).toBe(mountOf(cp(), 'policies').mountPath);
    expect(find('control-plane', 'ConfigMap', 'authzd-policies').data).toEqual(
      find('sidecar', 'ConfigMap', 'authzd-policies').data,
    );
  });

  it('ships placeholders, never a real key or token, and authzd refuses every one of them', () => {
    const secret = find('control-plane', 'Secret', 'authzd-control-plane');
    for (const [key, value] of Object.entries<string>(secret.data)) {
      const text = Buffer.from(value, 'base64').toString('utf8');
      expect(text, key).toMatch(/PLACEHOLDER/);
      expect(text, key).not.toMatch(/-----BEGIN/);
      expect(placeholderSecretProblem(text, key, `Secret key ${key}`), key).toBeDefined();
    }
  });

  it("mounts the policy tests under --policies/tests, exactly the repository's policies/tests/", () => {
    const tests = find('control-plane', 'ConfigMap', 'authzd-policy-tests');
    const repo = Object.fromEntries(
      readdirSync(path.join(ROOT, 'policies', 'tests')).map((f) => [
        f,
        readFileSync(path.join(ROOT, 'policies', 'tests', f), 'utf8'),
      ]),
    );
    expect(
      tests.data,
      'deploy/kubernetes/policies/tests/ must copy policies/tests/ (and list new files in its kustomization.yaml and the volume items)',
    ).toEqual(repo);
    const sources = volume(deployment(), 'policies').projected.sources;
    expect(sources[0].configMap.name).toBe(find('control-plane', 'ConfigMap', 'authzd-policies').metadata.name);
    expect(sources[1].configMap.name).toBe(tests.metadata.name);
    // Every key of the ConfigMap under tests/, none left out (a key missing from `items` is not mounted).
    expect(sources[1].configMap.items).toEqual(
      Object.keys(tests.data)
        .sort()
        .map((key) => ({ key, path: `tests/${key}` })),
    );
    expect(flag(cp().args, 'policies')).toBe(mountOf(cp(), 'policies').mountPath);
  });

  it("the control plane's gate runs those tests in the cluster: the mounted directory passes, a change that breaks a test is refused", async () => {
    const sources = volume(deployment(), 'policies').projected.sources;
    const policies = find('control-plane', 'ConfigMap', 'authzd-policies').data as Record<string, string>;
    const tests = find('control-plane', 'ConfigMap', 'authzd-policy-tests').data as Record<string, string>;
    const laidOut = {
      ...policies,
      ...Object.fromEntries(sources[1].configMap.items.map((i: K8sObject) => [i.path, tests[i.key]])),
    };
    const dir = mountLikeKubelet(laidOut, 'cp-policies');
    const files = await readPolicyDir(dir);
    const found = await readPolicyTests(dir);
    expect([...found.keys()].sort()).toEqual(
      Object.keys(tests)
        .map((k) => `tests/${k}`)
        .sort(),
    );
    expect(await validatePolicyFiles(files, { tests: found })).toBeUndefined();
    // An emergency forbid that denies what the tests expect to be allowed: refused, with the failing cases.
    const frozen = new Map(files).set(
      'emergency.cedar',
      '@id("freeze-everything") forbid (principal, action, resource);',
    );
    const rejection = await validatePolicyFiles(frozen, { tests: found });
    expect(rejection).toMatchObject({ reason: 'policy_tests_failed' });
    expect(rejection!.tests!.failed).toBeGreaterThan(0);
    expect(rejection!.problems.some((p) => p.includes('freeze-everything'))).toBe(true);
  });

  it('probes /healthz and /readyz and is scraped on the port it listens on', () => {
    const port = Number(flag(cp().args, 'addr')!.split(':').at(-1));
    expect(cp().livenessProbe.httpGet.path).toBe('/healthz');
    expect(cp().readinessProbe.httpGet.path).toBe('/readyz');
    for (const probe of [cp().livenessProbe, cp().readinessProbe, cp().startupProbe])
      expect(portNumber(cp(), probe.httpGet.port)).toBe(port);
    const service = find('control-plane', 'Service', 'authzd-control-plane');
    expect(selects(service.spec.selector, deployment().spec.template.metadata.labels)).toBe(true);
    expect(portNumber(cp(), service.spec.ports[0].targetPort)).toBe(port);
    const monitor = find('control-plane', 'ServiceMonitor', 'authzd-control-plane');
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: service.spec.ports[0].name, path: '/metrics' });
  });

  it('serves writes (publish, revoke) on an admin port of their own, which the Service exposes beside the read port', () => {
    const readPort = Number(flag(cp().args, 'addr')!.split(':').at(-1));
    const adminPort = Number(flag(cp().args, 'admin-addr')!.split(':').at(-1));
    expect(adminPort).not.toBe(readPort);
    expect(portNumber(cp(), 'admin')).toBe(adminPort);
    expect(portNumber(cp(), 'http')).toBe(readPort);
    const service = find('control-plane', 'Service', 'authzd-control-plane');
    expect(service.spec.ports.map((p: K8sObject) => [p.name, portNumber(cp(), p.targetPort)])).toEqual([
      ['http', readPort],
      ['admin', adminPort],
    ]);
  });

  it('the NetworkPolicy admits sidecars and Prometheus to the read port only, and operators alone to the admin port', () => {
    const policy = find('control-plane', 'NetworkPolicy', 'authzd-control-plane');
    expect(selects(policy.spec.podSelector.matchLabels, deployment().spec.template.metadata.labels)).toBe(true);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const readPort = Number(flag(cp().args, 'addr')!.split(':').at(-1));
    const adminPort = Number(flag(cp().args, 'admin-addr')!.split(':').at(-1));
    /** [peer, container port number] for every peer and port a rule admits. */
    const admitted: [K8sObject, number][] = policy.spec.ingress.flatMap((rule: K8sObject) => {
      // A rule without `from` would admit every source, one without `ports` every port.
      expect(rule.from?.length).toBeGreaterThan(0);
      expect(rule.ports?.length).toBeGreaterThan(0);
      return rule.from.flatMap((peer: K8sObject) => rule.ports.map((p: K8sObject) => [peer, portNumber(cp(), p.port)]));
    });
    for (const [peer, port] of admitted) {
      expect(peer.ipBlock).toBeUndefined();
      expect([readPort, adminPort]).toContain(port);
    }
    const podsOf = (labels: Record<string, string>) =>
      admitted.filter(([peer]) => selects(peer.podSelector?.matchLabels ?? {}, labels));
    const sidecarPod = find('sidecar', 'Deployment', 'authzd-demo').spec.template.metadata.labels;
    const istioPod = find('overlays/istio', 'Deployment', 'authzd-demo').spec.template.metadata.labels;
    const bundlesPod = find('overlays/bundles', 'Deployment', 'authzd-demo').spec.template.metadata.labels;
    for (const pod of [sidecarPod, istioPod, bundlesPod]) {
      expect(podsOf(pod).map(([, port]) => port)).toEqual([readPort]);
      expect(podsOf(pod)[0][0].podSelector.matchLabels).toEqual({ [SIDECAR_LABEL[0]]: SIDECAR_LABEL[1] });
    }
    const prometheus = admitted.filter(
      ([peer]) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
    );
    expect(prometheus.map(([peer, port]) => [peer.podSelector.matchLabels, port])).toEqual([
      [{ 'app.kubernetes.io/name': 'prometheus' }, readPort],
    ]);
    // The admin port: only pods that carry the operator label, which no sample workload does.
    const toAdmin = admitted.filter(([, port]) => port === adminPort);
    expect(toAdmin.map(([peer]) => peer)).toEqual([
      { namespaceSelector: {}, podSelector: { matchLabels: { [OPERATOR_LABEL[0]]: OPERATOR_LABEL[1] } } },
    ]);
    for (const [, docs] of renders())
      for (const d of docs.filter((o) => o.kind === 'Deployment'))
        expect(d.spec.template.metadata.labels[OPERATOR_LABEL[0]]).toBeUndefined();
  });
});

describe('bundles overlay: the sidecar takes signed bundles and revocations from the control plane', () => {
  const deployment = () => find('overlays/bundles', 'Deployment', 'authzd-demo');
  const authzd = () => container(deployment(), 'authzd');
  const configMapData = () => find('overlays/bundles', 'ConfigMap', 'authzd-config').data as Record<string, string>;
  const config = () =>
    loadConfig(path.join(mountLikeKubelet(configMapData(), `bundles-config-${++mounts}`), 'authzd.yaml'));
  const cpDeployment = () => find('control-plane', 'Deployment', 'authzd-control-plane');
  const cpArgs = () => container(cpDeployment(), 'control-plane').args as string[];

  it("loads with authzd's own loadConfig: bundle and revocation instead of policies, everything else the sidecar's", () => {
    const c = config();
    expect(c.policies.directory).toBeUndefined();
    expect(c.bundle.url).toBeDefined();
    expect(c.revocation.url).toBeDefined();
    const sidecar = loadConfig(
      path.join(
        mountLikeKubelet(find('sidecar', 'ConfigMap', 'authzd-config').data, `sidecar-config-${++mounts}`),
        'authzd.yaml',
      ),
    );
    const { bundle: _b, revocation: _r, policies: _p, ...rest } = c;
    const { bundle: _sb, revocation: _sr, policies: _sp, ...sidecarRest } = sidecar;
    expect(rest).toEqual(sidecarRest);
    expect(c.policies.onError).toBe(sidecar.policies.onError);
  });

  it("points at the control plane's Service, read port and bundle name, and trusts the key it signs with", () => {
    const c = config();
    const service = find('control-plane', 'Service', 'authzd-control-plane');
    const readPort = service.spec.ports.find((p: K8sObject) => p.name === 'http').port;
    const base = `http://${service.metadata.name}.${service.metadata.namespace}.svc:${readPort}`;
    expect(c.bundle.url).toBe(`${base}/v1/bundles/${flag(cpArgs(), 'bundle-name')}`);
    expect(c.revocation.url).toBe(`${base}/v1/revocations`);
    // The read port, not the admin one: that is what the NetworkPolicy admits this pod to.
    expect(portNumber(container(cpDeployment(), 'control-plane'), 'http')).toBe(
      Number(flag(cpArgs(), 'addr')!.split(':').at(-1)),
    );
    expect(c.bundle.publicKeys.map((k) => k.kid)).toEqual([flag(cpArgs(), 'kid')]);
    // Both sides keep the default scope.
    expect(c.bundle.scope).toBeUndefined();
    expect(flag(cpArgs(), 'scope')).toBeUndefined();
    expect(deployment().spec.template.metadata.labels[SIDECAR_LABEL[0]]).toBe(SIDECAR_LABEL[1]);
  });

  it('reads the read token and the public key from the mounted Secret authzd-bundle', () => {
    const c = config();
    const mount = mountOf(authzd(), 'authzd-bundle');
    expect(volume(deployment(), 'authzd-bundle').secret.secretName).toBe('authzd-bundle');
    for (const file of [c.bundle.tokenFile, c.revocation.tokenFile, ...c.bundle.publicKeys.map((k) => k.file)])
      expect(path.dirname(file!)).toBe(mount.mountPath);
    expect(path.basename(c.bundle.tokenFile!)).toBe('read-token');
    expect(path.basename(c.bundle.publicKeys[0].file)).toBe('public-key.pem');
  });

  it('caches the last verified bundle on a writable emptyDir; the root filesystem stays read-only', () => {
    const c = config();
    const writable = authzd().volumeMounts.filter((m: K8sObject) => m.readOnly !== true);
    const cache = writable.find((m: K8sObject) => m.mountPath === c.bundle.cacheDir);
    expect(cache, 'bundle.cacheDir must be a writable mount').toBeDefined();
    expect(volume(deployment(), cache.name).emptyDir).toBeDefined();
    expect(authzd().securityContext.readOnlyRootFilesystem).toBe(true);
    // Nothing else writable but the socket.
    expect(writable.map((m: K8sObject) => m.name).sort()).toEqual([cache.name, 'authzd-socket'].sort());
  });

  it('drops the policy ConfigMap, its volume and its mount; the rest of the pod is the sidecar sample', () => {
    expect(
      objects('overlays/bundles').some((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('authzd-policies')),
    ).toBe(false);
    expect(volume(deployment(), 'authzd-policies')).toBeUndefined();
    expect(mountOf(authzd(), 'authzd-policies')).toBeUndefined();
    expect(
      podSpec(deployment())
        .containers.map((c: K8sObject) => c.name)
        .sort(),
    ).toEqual(['app', 'authzd', 'envoy']);
    expect(authzd().args).toEqual(container(find('sidecar', 'Deployment', 'authzd-demo'), 'authzd').args);
  });
});

describe('Istio overlay', () => {
  const OVERLAY = path.join(DEPLOY, 'overlays', 'istio');
  const deployment = () => find('overlays/istio', 'Deployment', 'authzd-demo');
  const meshConfig = () => parse(readFileSync(path.join(OVERLAY, 'istio-mesh-config.yaml'), 'utf8'));
  const provider = () => meshConfig().spec.meshConfig.extensionProviders[0];

  it("has no Envoy container, socket or Envoy ConfigMap: Istio's proxy is the Envoy", () => {
    expect(podSpec(deployment()).containers.map((c: K8sObject) => c.name)).toEqual(['app', 'authzd']);
    expect(
      podSpec(deployment())
        .volumes.map((v: K8sObject) => v.name)
        .sort(),
    ).toEqual(['authzd-bundle', 'authzd-config', 'authzd-policies']);
    expect(
      objects('overlays/istio').some((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('authzd-envoy')),
    ).toBe(false);
    expect(deployment().spec.template.metadata.labels['sidecar.istio.io/inject']).toBe('true');
  });

  it("authzd listens on TCP 127.0.0.1:9191, from the sidecar's own authzd.yaml plus --grpc-addr", () => {
    const authzd = container(deployment(), 'authzd');
    const configMap = find('overlays/istio', 'ConfigMap', 'authzd-config');
    expect(configMap.data).toEqual(find('sidecar', 'ConfigMap', 'authzd-config').data);
    const file = path.join(mountLikeKubelet(configMap.data, 'istio-config'), 'authzd.yaml');
    expect(path.dirname(flag(authzd.args, 'config')!)).toBe(mountOf(authzd, 'authzd-config').mountPath);
    const config = loadConfig(file, { grpcAddress: flag(authzd.args, 'grpc-addr')! });
    expect(config.grpc.address).toBe('127.0.0.1:9191');
    expect(authzd.readinessProbe.httpGet.path).toBe('/readyz');
    expect(portNumber(authzd, authzd.readinessProbe.httpGet.port)).toBe(9192);
  });

  it('the mesh extension provider is valid, and the ServiceEntry and AuthorizationPolicy match it', () => {
    expect(validateIstioMeshConfig(meshConfig())).toEqual([]);
    const entry = find('overlays/istio', 'ServiceEntry', 'authzd-local');
    expect(entry.spec.hosts).toEqual([provider().envoyExtAuthzGrpc.service]);
    expect(entry.spec.ports).toEqual([{ name: 'grpc', number: provider().envoyExtAuthzGrpc.port, protocol: 'GRPC' }]);
    expect(entry.spec.endpoints).toEqual([{ address: '127.0.0.1' }]);
    expect(entry.spec.resolution).toBe('STATIC');
    expect(`127.0.0.1:${provider().envoyExtAuthzGrpc.port}`).toBe(
      flag(container(deployment(), 'authzd').args, 'grpc-addr'),
    );
    expect(provider().envoyExtAuthzGrpc.failOpen).toBe(false);

    const policy = find('overlays/istio', 'AuthorizationPolicy', 'authzd-demo-ext-authz');
    expect(policy.spec.action).toBe('CUSTOM');
    expect(policy.spec.provider.name).toBe(provider().name);
    expect(selects(policy.spec.selector.matchLabels, deployment().spec.template.metadata.labels)).toBe(true);
    expect(policy.spec.rules[0].to[0].operation.ports).toEqual([
      String(portNumber(container(deployment(), 'app'), 'http')),
    ]);
  });

  it('the mesh-config check rejects unknown and mistyped provider fields (so the check above can fail)', () => {
    const broken = meshConfig();
    broken.spec.meshConfig.extensionProviders[0].envoyExtAuthzGrpc.failopen = false;
    broken.spec.meshConfig.extensionProviders[0].envoyExtAuthzGrpc.port = '9191x';
    delete broken.spec.meshConfig.extensionProviders[0].envoyExtAuthzGrpc.service;
    broken.spec.meshConfig.extensionProvider = [];
    broken.metadata.nmae = 'x';
    expect(validateIstioMeshConfig(broken).sort()).toEqual([
      '.metadata.nmae: unknown field',
      'spec.meshConfig.extensionProvider: unknown field',
      'spec.meshConfig.extensionProviders[0].envoyExtAuthzGrpc.failopen: unknown field',
      'spec.meshConfig.extensionProviders[0].envoyExtAuthzGrpc.port: wrong type "9191x"',
      'spec.meshConfig.extensionProviders[0].envoyExtAuthzGrpc.service: required',
    ]);
  });
});

describe('Dockerfile', () => {
  interface Instruction {
    readonly op: string;
    readonly args: string;
  }
  const instructions = (): Instruction[] =>
    readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const [op, ...rest] = l.split(/\s+/);
        return { op: op.toUpperCase(), args: rest.join(' ') };
      });
  const stages = () => {
    const result: Instruction[][] = [];
    for (const i of instructions()) {
      if (i.op === 'FROM') result.push([]);
      result.at(-1)!.push(i);
    }
    return result;
  };
  const ignored = () =>
    readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const copies = instructions().filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(path.join(ROOT, source)), source).toBe(true);
        expect(ignored(), source).not.toContain(source.split('/')[0]);
      }
    }
  });

  it('builds with npm ci && npm run build and runs on production dependencies only', () => {
    const [build, deps] = stages();
    expect(build.some((i) => i.op === 'RUN' && i.args.includes('npm ci'))).toBe(true);
    expect(build.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
    expect(deps.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args))).toBe(true);
    const runtime = stages().at(-1)!;
    const copied = runtime.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/).at(-2));
    for (const needed of ['/app/node_modules', '/src/dist', 'package.json', 'proto', 'policies'])
      expect(copied).toContain(needed);
    expect(runtime.some((i) => i.op === 'RUN' && i.args.includes('npm'))).toBe(false);
  });

  it('pins every base image by tag, and the final stage runs as a numeric non-root user', () => {
    for (const stage of stages()) {
      const image = stage[0].args.split(/\s+/)[0];
      expect(image).toMatch(/^node:20[\w.-]*-slim$/);
    }
    const users = stages()
      .at(-1)!
      .filter((i) => i.op === 'USER');
    expect(users.length).toBe(1);
    const [uid, gid] = users[0].args.split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid)).toBeGreaterThan(0);
    // The Deployments run the image as this uid.
    expect(podSpec(find('control-plane', 'Deployment', 'authzd-control-plane')).securityContext.runAsUser).toBe(
      Number(uid),
    );
  });

  it('runs the CLI: ENTRYPOINT node dist/cli/main.js (built from src/cli/main.ts), CMD serve', () => {
    const runtime = stages().at(-1)!;
    expect(JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['node', 'dist/cli/main.js']);
    expect(JSON.parse(runtime.find((i) => i.op === 'CMD')!.args)).toEqual(['serve']);
    expect(existsSync(path.join(ROOT, 'src', 'cli', 'main.ts'))).toBe(true);
    expect(container(find('sidecar', 'Deployment', 'authzd-demo'), 'authzd').command).toBeUndefined();
  });

  it('everything dist/ imports at run time is a production dependency (the image has no devDependencies)', () => {
    const dist = path.join(ROOT, 'dist');
    // npm test builds dist/ first; without it this check cannot run and must fail.
    expect(existsSync(path.join(dist, 'cli', 'main.js')), 'dist/ is missing: run npm run build').toBe(true);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const builtins = new Set(builtinModules);
    const imported = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.name.endsWith('.js')) {
          const text = readFileSync(file, 'utf8');
          for (const m of text.matchAll(
            /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm,
          ))
            imported.add(m[1]);
        }
      }
    };
    walk(dist);
    const packages = [...imported]
      .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtins.has(s))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
    expect(packages.length).toBeGreaterThan(0);
    for (const name of new Set(packages)) expect(Object.keys(pkg.dependencies), name).toContain(name);
  });
});
