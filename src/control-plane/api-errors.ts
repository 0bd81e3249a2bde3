// The closed set of error codes of the control plane's HTTP API: the `error` of every error body
// (`{"error": code, "detail": "..."}`). docs/control-plane.md has a row for each;
// test/unit/control-plane/control-plane-docs-sync.test.ts keeps the two in step.

export const API_ERRORS = {
  invalid_request: { status: 400, summary: 'The body or a query parameter is malformed; `detail` names the field.' },
  unauthorized: {
    status: 401,
    summary: 'The Authorization header is missing or does not carry a valid token for this endpoint.',
  },
  not_found: { status: 404, summary: 'No such endpoint or bundle name.' },
  method_not_allowed: {
    status: 405,
    summary: 'The endpoint exists but not for this method; `Allow` lists the methods.',
  },
  payload_too_large: {
    status: 413,
    summary: "The body exceeds the endpoint's size limit (or an uploaded archive a bundle limit).",
  },
  unsupported_media_type: {
    status: 415,
    summary:
      'A body of the wrong type: a publish body that is not `application/gzip`, a decisions body that is not `application/x-ndjson`.',
  },
  policy_rejected: {
    status: 422,
    summary:
      'The publication gate refused the policy set: it does not compile or its policy tests fail; `reason` and `problems` say why. Nothing was published.',
  },
  policy_unavailable: {
    status: 503,
    summary: 'No bundle is published yet (or no policy set is active for /v1/authorize).',
  },
  internal_error: {
    status: 500,
    summary: 'An unexpected failure; the diagnostic log has the cause under the request id.',
  },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ApiError = keyof typeof API_ERRORS;

export const API_ERROR_CODES = Object.keys(API_ERRORS) as ApiError[];
