// Each distinct message sent once, alone, before any load: the server's answer in isolation, compared with
// what the scenario's design expects. It catches a broken mix (wrong token, unknown resource) before it
// is measured at full speed, and it is the reference the counters are checked against under load.
import * as grpc from '@grpc/grpc-js';
import { CHECK_METHOD, decodeDecision } from './check-requests.mjs';

const identity = (b) => b;

export async function preflight(grpcAddr, messages, { parallel = 8 } = {}) {
  const client = new grpc.Client(grpcAddr, grpc.credentials.createInsecure());
  const answers = new Array(messages.length);
  const call = (bytes) =>
    new Promise((resolve) => {
      client.makeUnaryRequest(CHECK_METHOD, identity, identity, bytes, (err, response) => {
        if (err) resolve(`error|${err.details || grpc.status[err.code]}`);
        else {
          const d = decodeDecision(response);
          resolve(`${d.decision}|${d.reason}`);
        }
      });
    });
  try {
    for (let i = 0; i < messages.length; i += parallel) {
      const part = await Promise.all(messages.slice(i, i + parallel).map((m) => call(m.bytes)));
      part.forEach((a, j) => (answers[i + j] = a));
    }
  } finally {
    client.close();
  }
  return compareAnswers(messages, answers);
}

/**
 * Answers against the design: `designed(message)` is what the message should get (default its `expect`,
 * "decision|reason"; a peer without reasons compares the decision part only). Undefined is not checked.
 */
export function compareAnswers(messages, answers, designed = (m) => m.expect) {
  const mismatches = [];
  messages.forEach((m, i) => {
    const want = designed(m);
    if (want !== undefined && want !== answers[i]) mismatches.push({ index: i, expected: m.expect, got: answers[i] });
  });
  const mix = {};
  for (const a of answers) mix[a] = (mix[a] ?? 0) + 1;
  return { answers, mismatches, mix };
}
