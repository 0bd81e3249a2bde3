// Why the publication gate refused a policy set: the closed set of `reason`s of a `policy_rejected` answer,
// the `reason` label of authzd_cp_publish_rejections_total and the `reason` of the log line. docs/control-plane.md
// has a row for each; test/unit/control-plane/control-plane-docs-sync.test.ts keeps the two in step.

export const PUBLISH_REJECTIONS = {
  policy_unreadable: 'The policy directory or its tests/ folder could not be read.',
  policy_invalid:
    'The set does not compile: a Cedar parse error, schema validation, routes.yaml against the schema, or entities.json.',
  policy_tests_invalid:
    'The set compiles, but a file in its tests/ folder is not a valid policy test file, so the tests cannot run.',
  policy_tests_failed:
    'The set compiles, but cases of its policy tests (tests/*.yaml) fail: it decides differently from what they expect.',
  bundle_unbuildable: 'A file name or text that a bundle cannot carry.',
} as const satisfies Record<string, string>;

export type PublishRejection = keyof typeof PUBLISH_REJECTIONS;

export const PUBLISH_REJECTION_REASONS = Object.keys(PUBLISH_REJECTIONS) as PublishRejection[];
