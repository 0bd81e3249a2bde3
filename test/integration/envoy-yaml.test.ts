// envoy.yaml is checked against Envoy's official Bootstrap proto, field by field, including inside every
// typed_config, so the file in the README is one Envoy will load.
import { readFileSync } from 'node:fs';

import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { loadEnvoyRoot } from '../helpers/envoy-protos.js';
import { validateEnvoyConfig } from '../helpers/validate-envoy-config.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
let root: Awaited<ReturnType<typeof loadEnvoyRoot>>;
const envoyYaml = () => parse(readFileSync(new URL('../../envoy.yaml', import.meta.url), 'utf8'));

beforeAll(() => {
  root = loadEnvoyRoot([
    'envoy/config/bootstrap/v3/bootstrap.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
    'envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
    'envoy/extensions/access_loggers/stream/v3/stream.proto',
  ]);
});

describe('envoy.yaml', () => {
  it('is a valid Bootstrap: no unknown field, enum value or @type anywhere', () => {
    expect(validateEnvoyConfig(root, BOOTSTRAP, envoyYaml())).toEqual([]);
  });

  it('the validator catches a misspelt field inside typed_config (so the check above can fail)', () => {
    const config = envoyYaml();
    const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    hcm.http_filters[0].typed_config.failure_mode_alow = true;
    hcm.http_filters[0].typed_config.transport_api_version = 'V4';
    config.static_resources.clusters[0].typed_extension_protocol_options[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ]['@type'] = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOption';
    const problems = validateEnvoyConfig(root, BOOTSTRAP, config);
    expect(
      problems.some((p) =>
        p.includes('failure_mode_alow: unknown field of .envoy.extensions.filters.http.ext_authz.v3.ExtAuthz'),
      ),
    ).toBe(true);
    expect(problems.some((p) => p.includes('transport_api_version: V4 is not a value'))).toBe(true);
    expect(problems.some((p) => p.includes('HttpProtocolOption is not a known Envoy message'))).toBe(true);
  });

  it('wires ext_authz to authzd over gRPC, V3, with a timeout and fail-closed', () => {
    const config = envoyYaml();
    const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    const extAuthz = hcm.http_filters.find((f: any) => f.name === 'envoy.filters.http.ext_authz').typed_config;
    expect(extAuthz.transport_api_version).toBe('V3');
    expect(extAuthz.failure_mode_allow).toBe(false);
    expect(extAuthz.grpc_service.timeout).toMatch(/s$/);
    const cluster = config.static_resources.clusters.find(
      (c: any) => c.name === extAuthz.grpc_service.envoy_grpc.cluster_name,
    );
    expect(cluster).toBeDefined();
    const options = cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(options.explicit_http_config.http2_protocol_options).toBeDefined();
    expect(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(9191);
    // The router must come last, after ext_authz.
    expect(hcm.http_filters.at(-1).name).toBe('envoy.filters.http.router');
  });
});
