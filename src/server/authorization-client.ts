import * as grpc from '@grpc/grpc-js';

import { loadAuthzdProtos } from './load-protos.js';

/** A minimal ext_authz client over authzd's own protos: for `authzd check`, the demo and tests. */
export function createAuthorizationClient(address: string) {
  const protos = loadAuthzdProtos();
  const Client = grpc.makeGenericClientConstructor(protos.authorization, 'Authorization');
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check(
      request: unknown,
      options: grpc.CallOptions,
      callback: (err: grpc.ServiceError | null, response: any) => void,
    ): void;
  };
  return {
    check(request: unknown, timeoutMs = 5_000): Promise<any> {
      return new Promise((resolve, reject) => {
        client.Check(request, { deadline: Date.now() + timeoutMs }, (err, response) =>
          err ? reject(err) : resolve(response),
        );
      });
    },
    close: () => client.close(),
  };
}
