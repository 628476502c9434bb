/** The MemoryInspection API's fixed names (DESIGN.md). */
export const GROUP = "memlens.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "MemoryInspection";
export const PLURAL = "memoryinspections";
export const SINGULAR = "memoryinspection";
export const SHORT_NAMES = ["mi"];
export const CONTROLLER_NAME = "memlens.dev/controller";

/** The API path of memlens objects of one kind (its plural): all of them, a namespace's, or one. */
export function apiPath(plural: string, namespace?: string, name?: string): string {
  const ns = namespace === undefined ? "" : `/namespaces/${namespace}`;
  return `/apis/${GROUP}/${VERSION}${ns}/${plural}${name === undefined ? "" : `/${name}`}`;
}
