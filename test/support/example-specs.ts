/**
 * The example specs under examples/: `examples/NAME.yaml`, and `examples/NAME/NAME.yaml`
 * for an example that keeps other files beside its spec (examples/fleet/ holds its Pulumi
 * program too). NAME names the golden directory, test/golden/NAME/.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface ExampleSpec {
  /** the example's name: its golden directory */
  name: string;
  /** the spec's path relative to the repository root, posix (`examples/fleet/fleet.yaml`) */
  path: string;
  /** the spec's path relative to examples/ (`fleet/fleet.yaml`, `nat-web.yaml`) */
  file: string;
}

/** Every example spec of the repository at `root`, sorted by name. */
export function exampleSpecs(root: string): ExampleSpec[] {
  const dir = join(root, "examples");
  const out: ExampleSpec[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry.endsWith(".yaml") && statSync(join(dir, entry)).isFile()) {
      out.push({ name: entry.slice(0, -".yaml".length), path: `examples/${entry}`, file: entry });
    } else if (statSync(join(dir, entry)).isDirectory() && existsSync(join(dir, entry, `${entry}.yaml`))) {
      out.push({ name: entry, path: `examples/${entry}/${entry}.yaml`, file: `${entry}/${entry}.yaml` });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
