/** Writes the generated JSON Schema to schema/ipvs-spec.schema.json (run: npm run schema). */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { JSON_SCHEMA_FILE, specJsonSchemaText } from "../src/schema/json-schema.js";

mkdirSync(dirname(JSON_SCHEMA_FILE), { recursive: true });
writeFileSync(JSON_SCHEMA_FILE, specJsonSchemaText());
console.log(`wrote ${JSON_SCHEMA_FILE}`);
