import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// This file compiles to dist/src/package-root.js: the package's root is three levels up, wherever
// the package is installed and whatever the working directory is.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A file shipped with the package (examples, config, the demo's recording), by its path in the repository. */
export function packagePath(...parts: string[]): string {
  return join(ROOT, ...parts);
}
