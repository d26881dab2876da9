/**
 * Writes the generated JSON Schema to schema/ipvs-spec.schema.json and its precompiled ajv
 * validator to src/schema/generated/validate-spec-file.ts (run: npm run schema). Tests fail
 * when either is stale.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { JSON_SCHEMA_FILE, SCHEMA_VALIDATOR_FILE, specJsonSchemaText } from "../src/schema/json-schema.js";
import { schemaValidatorSource } from "./schema-validator-source.js";

for (const [file, text] of [[JSON_SCHEMA_FILE, specJsonSchemaText()], [SCHEMA_VALIDATOR_FILE, schemaValidatorSource()]] as const) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
