/**
 * The preview texts in docs/component-library.md are rendered here from the director
 * provider's own plan and diff (planFor + diffOfPlan: the provider's `diff` without its SSH
 * read) against live states of a director: a weight change, a drain, and a drift seen
 * after a refresh. The layout is the engine's for an update (test/support/render-preview.ts):
 * old inputs (what refresh read) against new ones, whether the provider's diff says there
 * is a change deciding whether there is any text at all. The doc must hold exactly these texts; `UPDATE_DOCS=1` rewrites them
 * (review the result: it is documentation, not a snapshot).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { compile, type CompileOutput } from "../../src/index.js";
import type { IpvsService, LiveState } from "../../src/index.js";
import { desiredDirectorView, liveDirectorView, serviceKeyString, type DirectorView } from "../../src/index.js";
import { diffOfPlan, planFor, type DirectorResourceProps } from "../../components/director-provider.js";
import { parse } from "yaml";
import { renderPreview } from "../support/render-preview.js";

const DOC = fileURLToPath(new URL("../../docs/component-library.md", import.meta.url));
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";
const OWNER = "acme.prod.edge";

function specWith(servers: { address: string; weight?: number }[]) {
  return {
    directors: [{ name: "lb1", interfaces: ["eth0"], ssh: { host: "198.51.100.11", hostKey: HOST_KEY } }],
    services: [{
      name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, scheduler: "wrr",
      pool: { forwarding: { method: "nat" }, servers: servers.map((s) => ({ ...s, port: 8080 })) },
    }],
  };
}

function compiled(value: unknown): CompileOutput {
  const r = compile(value);
  assert.ok(r.ok, JSON.stringify(r.issues));
  return r.output;
}

/** The provider's inputs for lb1 of a compiled spec (as IpvsDirector builds them). */
function propsOf(out: CompileOutput): DirectorResourceProps {
  const d = out.model.directors[0]!;
  const view = desiredDirectorView(d, out.directors[0]!.keepalivedConf);
  return {
    director: "lb1", owner: OWNER,
    connection: { host: "198.51.100.11", port: 22, user: "root", hostKey: HOST_KEY },
    credentials: {}, services: view.services, keepalived: view.keepalived, keepalivedConf: view.keepalivedConf,
    model: JSON.parse(JSON.stringify(d)), sysctlConf: out.sysctlConf, keepalivedConfigDir: "/etc/keepalived",
    teardownKeepalivedConf: "", secretFiles: [], drainTimeoutSeconds: 30,
  };
}

/** A director whose kernel holds `services`, recorded for OWNER. */
function liveOf(out: CompileOutput, services: IpvsService[]): LiveState {
  const record: Record<string, string> = {};
  for (const s of out.model.directors[0]!.services) record[s.name] = `${serviceKeyString(s.ipvs.key)} ${s.owner}`;
  return {
    director: "lb1", fingerprint: "f", table: { services }, connections: new Map(), keepalivedConf: undefined,
    keepalivedRunning: false, ownership: [{ owner: OWNER, services: record }], vrrpStates: {}, syncDaemons: [], addresses: [], issues: [],
  };
}

/** The preview of `next` for a director running `before` (its live table `live`), olds as the state holds them. */
function preview(before: CompileOutput, next: CompileOutput, live: LiveState, olds: DirectorView): string {
  const news = propsOf(next);
  const plan = planFor(news, live);
  const diff = diffOfPlan(plan, { ...propsOf(before), ...olds }, news);
  return renderPreview(`edge-lb1-state`, `lb1/${OWNER}`, diff.changes === true, olds, desiredDirectorView(news.model, news.keepalivedConf));
}

function rendered(): Record<string, string> {
  const v1 = compiled(specWith([{ address: "192.0.2.11" }, { address: "192.0.2.12", weight: 2 }, { address: "192.0.2.13" }]));
  const v1Live = liveOf(v1, v1.model.directors[0]!.table.services);
  const v1View = desiredDirectorView(v1.model.directors[0]!, "");
  // a weight change in the program: 2 -> 5
  const v2 = compiled(specWith([{ address: "192.0.2.11" }, { address: "192.0.2.12", weight: 5 }, { address: "192.0.2.13" }]));
  // a real server taken out of the program: drained, then removed
  const v3 = compiled(specWith([{ address: "192.0.2.11" }, { address: "192.0.2.12", weight: 2 }]));
  // drift: someone ran `ipvsadm -e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 0` on lb1,
  // and `pulumi refresh` read it back (read returns the live view as inputs too)
  const svc = v1.model.directors[0]!.table.services[0]!;
  const edited: IpvsService = { ...svc, realServers: svc.realServers.map((rs) => (rs.address === "192.0.2.11" ? { ...rs, weight: 0 } : rs)) };
  const driftLive = liveOf(v1, [edited]);
  const refreshed = liveDirectorView(driftLive, OWNER, v1.model.directors[0]!, false);
  return {
    "weight-change": preview(v1, v2, v1Live, v1View),
    "drain": preview(v1, v3, v1Live, v1View),
    "drift": preview(v1, v1, driftLive, refreshed),
    "in-sync": preview(v1, v1, v1Live, v1View),
  };
}

const BLOCK = /<!-- preview: ([a-z-]+) -->\n```\n([\s\S]*?)```\n<!-- \/preview -->/g;

describe("docs/component-library.md previews", () => {
  test("each preview block is the provider's diff rendered", () => {
    const texts = rendered();
    const nested = (server: string, line: string) =>
      new RegExp(`~ services: \\{\\n\\s+~ web tcp/203\\.0\\.113\\.10:80: \\{\\n\\s+~ servers: \\{\\n\\s+${line.replace("SERVER", server.replace(/\./g, "\\."))}`);
    assert.match(texts["weight-change"]!, nested("192.0.2.12:8080", "~ SERVER: \\{\\n\\s+~ weight: 2 => 5\\n"));
    assert.match(texts["drain"]!, nested("192.0.2.13:8080", "- SERVER: \\{\\n\\s+- forwarding\\s*: \"nat\""));
    assert.match(texts["drift"]!, nested("192.0.2.11:8080", "~ SERVER: \\{\\n\\s+~ weight: 0 => 1\\n"));
    // one change each, nothing else: the resource line and the five levels down to the weight
    for (const name of ["weight-change", "drift"]) assert.equal(texts[name]!.split("\n").filter((l) => /^\s+[~+-] /.test(l)).length, 6, texts[name]);
    assert.equal(texts["in-sync"], "", "a director that equals the spec has no diff at all");
    let doc = readFileSync(DOC, "utf8");
    if (process.env["UPDATE_DOCS"] === "1") {
      doc = doc.replace(BLOCK, (_all, name: string) => `<!-- preview: ${name} -->\n\`\`\`\n${texts[name] ?? ""}\`\`\`\n<!-- /preview -->`);
      writeFileSync(DOC, doc);
    }
    const found = new Map([...doc.matchAll(BLOCK)].map((m) => [m[1]!, m[2]!]));
    for (const name of ["weight-change", "drain", "drift"]) {
      assert.ok(found.has(name), `docs/component-library.md has no preview block "${name}"`);
      assert.equal(found.get(name), texts[name], `preview block "${name}" differs from the provider's diff (UPDATE_DOCS=1 rewrites it)`);
    }
  });
});

describe("the Pulumi projects refresh before every preview", () => {
  test("Pulumi.yaml at the root and in every example sets options.refresh: always", () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const files = ["Pulumi.yaml", ...readdirSync(`${root}examples`).flatMap((d) => [`examples/${d}/Pulumi.yaml`, `examples/${d}/pulumi/Pulumi.yaml`]).filter((f) => existsSync(`${root}${f}`))];
    assert.ok(files.length >= 4 && files.includes("examples/fleet/pulumi/Pulumi.yaml"), files.join(", "));
    for (const f of files) {
      const project = parse(readFileSync(`${root}${f}`, "utf8")) as { options?: { refresh?: string } };
      assert.equal(project.options?.refresh, "always", `${f}: a preview without a refresh prints the old values of the last rollout`);
    }
  });
});
