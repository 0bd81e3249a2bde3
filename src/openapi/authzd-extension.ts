// `x-authzd`: what an API team writes into its OpenAPI document to steer the import. docs/openapi.md
// lists every key (test/unit/openapi/openapi-docs-sync.test.ts keeps the list and this schema equal).
import { z } from 'zod';

import { RISK_CLASSES } from '../contract/risk-class.js';

const ResourceSchema = z.strictObject({
  /** Cedar entity type of the resource, in routes.yaml's namespace unless it has `::`. */
  type: z.string().min(1).optional(),
  /** A path parameter's name, or an id template such as "{owner}/{repo}", or a literal id. */
  id: z.string().min(1).optional(),
});

const shape = {
  /** Leave the operation out of routes.yaml (OPTIONS and TRACE are left out unless this is false). */
  skip: z.boolean().optional(),
  /** Cedar action id (default: the operationId). */
  action: z.string().min(1).optional(),
  resource: ResourceSchema.optional(),
  /** Risk class of the route. */
  risk: z.enum(RISK_CLASSES).optional(),
  /** Tokenless mTLS workloads may call the route (routes.yaml allowWorkloads). */
  allowWorkloads: z.boolean().optional(),
};

/** `x-authzd` on an operation. */
export const OperationExtensionSchema = z.strictObject({
  ...shape,
  /** Route id in routes.yaml (default: from the operationId). */
  id: z.string().min(1).optional(),
});

/** `x-authzd` on a path item: defaults for each of its operations (a route id is per operation). */
export const PathItemExtensionSchema = z.strictObject(shape);

export type AuthzdExtension = z.output<typeof OperationExtensionSchema>;

/** Operation keys win over the path item's; `resource` is merged field by field. */
export function mergeExtensions(pathItem: AuthzdExtension, operation: AuthzdExtension): AuthzdExtension {
  const resource =
    pathItem.resource !== undefined || operation.resource !== undefined
      ? { ...pathItem.resource, ...operation.resource }
      : undefined;
  return { ...pathItem, ...operation, ...(resource !== undefined ? { resource } : {}) };
}
