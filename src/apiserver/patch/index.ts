// Patch and apply semantics, as pure functions: objects in, objects out, ApiError out.
//
// PATCH …/{name}[/{subresource}]:
//   const type = patchTypeFor(req.headers['content-type'], resource.group); // 415 here (CRDs: no strategic merge)
//   validatePatchOptions(type, { fieldManager, force, dryRun, fieldValidation }); // 422 PatchOptions
//   const manager = fieldManager || managerFromUserAgent(req.headers['user-agent']);
//   const { object, warnings } = patchObject(type, live /* undefined if absent */, bodyText, {
//     target: { group, version, kind, resource, namespace /* "" if cluster-scoped */, name },
//     schema: schemaFor(gvk), manager, force, fieldValidation, now: new Date(), subresource,
//     resetFields: [['status']] /* main resource; e.g. [['spec']] for /status */, defaulter,
//   });
//   // json/merge/strategic need live (404 otherwise); apply with no live creates: answer 201.
//   // The caller still validates, checks resourceVersion preconditions, and stores.
//
// POST (create) and PUT (update), after decoding and defaulting:
//   obj = updateManagedFields(undefined /* create */ | live, obj, { schema, manager, now, subresource, resetFields });
//   (manager: fieldManager, else managerFromUserAgent; kubectl sends kubectl-create,
//   kubectl-client-side-apply, kubectl-edit, ...)
//
// Every object that passes through gets metadata.managedFields as kube-apiserver keeps it: Apply
// and Update entries, FieldsV1 encoding, RFC 3339 times, conflicts worded as kube-apiserver
// words them. A managedFields list written directly (kubectl's migration of client-side apply
// ownership patches it with a JSON patch) is honoured on the next write.
export {
  patchObject,
  updateManagedFields,
  patchTypeFor,
  supportedPatchTypes,
  patchContentTypes,
  validatePatchOptions,
  managerFromUserAgent,
  fieldManagerErrors,
  type PatchType,
  type PatchOptions,
  type PatchContext,
  type PatchResult,
  type ManagedFieldsContext,
  type WriteTarget,
} from './write.ts';
export { parseGoJson, GoJsonSyntaxError } from './go.ts';
export { dropUndeclared as dropUndeclaredFields } from './typed.ts';
export type { Json } from './go.ts';
