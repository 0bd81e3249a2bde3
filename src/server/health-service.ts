import * as grpc from '@grpc/grpc-js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

// grpc.health.v1: "" is the server as a whole; the Authorization service is reported under its full name.
export const HEALTH_SERVICES = ['', 'envoy.service.auth.v3.Authorization'] as const;

/** Serving status shared by the gRPC health service, /readyz and the authzd_ready metric. */
export class Readiness {
  #status: ServingStatus = 'NOT_SERVING';
  readonly #watchers = new Set<(status: ServingStatus) => void>();

  get serving(): boolean {
    return this.#status === 'SERVING';
  }

  get status(): ServingStatus {
    return this.#status;
  }

  set(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const watch of this.#watchers) watch(status);
  }

  watch(fn: (status: ServingStatus) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }
}

export function healthHandlers(readiness: Readiness): grpc.UntypedServiceImplementation {
  const known = (service: string | undefined) => (HEALTH_SERVICES as readonly string[]).includes(service ?? '');
  return {
    Check(call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      if (!known(call.request.service)) return callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      callback(null, { status: readiness.status });
    },
    Watch(call: grpc.ServerWritableStream<{ service?: string }, unknown>) {
      if (!known(call.request.service)) {
        call.write({ status: 'SERVICE_UNKNOWN' });
        return;
      }
      call.write({ status: readiness.status });
      const stop = readiness.watch((status) => call.write({ status }));
      call.on('cancelled', stop);
      call.on('close', stop);
    },
  };
}
