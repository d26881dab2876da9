/**
 * The JSON Schema for YAML/JSON spec files, generated from the zod schema (never written by
 * hand). scripts/write-json-schema.ts writes it to schema/ipvs-spec.schema.json for editors;
 * a test fails when the shipped file and the generated one differ.
 */
import { z } from "zod";
import { Spec } from "./spec-schema.js";

/** Where the schema is published inside the package. */
export const JSON_SCHEMA_FILE = "schema/ipvs-spec.schema.json";

/** Where the precompiled ajv validator of the schema lives (see scripts/write-json-schema.ts). */
export const SCHEMA_VALIDATOR_FILE = "src/schema/generated/validate-spec-file.ts";

/** The generated JSON Schema (draft 2020-12) describing spec files as users write them. */
export function specJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Spec, { io: "input", unrepresentable: "any", target: "draft-2020-12" });
  return { ...schema, $id: "https://pulumi-ipvs.dev/schema/ipvs-spec.schema.json", title: "pulumi-ipvs spec" };
}

/** The schema file text: stable key order as zod emits it, two-space indent, final newline. */
export function specJsonSchemaText(): string {
  return `${JSON.stringify(specJsonSchema(), null, 2)}\n`;
}
