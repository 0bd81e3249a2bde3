import * as grpc from '@grpc/grpc-js';

import { httpAnswer } from '../check/http-answer.js';
import type { Config } from '../config/config-schema.js';
import type { CheckRequestMessage } from '../contract/check-request.js';
import { REASONS } from '../contract/reasons.js';
import type { CheckRunner } from './check-runner.js';
import { toCheckResponse } from './to-check-response.js';

/**
 * The gRPC transport of ext_authz v3 `Check` (the HTTP one is http-authz-server.ts): Envoy's deadline in,
 * the runner's outcome out. A decision becomes a CheckResponse; an error reason becomes the gRPC status its
 * REASONS entry names, so Envoy's failure_mode_allow and status_on_error apply.
 */
export function grpcCheckService(runner: CheckRunner, config: Config): grpc.UntypedServiceImplementation {
  return {
    Check(call: grpc.ServerUnaryCall<CheckRequestMessage, unknown>, callback: grpc.sendUnaryData<unknown>) {
      // grpc-timeout from Envoy (its ext_authz `timeout`); Infinity when the caller set none.
      const deadline = call.getDeadline();
      const deadlineMs =
        deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
      void runner.run(call.request, deadlineMs).then((outcome) => {
        if (outcome.kind === 'error')
          callback({ code: grpc.status[REASONS[outcome.failure.reason].status], details: outcome.failure.reason });
        else callback(null, toCheckResponse(outcome.decision, httpAnswer(outcome.decision, config)));
      });
    },
  };
}
