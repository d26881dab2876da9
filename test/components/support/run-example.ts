/**
 * Runs one Pulumi program of examples/ under mocks, in its own process (a program creates
 * its resources when imported, once per process), and prints what it registered (inputs,
 * options, the outputs components registered) and exported as JSON on stdout:
 *
 *   node --import tsx test/components/support/run-example.ts examples/pulumi-nat-web
 *
 * Config comes from IPVS_MOCK_CONFIG (a JSON object of key -> value, keys without the
 * project prefix) and IPVS_MOCK_SECRETS (a JSON array of the keys that are secrets).
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, valueOf } from "./mocks.js";

const dir = resolve(process.argv[2] ?? ".");
const project = /^name:\s*(\S+)\s*$/m.exec(readFileSync(join(dir, "Pulumi.yaml"), "utf8"))?.[1];
if (!project) throw new Error(`${dir}/Pulumi.yaml has no name`);

const mocks = installMocks(project, "test");
const config = JSON.parse(process.env.IPVS_MOCK_CONFIG ?? "{}") as Record<string, string>;
const secrets = JSON.parse(process.env.IPVS_MOCK_SECRETS ?? "[]") as string[];
pulumi.runtime.setAllConfig(
  Object.fromEntries(Object.entries(config).map(([k, v]) => [`${project}:${k}`, v])),
  secrets.map((k) => `${project}:${k}`),
);

const program = (await import(pathToFileURL(join(dir, "index.ts")).href)) as Record<string, unknown>;
await mocks.settle();
const exports: Record<string, { value: unknown; secret: boolean }> = {};
for (const [name, value] of Object.entries(program)) {
  const output = pulumi.output(value);
  exports[name] = { value: await valueOf(output), secret: await pulumi.isSecret(output) };
}
process.stdout.write(`${JSON.stringify({ project, resources: mocks.resources, outputs: mocks.outputs, exports })}\n`);
