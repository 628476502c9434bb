/** The MemoryInspection API's fixed names (DESIGN.md). */
export const GROUP = "memlens.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "MemoryInspection";
export const PLURAL = "memoryinspections";
export const SINGULAR = "memoryinspection";
export const SHORT_NAMES = ["mi"];
export const CONTROLLER_NAME = "memlens.dev/controller";
