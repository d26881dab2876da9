/**
 * The apply's verify reads a few touched services one by one (issue #17, point 3: verify costs
 * the change, not the table): ipvsadm 1.31 cannot save one service, so the script lists each
 * with `ipvsadm -L -n --tun-info` and prints it in the save's form (listed_as_rules). On a real
 * 6.1 kernel, for a table with every kind of line and for random tables, every service listed
 * that way must read exactly as its lines in `ipvsadm -S -n`; a service that is not there reads
 * as nothing; and a listing it cannot read gives a line that never equals a save line. A real
 * `ipvsc apply` of a weight change then verifies from the listings alone, without a save; and
 * the apply of a saved plan checks its starting point the same way (the touched services only).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { APPLY_SCRIPT } from "../../src/apply-script/scripts.sh.js";
import { renderIpvsadmRules } from "../../src/render/render-ipvsadm-rules.js";
import { arbIpvsTable, FC_SEED } from "../support/arbitraries.js";
import { setTraceSink, type TraceEvent } from "../../src/ssh/trace.js";
import { bootDirectors, labStatus, requireLabOrSkip, shq, VIP_V4, type LabDirector } from "./lab.js";
import { labSpec, natService, resetDirector, RolloutWorkspace, rsAddress } from "./support/rollout-harness.js";

const RUNS = 10;

/** Every kind of save line the kernel takes: flags, persistence, masks, engine, one-packet, each tunnel and checksum. */
const EVERY_KIND = `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 5 -x 100 -y 50
-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 1
-a -t 10.0.0.1:80 -r 192.168.1.12:80 -i -w 0 --tun-type ipip
-a -t 10.0.0.1:80 -r 192.168.1.13:80 -i -w 1 --tun-type gue --tun-port 6080
-a -t 10.0.0.1:80 -r 192.168.1.14:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-csum
-a -t 10.0.0.1:80 -r 192.168.1.15:80 -i -w 1 --tun-type gue --tun-port 6082 --tun-remcsum
-a -t 10.0.0.1:80 -r 192.168.1.16:80 -i -w 1 --tun-type gre
-a -t 10.0.0.1:80 -r 192.168.1.17:80 -i -w 65535 --tun-type gre --tun-csum
-A -t 10.0.0.4:0 -s mh -p 360 -b mh-port
-A -t 10.0.0.5:443 -s wrr -p 60 -M 255.255.255.0
-a -t 10.0.0.5:443 -r 192.168.1.13:443 -m -w 0
-A -u 10.0.0.2:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.2:53 -r 192.168.1.20:53 -g -w 2
-A -u 10.0.0.3:5060 -s rr -p 60 --pe sip
-A -t 10.0.0.6:81 -s rr -b flag-1,flag-3
-A --sctp-service 10.0.0.9:99 -s lc -p 30
-a --sctp-service 10.0.0.9:99 -r 192.168.1.8:99 -g -w 3
-A -t [2001:db8::80]:80 -s wrr -p 30 -M 64
-a -t [2001:db8::80]:80 -r [2001:db8::50]:8080 -m -w 1
-a -t [2001:db8::80]:80 -r 192.168.1.50:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-A -f 8 -s rr
-a -f 8 -r 192.168.1.9:0 -g -w 2
-A -f 8 -6 -s nq -p 100 -M 48
-a -f 8 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gre --tun-csum
-A -f 18 -s fo
`;

/** The apply script's functions, then: each live service listed one by one, and the save. */
const HARNESS = `${APPLY_SCRIPT.slice(0, APPLY_SCRIPT.indexOf("\nUSAGE="))}
D=$(mktemp -d) || exit 1
trap 'rm -rf "$D"' EXIT
ipvsadm -S -n > "$D/save" || exit 1
{ selectors_of "$D/save"; [ $# -eq 0 ] || printf '%s\\n' "$@"; } | LC_ALL=C sort -u > "$D/selectors"
listed_as_rules "$D/selectors" "$D/listing" > "$D/listed" || { echo "listed_as_rules failed" >&2; exit 1; }
LC_ALL=C sort "$D/listed"
echo "==save=="
LC_ALL=C sort "$D/save"
`;

/** The director's table listed service by service and saved, both sorted; `absent`: selectors of services not there. */
async function listedAndSaved(d: LabDirector, absent: string[] = []): Promise<{ listed: string; saved: string }> {
  const out = await d.run(`cat > /tmp/listing-harness.sh && sh /tmp/listing-harness.sh ${absent.map(shq).join(" ")}`, { stdin: HARNESS });
  const [listed, saved] = out.split("==save==\n");
  return { listed: listed!, saved: saved! };
}

describe("verify's listing of one service at a time, against a real kernel", () => {
  let d: LabDirector | undefined;
  before(async () => {
    if (labStatus().available) [d] = await bootDirectors(1);
  }, { timeout: 180_000 });
  after(async () => {
    await d?.close();
  });

  it("every kind of line reads as the save prints it; services not there read as nothing", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    await resetDirector(d!, EVERY_KIND);
    const { listed, saved } = await listedAndSaved(d!, ["-t 10.0.0.99:80", "-f 9 -6", "--sctp-service 10.0.0.1:80"]);
    // the kernel took every line (thresholds are not saved: the save has the rest as written)
    assert.equal(saved.split("\n").filter((l) => l !== "").length, EVERY_KIND.trim().split("\n").length);
    assert.equal(listed, saved);
  });

  it("a listing it cannot read gives a line no save line equals", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    await resetDirector(d!, "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 1\n");
    // what another ipvsadm could print: an unknown option word and forwarding method
    const r = await d!.exec(
      `cat > /tmp/h.sh && printf '%s\\n' '#ipvsc -t 10.0.0.1:80' 'TCP  10.0.0.1:80 rr sticky' '  -> 192.168.1.1:80  Bounce  n/a  1  0  0' > /tmp/bad.listed && . /tmp/h.sh && awk "$LISTING_TO_RULES_AWK" /tmp/bad.listed`,
      { stdin: APPLY_SCRIPT.slice(0, APPLY_SCRIPT.indexOf("\nUSAGE=")) },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l, /\?/, l);
  });

  it(`${RUNS} random tables: each service listed one by one reads exactly as its save lines`, { timeout: 600_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const tables = fc.sample(arbIpvsTable({ maxServices: 8, maxRealServers: 5 }), { seed: FC_SEED, numRuns: RUNS });
    let compared = 0, lines = 0;
    for (const table of tables) {
      await resetDirector(d!, renderIpvsadmRules(table));
      const { listed, saved } = await listedAndSaved(d!);
      assert.equal(listed, saved);
      compared++;
      lines += saved.split("\n").filter((l) => l !== "").length;
    }
    assert.equal(compared, RUNS);
    assert.ok(lines >= RUNS * 2, `only ${lines} lines in ${RUNS} tables`);
  });

  /**
   * A fresh director, a workspace and the guest's trace steps (IPVSC_TRACE on): `fn` gets the
   * workspace, a spec of web (rs1 at `weight`, rs2) and api (rs3) after one apply of weight 1,
   * and the steps traced since the last `clear`.
   */
  async function traced(fn: (ws: RolloutWorkspace, spec: (weight: number) => ReturnType<typeof labSpec>, steps: () => string[], clear: () => void) => Promise<void>): Promise<void> {
    await resetDirector(d!);
    const ws = new RolloutWorkspace();
    const events: TraceEvent[] = [];
    const was = process.env.IPVSC_TRACE;
    process.env.IPVSC_TRACE = "1";
    setTraceSink((e) => events.push(e));
    try {
      const spec = (weight: number) => labSpec(d!, [
        natService({ name: "web", vip: VIP_V4(0), servers: [{ rs: 1, weight }, { rs: 2 }] }),
        natService({ name: "api", vip: VIP_V4(1), port: 8080, servers: [{ rs: 3 }] }),
      ]);
      const first = await ws.cli(["apply", ws.writeSpec("a", spec(1)), "--yes"]);
      assert.equal(first.code, 0, first.out + first.err);
      events.length = 0;
      await fn(ws, spec, () => events.filter((e) => e.clock === "guest").map((e) => e.step), () => { events.length = 0; });
    } finally {
      if (was === undefined) delete process.env.IPVSC_TRACE;
      else process.env.IPVSC_TRACE = was;
      setTraceSink((e) => process.stderr.write(`ipvsc-trace ${e.clock} ${e.ms} ${e.step}\n`));
      ws.cleanup();
    }
  }

  /** The save line of real server rs's service entry. */
  const serverLine = async (rs: 1 | 2 | 3) => (await d!.run("ipvsadm -S -n")).split("\n").find((l) => l.includes(` -r ${rsAddress(rs)}:`))!;

  it("ipvsc apply of a weight change verifies from the touched service's listing, no save of the table", { timeout: 300_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    await traced(async (ws, spec, steps) => {
      const changed = await ws.cli(["apply", ws.writeSpec("b", spec(4)), "--yes"]);
      assert.equal(changed.code, 0, changed.out + changed.err);
      const guest = steps();
      // (the worker's steps come back as "apply: STEP")
      assert.ok(guest.some((s) => s.endsWith("verify: ipvsadm -L -n --tun-info per service")), guest.join("\n"));
      assert.ok(guest.some((s) => s.endsWith("verify: expected lines")), guest.join("\n"));
      assert.ok(!guest.some((s) => s.endsWith("verify: ipvsadm -S -n")), guest.join("\n"));
      assert.match(await serverLine(1), / -m -w 4$/);
    });
  });

  it("a saved plan's apply checks only the services it touches: another service changed by hand since does not stop it, a touched one does", { timeout: 300_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    await traced(async (ws, spec, steps, clear) => {
      // plan web's weight 1 -> 4 and apply it; then web goes back to 1 by hand, and a health
      // checker (here: a hand) moves api's weight: the same plan again runs again (the
      // director is where it started, for what the plan touches), it does not replay the result
      const planned = await ws.cli(["plan", ws.writeSpec("b", spec(4)), "--out", "to4.json"]);
      assert.equal(planned.code, 0, planned.out + planned.err);
      const once = await ws.cli(["apply", ws.writeSpec("b", spec(4)), "--plan", "to4.json", "--yes"]);
      assert.equal(once.code, 0, once.out + once.err);
      await d!.run((await serverLine(1)).replace("-a ", "ipvsadm -e ").replace(/-w \d+/, "-w 1"));
      await d!.run((await serverLine(3)).replace("-a ", "ipvsadm -e ").replace(/-w \d+/, "-w 9"));
      clear();
      const applied = await ws.cli(["apply", ws.writeSpec("b", spec(4)), "--plan", "to4.json", "--yes"]);
      assert.equal(applied.code, 0, applied.out + applied.err);
      const guest = steps();
      assert.ok(guest.some((s) => s.endsWith("worker: touched services listed, as planned")), guest.join("\n"));
      assert.ok(!guest.some((s) => s.endsWith("worker: snapshot") || s.endsWith("verify: ipvsadm -S -n")), guest.join("\n"));
      assert.match(await serverLine(1), / -m -w 4$/);
      assert.match(await serverLine(3), / -m -w 9$/, "the other service keeps its hand change");

      // plan web back to 1; then web itself changes by hand: the whole table decides, refused
      const back = await ws.cli(["plan", ws.writeSpec("c", spec(1)), "--out", "to1.json"]);
      assert.equal(back.code, 0, back.out + back.err);
      await d!.run((await serverLine(1)).replace("-a ", "ipvsadm -e ").replace(/-w \d+/, "-w 6"));
      const table = await d!.run("ipvsadm -S -n");
      clear();
      const refused = await ws.cli(["apply", ws.writeSpec("c", spec(1)), "--plan", "to1.json", "--yes"]);
      assert.equal(refused.code, 1, refused.out + refused.err);
      assert.match(refused.out, /stale plan: the director changed since the plan was computed/);
      assert.ok(steps().some((s) => s.endsWith("worker: snapshot")), steps().join("\n"));
      assert.equal(await d!.run("ipvsadm -S -n"), table, "nothing changed");
    });
  });
});
