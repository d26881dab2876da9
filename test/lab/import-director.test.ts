/**
 * `ipvsc import --director` adopts a running director without touching it: a director set
 * up by hand (NAT services loaded with `ipvsadm -R`, a hand-written keepalived.conf whose
 * health-checked virtual_server sits in an included file, keepalived started by hand) is
 * imported over SSH into one spec; `ipvsc plan` of that spec lists no operation and no
 * foreign service, only the adoption (and keepalived's reload onto the rendered file, whose
 * text differs from the hand-written one while it means the same); `ipvsc apply --yes` then
 * leaves `ipvsadm -S -n` byte for byte as it was and keepalived's process the same, and the
 * next plan is empty.
 *
 * Run: IPVS_LAB=required node --import tsx --test test/lab/import-director.test.ts
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import type { Plan } from "../../src/plan/plan-types.js";
import { requireLabOrSkip, VIP_V4 } from "./lab.js";
import {
  DIRECTOR_NAME, keepalivedPid, liveRules, liveRulesBytes, resetDirector, rsAddress, sortedRules, waitFor,
  useLabDirector,
} from "./support/rollout-harness.js";

const [rs1, rs2, rs3] = [rsAddress(1), rsAddress(2), rsAddress(3)];
const WEB = VIP_V4(20);
const SH = VIP_V4(21);
const CHECKED = VIP_V4(22);

/** What an operator loaded by hand: a few NAT services, thresholds and persistence among them. */
const HAND_RULES = [
  `-A -t ${WEB}:80 -s wrr`,
  `-a -t ${WEB}:80 -r ${rs1}:80 -m -w 2`,
  `-a -t ${WEB}:80 -r ${rs2}:80 -m -w 1 -x 100 -y 50`,
  `-A -u ${WEB}:5353 -s rr`,
  `-a -u ${WEB}:5353 -r ${rs1}:5353 -m -w 1`,
  `-a -u ${WEB}:5353 -r ${rs3}:5353 -m -w 1`,
  `-A -t ${SH}:8080 -s sh -p 300 -b sh-port`,
  `-a -t ${SH}:8080 -r ${rs2}:8080 -m -w 1`,
  `-a -t ${SH}:8080 -r ${rs3}:8080 -m -w 3`,
].join("\n");

/** A keepalived.conf as an operator writes it (not rendered by pulumi-ipvs), the pool in an include. */
const HAND_KEEPALIVED_CONF = `! Configuration File for keepalived on lab1
! maintained by hand

global_defs {
   router_id lab1
}

include conf.d/*.conf
`;

const HAND_POOL_CONF = `# the checked web pool
virtual_server ${CHECKED} 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP

    real_server ${rs1} 80 {
        weight 1
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }

    real_server ${rs3} 80 {
        weight 2
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
}
`;

const CHECKED_RULES = sortedRules(`-A -t ${CHECKED}:80 -s rr\n-a -t ${CHECKED}:80 -r ${rs1}:80 -m -w 1\n-a -t ${CHECKED}:80 -r ${rs3}:80 -m -w 2`);

describe("ipvsc import --director on a real director", { timeout: 170_000 }, () => {
  const { director, ws } = useLabDirector({
    bootTimeoutMs: 120_000,
    beforeClose: async (d) => void (await d.exec("p=$(cat /run/keepalived.pid 2>/dev/null) && kill \"$p\"")),
  });

  it("imports a hand-made director; plan shows only the adoption; apply leaves the table bytes and keepalived's process alone", { timeout: 150_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab, HAND_RULES);
    await lab.run("rm -rf /etc/keepalived/conf.d && mkdir -p /etc/keepalived/conf.d");
    await lab.run("cat > /etc/keepalived/keepalived.conf", { stdin: HAND_KEEPALIVED_CONF });
    await lab.run("cat > /etc/keepalived/conf.d/web.conf", { stdin: HAND_POOL_CONF });
    await lab.run("keepalived -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid");
    const handTable = sortedRules(`${HAND_RULES.replace(/ -x \d+ -y \d+/g, "")}\n${CHECKED_RULES}`);
    assert.ok(await waitFor(async () => (await liveRules(lab)) === handTable, 15_000), `keepalived loaded its pool: ${await liveRules(lab)}`);
    const pid = await keepalivedPid(lab);
    assert.ok(pid !== undefined, "keepalived runs");
    const bytes = await liveRulesBytes(lab);

    // import over SSH
    const imported = await ws.cli([
      "import", "--director", DIRECTOR_NAME, "--host", "127.0.0.1", "--port", String(lab.sshPort),
      "--host-key", lab.hostKey, "-i", lab.privateKeyPath, "-o", "spec.yaml", "--typescript", "spec.ts",
    ]);
    assert.equal(imported.code, 0, imported.out + imported.err);
    assert.match(imported.err, /lab1: 1 service\(s\) from keepalived\.conf, 3 from the table/);
    assert.match(imported.err, /imported 4 services \(1 keepalived-owned, 3 applier-owned\), 0 VRRP instances; 0 warnings/);
    assert.match(imported.err, /keepalived\.conf: the spec renders another text with the same meaning/);
    assert.equal(statSync(join(ws.dir, "spec.yaml")).mode & 0o777, 0o644);
    const spec = parseYaml(readFileSync(join(ws.dir, "spec.yaml"), "utf8")) as {
      directors: { name: string; interfaces: string[]; ssh: Record<string, unknown> }[];
      services: { name: string; pool: { healthChecks?: unknown[]; servers: { upperThreshold?: number }[] } }[];
    };
    assert.deepEqual(spec.directors.map((x) => x.name), [DIRECTOR_NAME]);
    assert.deepEqual(spec.directors[0]!.ssh, { host: "127.0.0.1", port: lab.sshPort, user: "root", hostKey: lab.hostKey, privateKeyPath: lab.privateKeyPath });
    for (const i of ["eth0", "vc0", "vr1", "vr2", "vr3"]) assert.ok(spec.directors[0]!.interfaces.includes(i), `interface ${i} listed: ${spec.directors[0]!.interfaces.join(" ")}`);
    assert.ok(!spec.directors[0]!.interfaces.includes("lo"));
    assert.equal(spec.services.filter((s) => (s.pool.healthChecks ?? []).length > 0).length, 1);
    assert.ok(spec.services.some((s) => s.pool.servers.some((rs) => rs.upperThreshold === 100)), "thresholds carried over");
    assert.match(readFileSync(join(ws.dir, "spec.ts"), "utf8"), /compile\(/);

    // the plan: nothing but the adoption (and keepalived onto the rendered text)
    const planned = await ws.cli(["plan", "spec.yaml", "-f", "json"]);
    assert.equal(planned.code, 0, planned.out + planned.err);
    const plan = JSON.parse(planned.out) as Plan;
    const dp = plan.directors.find((x) => x.director === DIRECTOR_NAME)!;
    assert.deepEqual(dp.operations, [], "no operation");
    assert.deepEqual(dp.foreign, [], "every live service is declared");
    assert.deepEqual([...(dp.adopting ?? [])].sort(), spec.services.map((s) => s.name).sort(), "every service is adopted");
    assert.deepEqual(dp.batches, { apply: [], drain: [], finalize: [], rollback: [], removedSelectors: [] }, "no ipvsadm command");
    // the hand-written keepalived.conf is not the text the spec renders: the only change is that file
    assert.equal(dp.keepalived.action, "reload");
    assert.equal(dp.keepalived.configChanged, true);
    assert.match(dp.keepalived.diff, /^-include conf\.d\/\*\.conf$/m);
    const text = await ws.cli(["plan", "spec.yaml"]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /director lab1: 0 change\(s\): 0 in-place, 0 draining, 0 disruptive/);
    assert.match(text.out, /= adopt .*: on the director already, recorded as owned by ipvsc \(no kernel change\)/);
    if (process.env.IPVS_LAB_VERBOSE === "1") {
      process.stderr.write(`${imported.err}\n${readFileSync(join(ws.dir, "spec.yaml"), "utf8")}\n${text.out}\n`);
    }
    const listed = text.out.split("\n").filter((l) => /^ {2}[+~v!=-] /.test(l));
    assert.equal(listed.length, 2, `only the adoption and keepalived's reload are listed:\n${text.out}`);
    assert.match(listed[1]!, /^ {2}~ keepalived: reload$/);

    // apply: the ownership record and the rendered keepalived.conf; the table and keepalived's process stay
    const applied = await ws.cli(["apply", "spec.yaml", "--yes"]);
    assert.equal(applied.code, 0, applied.out + applied.err);
    assert.match(applied.out, /ipvsc: applying 0 ipvsadm change\(s\)/);
    assert.match(applied.out, /ipvsc: keepalived: reload/);
    assert.match(applied.out, /lab1: applied; the director is in its NEW state/);
    if (process.env.IPVS_LAB_VERBOSE === "1") process.stderr.write(applied.out);
    await new Promise((r) => setTimeout(r, 2500)); // keepalived's reload and a round of checks
    assert.equal(await liveRulesBytes(lab), bytes, "ipvsadm -S -n byte for byte as before");
    assert.equal(await keepalivedPid(lab), pid, "keepalived reloaded in place, not restarted");
    const record = await lab.run("cat /var/lib/ipvsc/owners/ipvsc.owned");
    for (const s of spec.services) assert.match(record, new RegExp(`^service ${s.name.replace(/\./g, "\\.")} `, "m"));

    // adopted: nothing left to do
    const again = await ws.cli(["plan", "spec.yaml"]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /director lab1: no changes/);
    const drift = await ws.cli(["drift", "spec.yaml"]);
    assert.equal(drift.code, 0, drift.out + drift.err);
    assert.match(drift.out, /lab1: in sync/);
  });

  it("refuses a director whose host key is not the pinned one, and usage errors", { timeout: 30_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const wrongKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7Jc7uZ0r3Q0k1pGm9pX2wq3a4Tn5d7kV1y8Xc9bZ0a";
    const refused = await ws.cli(["import", "--director", DIRECTOR_NAME, "--host", "127.0.0.1", "--port", String(lab.sshPort), "--host-key", wrongKey, "-i", lab.privateKeyPath]);
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(refused.err, /^ipvsc import: director \S+ \(127\.0\.0\.1:\d+\): host key differs from the pinned one \([\w@.-]+ SHA256:[A-Za-z0-9+\/]{43} offered\); not connecting$/m);
    assert.equal(refused.out, "", "nothing written");
    const noKey = await ws.cli(["import", "--director", DIRECTOR_NAME, "--host", "127.0.0.1"]);
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /--host-key/);
    const both = await ws.cli(["import", "keepalived.conf", "--director", DIRECTOR_NAME, "--host", "127.0.0.1", "--host-key", lab.hostKey]);
    assert.equal(both.code, 2);
  });
});
