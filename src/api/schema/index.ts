// Structural schemas of the served types: what OpenAPI publishes, what strict field validation
// checks, and the list and map markers that strategic merge patch and server-side apply use.
export type { SchemaNode } from './types.ts';
export { schemaFor, isCustomResourceSchema } from './nodes.ts';
export { openApiDefinitions, definitionNameFor, resolveRef, schemaRefPrefix, type OpenApiSchema, type GroupVersionKindExtension } from './definitions.ts';
export {
  unknownFields,
  unknownFieldMessage,
  unknownFieldWarnings,
  strictDecodingMessage,
  strictDecodingError,
  cannotBeHandledMessage,
} from './strict.ts';
export { typeErrors, jsonTypeError, customResourceErrors } from './decode.ts';
