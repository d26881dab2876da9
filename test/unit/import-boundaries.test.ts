import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ESLint } from "eslint";

// The dependency rule is enforced by eslint.config.js; these cases prove the rule bites.
async function lint(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint();
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("import boundaries", () => {
  test("a stage may import earlier stages", async () => {
    assert.deepEqual(await lint("src/render/x.ts", 'import { normalize } from "../model/normalize.js";\nexport const y = normalize;\n'), []);
  });
  test("a stage may not import a later one", async () => {
    const msgs = await lint("src/render/x.ts", 'import { x } from "../plan/plan.js";\nexport const y = x;\n');
    assert.equal(msgs.length, 1);
    assert.match(msgs[0]!, /src\/render may import only earlier pipeline stages/);
  });
  test("the core does no I/O", async () => {
    const msgs = await lint("src/validate/x.ts", 'import { readFileSync } from "node:fs";\nexport const y = readFileSync;\n');
    assert.match(msgs[0] ?? "", /pure core does no I\/O/);
  });
  test("the core imports no Pulumi", async () => {
    const msgs = await lint("src/model/x.ts", 'import * as pulumi from "@pulumi/pulumi";\nexport const y = pulumi;\n');
    assert.match(msgs[0] ?? "", /imports no Pulumi/);
  });
  test("components reach the core only through its entry", async () => {
    assert.deepEqual(await lint("components/x.ts", 'import { compile } from "../src/index.js";\nexport const y = compile;\n'), []);
    const msgs = await lint("components/x.ts", 'import { validate } from "../src/validate/validate.js";\nexport const y = validate;\n');
    assert.match(msgs[0] ?? "", /only through its public entries/);
  });
  test("components reach the director transport only through src/remote.ts", async () => {
    assert.deepEqual(await lint("components/x.ts", 'import { SshSession } from "../src/remote.js";\nexport const y = SshSession;\n'), []);
    const msgs = await lint("components/x.ts", 'import { SshSession } from "../src/ssh/ssh-session.js";\nexport const y = SshSession;\n');
    assert.match(msgs[0] ?? "", /only through its public entries/);
  });
  test("the transport entry imports no CLI and no Pulumi", async () => {
    const cli = await lint("src/remote.ts", 'export { runCli } from "./cli/cli.js";\n');
    assert.match(cli[0] ?? "", /transport entry/);
    const pulumi = await lint("src/remote.ts", 'import * as pulumi from "@pulumi/pulumi";\nexport const y = pulumi;\n');
    assert.match(pulumi[0] ?? "", /transport entry/);
  });
});
