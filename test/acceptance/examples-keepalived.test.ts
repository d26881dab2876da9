/**
 * Every director's keepalived.conf of every example passes the real `keepalived -t -e`:
 * rc 0 and an empty stderr (any warning makes rc 5). Each check runs in a throwaway network
 * namespace with the director's interfaces, with the VRRP password includes written next to
 * the config (see test/support/keepalived-check.ts); so does the config `pulumi destroy`
 * installs (the same director without the spec's services and VRRP instances). Skipped loudly when keepalived, root
 * or `ip netns` is missing; under CI=true or IPVS_LAB=required that is a failure instead.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { compileText } from "../../src/compile.js";
import { formatIssues } from "../../src/issues.js";
import { teardownKeepalivedConf } from "../../components/ipvs-director.js";
import { exampleSpecs } from "../support/example-specs.js";
import { checkDirector, checkKeepalivedConf, interfacesOf, keepalivedSkip } from "../support/keepalived-check.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = exampleSpecs(ROOT).map((e) => e.file);

const skip = await keepalivedSkip();

describe("keepalived -t -e accepts every director's config of every example", { skip }, () => {
  for (const file of EXAMPLES) {
    const path = `examples/${file}`;
    const result = compileText(readFileSync(join(ROOT, path), "utf8"), path);

    test(`${path} compiles`, () => {
      assert.ok(result.ok, formatIssues(result.issues));
    });
    if (!result.ok) continue;

    const { model } = result.output;
    test(`${path} has at least one director`, () => {
      assert.ok(model.directors.length > 0);
    });
    for (const director of model.directors) {
      test(`${path}: director ${director.name}`, async () => {
        const r = await checkDirector(model, director);
        const context = `keepalived -t -e for ${director.name} of ${path}: rc ${r.code}\n--- stderr\n${r.stderr}\n--- config\n${r.conf}`;
        assert.equal(r.code, 0, context);
        assert.equal(r.stderr, "", context);
      });
      // what `pulumi destroy` installs: none of the spec's virtual servers and VRRP instances
      test(`${path}: director ${director.name}, its teardown config`, async () => {
        const conf = teardownKeepalivedConf(result.output, director.name);
        assert.doesNotMatch(conf, /virtual_server|vrrp_instance|vrrp_sync_group|lvs_sync_daemon|include/);
        const r = await checkKeepalivedConf(conf, { interfaces: interfacesOf(model, director) });
        assert.equal(r.code, 0, `${r.stderr}\n${conf}`);
        assert.equal(r.stderr, "", conf);
      });
    }
  }
});
