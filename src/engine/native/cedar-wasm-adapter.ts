import { cedar } from '../../cedar/cedar.js';

/**
 * The native engine's one use of cedar-wasm: Cedar schema text (`.cedarschema`) to Cedar's JSON schema
 * format, which buildSchema reads. Schemas hold no integer literals, so the JSON interface loses nothing
 * here (policies, which do, are parsed natively). authzd's compiled policy model already carries the
 * schema as JSON (PolicyModel.schemaJson); this is for tools and tests that start from text.
 */
export function schemaTextToJson(text: string): unknown {
  const answer = cedar.schemaToJson(text);
  if (answer.type === 'failure') throw new Error(`schema: ${answer.errors.map((e) => e.message).join('; ')}`);
  return answer.json;
}
