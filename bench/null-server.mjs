// The transport ceiling: an ext_authz server with the same grpc-js and authzd's own proto that answers OK
// to every Check without looking at it. Whatever authzd's throughput is, it cannot beat this.
//
//   node bench/null-server.mjs [--grpc-addr 127.0.0.1:9191] [--admin-addr 127.0.0.1:9192]
//
// Like authzd it serves /metrics (authzd_decisions_total, so the harness cross-checks load-generator counts
// against the server's own the same way for both) and /readyz on the admin address.
import http from 'node:http';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EXT_AUTHZ_PROTO, PROTO_LOADER_OPTIONS } from './lib/check-requests.mjs';

const { values } = parseArgs({
  options: {
    'grpc-addr': { type: 'string', default: '127.0.0.1:9191' },
    'admin-addr': { type: 'string', default: '127.0.0.1:9192' },
  },
});

// The same loader options as src/server/load-protos.ts, so requests are decoded exactly as authzd decodes them.
const definition = protoLoader.loadSync([EXT_AUTHZ_PROTO], PROTO_LOADER_OPTIONS);
const service = grpc.loadPackageDefinition(definition).envoy.service.auth.v3.Authorization.service;

let answered = 0;
const OK = { status: { code: grpc.status.OK }, ok_response: {} };
const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
server.addService(service, {
  Check(_call, callback) {
    answered++;
    callback(null, OK);
  },
});

const [host, port] = splitAddress(values['admin-addr']);
const admin = http.createServer((req, res) => {
  const url = (req.url ?? '/').split('?')[0];
  if (url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      '# HELP authzd_decisions_total Check calls answered.\n# TYPE authzd_decisions_total counter\n' +
        `authzd_decisions_total{decision="allow",reason="ok",route="",source="null"} ${answered}\n`,
    );
  } else if (url === '/readyz' || url === '/healthz') res.writeHead(200).end('ready\n');
  else res.writeHead(404).end('not found\n');
});

server.bindAsync(values['grpc-addr'], grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
  if (err) {
    process.stderr.write(`null-server: ${err.message}\n`);
    process.exit(1);
  }
  admin.listen(port, host, () =>
    process.stderr.write(
      `${JSON.stringify({ msg: 'null server ready', grpcPort: boundPort, adminPort: admin.address().port })}\n`,
    ),
  );
});

const stop = () => {
  admin.close();
  admin.closeAllConnections();
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

function splitAddress(address) {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}
