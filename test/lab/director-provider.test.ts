/**
 * The director resource's provider (components/director-provider.ts), its methods called
 * directly against a real lab director, with the props IpvsDirector builds
 * (directorStateInputs). Checks: create applies the spec and a diff right after is clean
 * and deterministic; a hand edit shows in diff (one property path) and in read, and update
 * puts it back; a spec change is one path per operation (update, delete = drain, add) and
 * update applies exactly that; a change made between diff and update is refused with the
 * table untouched; delete drains and removes this owner's services (its keepalived block
 * through the checked reload) and leaves a foreign service and another owner's; an
 * unreachable director and a wrong pinned host key fail with one message naming the
 * director, without the private key.
 *
 * One director for the whole file; the steps build on each other.
 * Run: node scripts/run-tests.mjs test/lab/director-provider
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { describe, it } from "node:test";
import ssh2 from "ssh2";
import { directorProvider, type DirectorResourceProps } from "../../components/director-provider.js";
import { directorStateInputs } from "../../components/ipvs-director.js";
import { compile } from "../../src/compile.js";
import type { SpecInput } from "../../src/schema/spec-schema.js";
import { requireLabOrSkip, VIP_V4, type LabDirector } from "./lab.js";
import {
  DIRECTOR_NAME, keepalivedPid, labSpec, liveRules, liveRulesBytes, natRules, natService, resetDirector, rsAddress, sortedRules,
  unionRules, useLabDirector, waitFor,
} from "./support/rollout-harness.js";

const OWNER = "labproj.dev.provider";
const OTHER_OWNER = "other";
const ID = `${DIRECTOR_NAME}/${OWNER}`;
const WEB_VIP = VIP_V4(50);
const API_VIP = VIP_V4(51);
const OTHER_VIP = VIP_V4(52);
const FOREIGN_VIP = VIP_V4(53);
const [rs1, rs2, rs3] = [rsAddress(1), rsAddress(2), rsAddress(3)];

const WEB = `web tcp/${WEB_VIP}:80`;
const API = `api tcp/${API_VIP}:8080`;
const server = (label: string, rs: string, port = 80) => `services[${JSON.stringify(label)}].servers[${JSON.stringify(`${rs}:${port}`)}]`;

type Servers = { rs: 1 | 2 | 3; weight: number }[];

/** web: applier-owned wrr pool; api: a tcp-checked pool (keepalived-owned). */
function ourSpec(lab: LabDirector, web: Servers): SpecInput {
  return labSpec(lab, [
    natService({ name: "web", vip: WEB_VIP, scheduler: "wrr", servers: web }),
    natService({
      name: "api", vip: API_VIP, port: 8080, scheduler: "rr", servers: [{ rs: 1 }, { rs: 2 }],
      healthChecks: [{ type: "tcp", connectTimeout: 1, retry: 1, delayBeforeRetry: 1, delayLoop: 2 }],
    }),
  ]);
}

/** The provider's props for `spec`, built as IpvsDirector builds them. */
function propsOf(lab: LabDirector, spec: SpecInput, owner = OWNER, connection: Partial<DirectorResourceProps["connection"]> = {}): DirectorResourceProps {
  const r = compile(spec);
  if (!r.ok) throw new Error(`spec does not compile: ${JSON.stringify(r.issues)}`);
  return directorStateInputs(r.output, DIRECTOR_NAME, {
    owner,
    connection: { host: "127.0.0.1", port: lab.sshPort, user: "root", hostKey: lab.hostKey, ...connection },
    credentials: { privateKey: readFileSync(lab.privateKeyPath, "utf8") },
    secretFiles: r.output.directors[0]!.secretFiles.map((f) => ({ path: f.path, content: f.content })),
    drainTimeoutSeconds: 2,
  });
}

/** The whole table the compiled spec describes (every real server healthy), sorted. */
function compiledRules(spec: SpecInput): string {
  const r = compile(spec);
  if (!r.ok) throw new Error("spec does not compile");
  return sortedRules(r.output.directors[0]!.ipvsadmRules);
}

/** The live rules of the services whose selector is one of `selectors` ("-t 203.0.113.178:80"), sorted. */
function rulesOf(rules: string, selectors: string[]): string {
  return sortedRules(rules.split("\n").filter((l) => selectors.some((s) => l.startsWith(`-A ${s} `) || l.startsWith(`-a ${s} `))).join("\n"));
}

const update = (...paths: string[]) => Object.fromEntries(paths.map((p) => [p, { kind: "update", inputDiff: false }]));

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error, `rejects with an Error: ${String(e)}`);
    return e;
  }
  assert.fail("expected a rejection");
}

describe("the director resource's provider against a real director", { timeout: 420_000 }, () => {
  const { director } = useLabDirector({
    beforeClose: async (d) => void (await d.exec("p=$(cat /run/keepalived.pid 2>/dev/null) && kill \"$p\"")),
  });
  const webSel = `-t ${WEB_VIP}:80`;
  const apiSel = `-t ${API_VIP}:8080`;
  /** the last inputs and outputs of our resource, carried from step to step */
  let inputs: DirectorResourceProps | undefined;
  let outs: DirectorResourceProps | undefined;
  const state = () => {
    if (!inputs || !outs) throw new Error("an earlier step failed: no resource");
    return { inputs, outs };
  };

  it("create applies the spec; a diff right after is clean, twice the same", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    await resetDirector(lab);
    const spec = ourSpec(lab, [{ rs: 1, weight: 5 }, { rs: 2, weight: 3 }]);
    const props = propsOf(lab, spec);
    assert.deepEqual(await directorProvider.check(props, props), { inputs: props });
    assert.equal(props.keepalived, "running", "a health-checked pool makes keepalived this spec's business");
    assert.deepEqual(Object.keys(props.services).sort(), [API, WEB]);

    const created = await directorProvider.create(props);
    assert.equal(created.id, ID);
    const o = created.outs as DirectorResourceProps;
    assert.deepEqual(o.services, props.services, "outs: this owner's services as applied");
    assert.equal(o.keepalived, "running");
    assert.equal(o.keepalivedConf, props.keepalivedConf);
    assert.deepEqual(o.credentials, props.credentials);
    const whole = compiledRules(spec);
    assert.ok(await waitFor(async () => (await liveRules(lab)) === whole, 15_000), `the table is the compiled one: ${await liveRules(lab)}`);
    assert.equal(rulesOf(await liveRules(lab), [webSel]), natRules(WEB_VIP, 80, "wrr", [{ address: rs1, weight: 5 }, { address: rs2, weight: 3 }]));
    assert.ok((await keepalivedPid(lab)) !== undefined, "keepalived runs");
    assert.match(await lab.run("cat /etc/keepalived/keepalived.conf"), new RegExp(`virtual_server ${API_VIP.replace(/\./g, "\\.")} 8080`));
    inputs = props;
    outs = o;

    const first = await directorProvider.diff(ID, o, props);
    assert.deepEqual(first, { changes: false, detailedDiff: {}, replaces: [], deleteBeforeReplace: true });
    const second = await directorProvider.diff(ID, o, props);
    assert.deepEqual(second, first, "the same director and inputs give the same diff");
  });

  it("a hand edit shows in diff and read; update puts it back", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const { inputs: props, outs: o } = state();
    await lab.run(`ipvsadm -e ${webSel} -r ${rs1}:80 -m -w 2`);

    const diff = await directorProvider.diff(ID, o, props);
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.detailedDiff, update(`${server(WEB, rs1)}.weight`));

    const read = await directorProvider.read(ID, o);
    assert.equal(read.id, ID);
    const live = read.props as DirectorResourceProps;
    assert.equal(live.services[WEB]!.servers[`${rs1}:80`]!.weight, 2, "read shows the hand-edited weight");
    assert.equal(live.services[WEB]!.servers[`${rs2}:80`]!.weight, 3);
    assert.deepEqual(Object.keys(live.services).sort(), [API, WEB]);
    assert.deepEqual(live.services[API], props.services[API], "keepalived's pool as the spec has it");
    assert.equal(live.keepalived, "running");
    assert.deepEqual(read.inputs, read.props, "read's inputs carry the same live view");
    assert.deepEqual(live.credentials, props.credentials);

    const updated = await directorProvider.update(ID, live, props);
    assert.deepEqual((updated.outs as DirectorResourceProps).services, props.services);
    assert.equal(rulesOf(await liveRules(lab), [webSel]), natRules(WEB_VIP, 80, "wrr", [{ address: rs1, weight: 5 }, { address: rs2, weight: 3 }]), "weight 5 again");
    const after = await directorProvider.diff(ID, updated.outs as DirectorResourceProps, props);
    assert.deepEqual(after, { changes: false, detailedDiff: {}, replaces: [], deleteBeforeReplace: true });
    outs = updated.outs as DirectorResourceProps;
  });

  it("a spec change is one path per operation, and update applies exactly that", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const { outs: o } = state();
    const before = await liveRules(lab);
    // rs1 5 -> 7, rs2 drained and removed, rs3 added
    const news = propsOf(lab, ourSpec(lab, [{ rs: 1, weight: 7 }, { rs: 3, weight: 1 }]));
    const diff = await directorProvider.diff(ID, o, news);
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.detailedDiff, {
      [`${server(WEB, rs1)}.weight`]: { kind: "update", inputDiff: false },
      [server(WEB, rs2)]: { kind: "delete", inputDiff: false },
      [server(WEB, rs3)]: { kind: "add", inputDiff: false },
    });
    assert.equal(await liveRules(lab), before, "diff changes nothing");

    const updated = await directorProvider.update(ID, o, news);
    assert.deepEqual((updated.outs as DirectorResourceProps).services, news.services);
    const want = natRules(WEB_VIP, 80, "wrr", [{ address: rs1, weight: 7 }, { address: rs3, weight: 1 }]);
    const live = await liveRules(lab);
    assert.equal(rulesOf(live, [webSel]), want);
    assert.equal(rulesOf(live, [apiSel]), rulesOf(before, [apiSel]), "the keepalived-owned pool untouched");
    assert.equal(live, unionRules(want, rulesOf(before, [apiSel])), "nothing else in the table");
    const after = await directorProvider.diff(ID, updated.outs as DirectorResourceProps, news);
    assert.deepEqual(after.detailedDiff, {});
    assert.equal(after.changes, false);
    inputs = news;
    outs = updated.outs as DirectorResourceProps;
  });

  it("a change made between diff and update is refused, nothing applied; a new preview then applies", { timeout: 90_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const { outs: o } = state();
    const news = propsOf(lab, ourSpec(lab, [{ rs: 1, weight: 9 }, { rs: 3, weight: 1 }]));
    const diff = await directorProvider.diff(ID, o, news);
    assert.deepEqual(diff.detailedDiff, update(`${server(WEB, rs1)}.weight`));

    await lab.run(`ipvsadm -e ${webSel} -r ${rs3}:80 -m -w 4`);
    const handChanged = await liveRulesBytes(lab);
    const err = await rejection(directorProvider.update(ID, o, news));
    assert.match(err.message, /director changed since preview: run pulumi preview again/);
    assert.match(err.message, new RegExp(`^director ${DIRECTOR_NAME}: `));
    assert.equal(await liveRulesBytes(lab), handChanged, "the live table is exactly the hand-changed one");
    assert.equal(rulesOf(await liveRules(lab), [webSel]), natRules(WEB_VIP, 80, "wrr", [{ address: rs1, weight: 7 }, { address: rs3, weight: 4 }]));

    // the preview again: it sees the hand edit too, and its update applies
    const again = await directorProvider.diff(ID, o, news);
    assert.deepEqual(again.detailedDiff, update(`${server(WEB, rs1)}.weight`, `${server(WEB, rs3)}.weight`));
    const updated = await directorProvider.update(ID, o, news);
    assert.equal(rulesOf(await liveRules(lab), [webSel]), natRules(WEB_VIP, 80, "wrr", [{ address: rs1, weight: 9 }, { address: rs3, weight: 1 }]));
    inputs = news;
    outs = updated.outs as DirectorResourceProps;
  });

  it("delete drains and removes this owner's services and keepalived block; a foreign service and another owner's stay", { timeout: 120_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const { outs: o } = state();
    const otherProps = propsOf(lab, labSpec(lab, [natService({ name: "other", vip: OTHER_VIP, scheduler: "rr", servers: [{ rs: 2, weight: 1 }] })]), OTHER_OWNER);
    assert.equal(otherProps.keepalived, "unmanaged");
    const otherCreated = await directorProvider.create(otherProps);
    assert.equal(otherCreated.id, `${DIRECTOR_NAME}/${OTHER_OWNER}`);
    const otherRules = natRules(OTHER_VIP, 80, "rr", [{ address: rs2, weight: 1 }]);
    const foreign = `-A -u ${FOREIGN_VIP}:53 -s rr\n-a -u ${FOREIGN_VIP}:53 -r ${rs3}:53 -m -w 1`;
    await lab.run(`ipvsadm -R <<'EOF'\n${foreign}\nEOF`);
    const before = await liveRules(lab);
    assert.ok(rulesOf(before, [webSel]) !== "" && rulesOf(before, [apiSel]) !== "", `our services are there: ${before}`);
    assert.equal(rulesOf(before, [`-t ${OTHER_VIP}:80`]), otherRules);
    const pid = await keepalivedPid(lab);
    assert.ok(pid !== undefined, "keepalived runs before the delete");

    await directorProvider.delete(ID, o);
    assert.equal(await liveRules(lab), unionRules(otherRules, foreign), "only the other owner's service and the foreign one are left");
    const conf = await lab.run("cat /etc/keepalived/keepalived.conf");
    assert.doesNotMatch(conf, /virtual_server/, "no virtual_server of ours in keepalived.conf");
    assert.equal(conf, o.teardownKeepalivedConf, "the teardown config is installed");
    assert.equal(await keepalivedPid(lab), pid, "keepalived still runs (reloaded, not restarted)");
    // the delete's run (this owner's newest): keepalived -t checked the teardown config, then the reload
    const run = (await lab.run(`cd /var/lib/ipvsc/runs && ls -1t | grep -F -- ${JSON.stringify(`${OWNER}-`)} | head -1`)).trim();
    assert.notEqual(run, "", "the delete ran a staged apply");
    assert.equal(await lab.run(`cat /var/lib/ipvsc/runs/${run}/keepalived.conf`), o.teardownKeepalivedConf);
    assert.doesNotMatch(await lab.run(`cat /var/lib/ipvsc/runs/${run}/keepalived.check.conf`), /virtual_server/, "keepalived -t ran on the teardown config");
    const log = await lab.run(`cat /var/lib/ipvsc/runs/${run}/log`);
    assert.match(log, /keepalived: reload/);
    assert.match(log, /ipvsc: result 0/);

    // and the other owner's resource still sees its service as it made it
    const otherDiff = await directorProvider.diff(otherCreated.id, otherCreated.outs as DirectorResourceProps, otherProps);
    assert.deepEqual(otherDiff.detailedDiff, {});
  });

  it("an unreachable director and a wrong host key: one message naming the director, no private key", { timeout: 60_000 }, async (t) => {
    if (!requireLabOrSkip(t)) return;
    const lab = director();
    const privateKey = readFileSync(lab.privateKeyPath, "utf8");
    const keyLines = privateKey.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
    assert.ok(keyLines.length > 0);
    const noKey = (message: string) => {
      for (const l of keyLines) assert.ok(!message.includes(l), `the message carries the private key: ${message}`);
    };

    // a TCP server that accepts and never speaks
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const props = propsOf(lab, ourSpec(lab, [{ rs: 1, weight: 5 }]), OWNER, { port, connectTimeoutSeconds: 1 });
      const started = Date.now();
      const err = await rejection(directorProvider.diff(ID, props, props));
      assert.ok(Date.now() - started < 15_000, `gave up after the connect timeout (${Date.now() - started} ms)`);
      assert.equal(err.message, `director ${DIRECTOR_NAME} (127.0.0.1:${port}): no answer within 1 s`);
      assert.equal(err.message.split("\n").length, 1, `one line: ${err.message}`);
      noKey(err.message);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }

    const otherKey = ssh2.utils.generateKeyPairSync("ed25519").public;
    assert.notEqual(otherKey, lab.hostKey);
    const wrong = propsOf(lab, ourSpec(lab, [{ rs: 1, weight: 5 }]), OWNER, { hostKey: otherKey });
    const before = await liveRulesBytes(lab);
    const err = await rejection(directorProvider.diff(ID, wrong, wrong));
    assert.match(err.message, new RegExp(`^director ${DIRECTOR_NAME} \\(127\\.0\\.0\\.1:${lab.sshPort}\\): host key differs from the pinned one \\(ssh-ed25519 SHA256:[A-Za-z0-9+/]+ offered\\); not connecting$`));
    assert.ok(err.message.includes(`127.0.0.1:${lab.sshPort}`), `names host:port: ${err.message}`);
    noKey(err.message);
    const applying = await rejection(directorProvider.update(ID, wrong, wrong));
    assert.match(applying.message, /host key .*(does not match|differs)/);
    noKey(applying.message);
    assert.equal(await liveRulesBytes(lab), before, "nothing changed");
  });
});
