// Lint config. Its main job is the dependency rule of DESIGN.md: a pipeline stage imports
// only the stages before it, the pure core touches no files, network or processes, and
// the Pulumi layer reaches the core only through its public entry.
import tseslint from "typescript-eslint";

const stages = ["schema", "model", "validate", "render", "state", "plan", "apply-script"];
const effects = ["fs", "node:fs", "fs/promises", "node:fs/promises", "net", "node:net", "child_process", "node:child_process", "ssh2", "http", "node:http", "https", "node:https", "dgram", "node:dgram"];

/** Stage N may import stages 0..N-1 (and itself); everything after it is forbidden. */
function stageRule(index) {
  const later = [...stages.slice(index + 1), "ssh", "cli"];
  return {
    files: [`src/${stages[index]}/**/*.ts`],
    rules: {
      "no-restricted-imports": ["error", {
        paths: effects.map((name) => ({ name, message: "the pure core does no I/O: move this to src/ssh or src/cli" })),
        patterns: [
          { group: later.map((s) => `**/${s}/**`), message: `src/${stages[index]} may import only earlier pipeline stages (${stages.slice(0, index).join(", ") || "none"})` },
          { group: ["@pulumi/*"], message: "the core imports no Pulumi: that is components/" },
          { group: ["**/compile.js", "**/index.js"], message: "stages do not import the pipeline entry points" },
        ],
      }],
    },
  };
}

export default tseslint.config(
  // generated code (npm run schema) is checked by its staleness test, not linted
  { ignores: ["dist/**", "node_modules/**", "tmp/**", ".lab-cache/**", "src/schema/generated/**"] },
  {
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-restricted-syntax": ["error", { selector: "CallExpression[callee.property.name='only']", message: "no .only in tests" }],
    },
  },
  ...stages.map((_, i) => stageRule(i)),
  {
    files: ["src/compile.ts", "src/index.ts", "src/issues.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: effects.map((name) => ({ name, message: "the pure core does no I/O" })),
        patterns: [{ group: ["@pulumi/*", "**/ssh/**", "**/cli/**"], message: "the pure core imports no Pulumi, SSH or CLI" }],
      }],
    },
  },
  {
    // importers turn foreign configs into specs: they may use every pure stage, but no I/O
    files: ["src/import/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: effects.map((name) => ({ name, message: "the pure core does no I/O: the CLI reads the files" })),
        patterns: [{ group: ["@pulumi/*", "**/ssh/**", "**/cli/**", "**/plan/**", "**/apply-script/**"], message: "importers use only schema, model, validate, render and state" }],
      }],
    },
  },
  {
    // the transport's public entry (pulumi-ipvs/remote): the core and src/ssh, nothing else
    files: ["src/remote.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@pulumi/*", "**/cli/**", "**/components/**"], message: "the transport entry exports the core's I/O side only: no CLI, no Pulumi" }] }],
    },
  },
  {
    files: ["src/ssh/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@pulumi/*", "**/cli/**"], message: "src/ssh is a transport: no Pulumi, no CLI" }] }],
    },
  },
  {
    files: ["src/cli/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["@pulumi/*", "**/components/**"], message: "the CLI runs without Pulumi" }] }],
    },
  },
  {
    files: ["components/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{
          group: ["../src/*/**", "../../src/*/**", "../src/compile.js", "../src/issues.js"],
          message: "components import the core only through its public entries (src/index.js, and src/remote.js for the director transport)",
        }],
      }],
    },
  },
);
