/**
 * The apply script's verification picks, from a 10,000-line table, the lines of the services
 * the batches touched. It does so faster than it used to (a selector from fields 2-4 instead
 * of a loop over the fields; grep -F first for a few services): the lines picked must be
 * exactly the ones the old loop picked, for near-identical selectors (fwmark 8 / 8 -6 / 18,
 * port 80 / 8080, IPv6) and random tables, under the host's sh + awk and busybox's.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { APPLY_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { serviceSelector } from "../../src/model/service-key.js";
import { renderIpvsadmRules } from "../../src/render/render-ipvsadm-rules.js";
import { arbIpvsTable, FC_SEED } from "../support/arbitraries.js";

const work = mkdtempSync(join(tmpdir(), "ipvsc-verify-select-"));
after(() => rmSync(work, { recursive: true, force: true }));

// the script's functions without its main part, then one call
const functions = APPLY_SCRIPT.slice(0, APPLY_SCRIPT.indexOf("\nUSAGE="));
const harness = join(work, "harness.sh");
writeFileSync(harness, `${functions}\nD=$1\ncase "$2" in\n  select) only_selected "$D/verify.selectors" "$D/table" ;;\n  selectors) selectors_of "$D/table" ;;\nesac\n`);

/** The loop the script used before, kept here as the reference. */
const LOOP_SELECTOR = `s = ""; for (i = 2; i <= NF; i++) { if ($i == "-s" || $i == "-r") break; s = s (s == "" ? "" : " ") $i }`;

interface Shell {
  name: string;
  run: (args: string[], script?: string) => { status: number | null; stdout: string; stderr: string };
}
const SHELLS: Shell[] = [
  { name: "sh + host awk", run: (args, script = harness) => spawnSync("sh", [script, ...args], { encoding: "utf8" }) },
];
const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => existsSync(p));
if (busybox) {
  const bin = join(work, "busybox-bin");
  mkdirSync(bin);
  for (const applet of ["awk", "sh", "cat", "sed", "sort", "grep"]) symlinkSync(busybox, join(bin, applet));
  SHELLS.push({
    name: "busybox sh + busybox applets",
    run: (args, script = harness) => spawnSync(join(bin, "sh"), [script, ...args], { encoding: "utf8", env: { PATH: bin } }),
  });
}

let seq = 0;
/** Runs only_selected and the reference loop on `table` for `selectors`; returns both outputs. */
function selectBoth(shell: Shell, table: string, selectors: string[]): { fast: string; loop: string } {
  const dir = join(work, `case-${++seq}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "table"), table);
  writeFileSync(join(dir, "verify.selectors"), selectors.length === 0 ? "" : `${selectors.join("\n")}\n`);
  const fast = shell.run([dir, "select"]);
  assert.equal(fast.status, 0, fast.stderr);
  const loopScript = join(dir, "loop.sh");
  writeFileSync(loopScript, `awk 'NR == FNR { want[$0] = 1; next } { ${LOOP_SELECTOR} if (s in want) print }' "$1/verify.selectors" "$1/table"\n`);
  const loop = shell.run([dir], loopScript);
  assert.equal(loop.status, 0, loop.stderr);
  return { fast: fast.stdout, loop: loop.stdout };
}

/** Services whose selectors differ by one token or one digit: a loose match would mix them up. */
const TRICKY = [
  "-A -t 203.0.113.1:80 -s wlc",
  "-a -t 203.0.113.1:80 -r 192.0.2.1:80 -m -w 1",
  "-A -t 203.0.113.1:8080 -s rr",
  "-a -t 203.0.113.1:8080 -r 192.0.2.1:80 -m -w 2 -x 5 -y 2",
  "-A -t 203.0.113.11:80 -s wlc",
  "-a -t 203.0.113.11:80 -r 192.0.2.2:80 -g -w 1",
  "-A -u 203.0.113.1:80 -s sh -b sh-port",
  "-a -u 203.0.113.1:80 -r 192.0.2.1:80 -m -w 1",
  "-A --sctp-service 203.0.113.1:80 -s rr",
  "-A -f 8 -s wlc -p 360",
  "-a -f 8 -r 192.0.2.1:0 -g -w 1",
  "-A -f 8 -6 -s wlc",
  "-a -f 8 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type ipip",
  "-A -f 18 -s wlc",
  "-a -f 18 -r 192.0.2.8:0 -g -w 1",
  "-A -t [2001:db8::1]:80 -s wlc",
  "-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1",
  "-A -t [2001:db8::11]:80 -s wlc",
].join("\n") + "\n";
const TRICKY_SELECTORS = ["-t 203.0.113.1:80", "-t 203.0.113.1:8080", "-t 203.0.113.11:80", "-u 203.0.113.1:80", "--sctp-service 203.0.113.1:80", "-f 8", "-f 8 -6", "-f 18", "-t [2001:db8::1]:80", "-t [2001:db8::11]:80"];
/** Selectors of services that are not in any table here: 20 of them take the awk-only path. */
const ABSENT = Array.from({ length: 20 }, (_, i) => `-t 198.51.100.${i + 1}:80`);

describe("verification picks exactly the touched services' lines", () => {
  for (const shell of SHELLS) {
    test(`each tricky selector alone and all together, with few and with many selectors (${shell.name})`, () => {
      for (const sel of TRICKY_SELECTORS) {
        for (const extra of [[], ABSENT]) {
          const { fast, loop } = selectBoth(shell, TRICKY, [sel, ...extra]);
          assert.equal(fast, loop, `${sel} (+${extra.length})`);
          assert.ok(fast.length > 0, sel);
        }
      }
      const all = selectBoth(shell, TRICKY, TRICKY_SELECTORS);
      assert.equal(all.fast, all.loop);
      assert.equal(all.fast, TRICKY);
      assert.equal(selectBoth(shell, TRICKY, []).fast, "");
    });

    test(`random tables and random selections (${shell.name})`, () => {
      fc.assert(
        fc.property(arbIpvsTable(), fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.boolean(), (table, pick, many) => {
          const rules = renderIpvsadmRules(table);
          const selectors = table.services.filter((_, i) => pick[i]).map((s) => serviceSelector(s.key));
          const { fast, loop } = selectBoth(shell, rules, many ? [...selectors, ...ABSENT] : selectors);
          assert.equal(fast, loop);
        }),
        { seed: FC_SEED, numRuns: 40 },
      );
    });

    test(`selectors_of names the service of every kind of rule line (${shell.name})`, () => {
      const dir = join(work, `sel-${++seq}`);
      mkdirSync(dir);
      const lines = [...TRICKY.trim().split("\n"), "-D -t 203.0.113.1:80", "-D -f 8 -6", "-d -f 8 -r 192.0.2.1:0", "-E -t [2001:db8::1]:80 -s rr", "-e -f 8 -6 -r [2001:db8::1]:0 -i -w 0 --tun-type ipip"];
      writeFileSync(join(dir, "table"), `${lines.join("\n")}\n`);
      const r = shell.run([dir, "selectors"]);
      assert.equal(r.status, 0, r.stderr);
      const expected = lines.map((l) => {
        const t = l.split(" ");
        const out: string[] = [];
        for (const tok of t.slice(1)) {
          if (tok === "-s" || tok === "-r") break;
          out.push(tok);
        }
        return out.join(" ");
      });
      assert.deepEqual(r.stdout.trim().split("\n"), expected);
    });
  }
});
