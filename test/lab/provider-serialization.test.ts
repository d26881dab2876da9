/**
 * The director resource's provider as Pulumi really runs it: the SDK serializes the provider
 * of an IpvsDirectorState into the `__provider` input, and the engine's dynamic provider
 * host (@pulumi/pulumi/cmd/dynamic-provider) loads that text in its own process with
 * `require("require-from-string")(text).handler()`. Here the text is captured under mocks
 * from an IpvsCluster, written to a file and loaded exactly that way in a fresh node process
 * (started in a temp directory outside the repository, nothing of this process inherited, no
 * TypeScript loader: the shell registers tsx itself for a .ts module), which then calls `check`, `diff` and `read` with the props the
 * mock saw (the lab director's real connection and credentials put in). Checks: the text is a
 * small shell naming the provider module by file URL; `check` passes the inputs on and
 * refuses an unpinned host key; on an empty lab director `diff` reports the service the spec
 * adds as one added property path, `read` finds nothing this owner has there, and neither
 * changes the director; the fresh process prints no stack trace.
 *
 * Run: node scripts/run-tests.mjs test/lab/provider-serialization
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { installMocks, type Registered } from "../components/support/mocks.js";
import { bootDirectors, labStatus, requireLabOrSkip, VIP_V4, type LabDirector } from "./lab.js";
import { DIRECTOR_NAME, LAB_INTERFACES, liveRules, resetDirector, rsAddress } from "./support/rollout-harness.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OWNER = "labproj.dev.serialized";
const VIP = VIP_V4(60);
const LABEL = `web tcp/${VIP}:80`;
const ID = `${DIRECTOR_NAME}/${OWNER}`;
/** stand-ins the mocked program uses; the lab director's real ones replace them */
const PLACEHOLDER_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nplaceholderkeymaterial\n-----END OPENSSH PRIVATE KEY-----\n";
const PLACEHOLDER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";

// ------------------------------------------------------------------ the program, under mocks

const mocks = installMocks("labproj", "dev");
const { IpvsCluster, forwarding, scheduler } = await import("../../components/index.js");

/** One director, one applier-owned NAT service on a lab real server. */
new IpvsCluster("ser", {
  directors: [{
    name: DIRECTOR_NAME, interfaces: LAB_INTERFACES,
    // a port nothing listens on: the provider must use the connection it is given
    ssh: { host: "127.0.0.1", port: 9, hostKey: PLACEHOLDER_HOST_KEY, privateKey: PLACEHOLDER_KEY },
  }],
  services: [{
    name: "web", protocol: "tcp", address: VIP, port: 80, scheduler: scheduler.rr(),
    pool: { forwarding: forwarding.nat(), servers: [{ address: rsAddress(1), port: 80, weight: 1 }] },
  }],
  owner: OWNER,
});
await mocks.settle();

const registered: Registered = mocks.byName(`ser-${DIRECTOR_NAME}-state`);
assert.equal(registered.type, "pulumi-nodejs:dynamic/ipvs:IpvsDirectorState");
/** the serialized provider, as the SDK resolved it */
const providerText = await Promise.resolve(registered.inputs.__provider);

/** The props as the engine hands them to the provider host: secrets unwrapped (the dynamic provider does not accept secrets). */
function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if ("$secret" in obj) return unwrapSecrets(obj.$secret);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}
const mockProps = unwrapSecrets(registered.inputs) as Record<string, unknown>;

// ------------------------------------------------------------------ the fresh process

const fromRepo = createRequire(join(ROOT, "package.json"));
/** require-from-string as the dynamic provider host resolves it (from @pulumi/pulumi's own directory) */
const HOST_SCRIPT = join(dirname(fromRepo.resolve("@pulumi/pulumi/package.json")), "cmd", "dynamic-provider", "index.js");
const REQUIRE_FROM_STRING = createRequire(HOST_SCRIPT).resolve("require-from-string");

/**
 * What the host does with one resource, in order: check (its inputs, with __provider put
 * back, become the news), diff, read; a failure is printed the way the host prints it.
 */
const RUNNER = `"use strict";
const fs = require("node:fs");
const [requireFromStringPath, providerFile, requestFile] = process.argv.slice(2);
const requireFromString = require(requireFromStringPath);
const request = JSON.parse(fs.readFileSync(requestFile, "utf8"));
(async () => {
  const provider = requireFromString(fs.readFileSync(providerFile, "utf8")).handler();
  let news = request.news;
  const results = {};
  for (const step of request.steps) {
    try {
      if (step === "check") {
        const r = await provider.check(request.olds, news);
        results.check = r;
        if (r.inputs) news = { ...r.inputs, __provider: request.news.__provider };
      } else if (step === "diff") {
        results.diff = await provider.diff(request.id, request.olds, news);
      } else if (step === "read") {
        results.read = await provider.read(request.id, request.olds);
      }
    } catch (e) {
      console.error(String(e) + ": " + e.stack);
      results[step] = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  process.stdout.write(JSON.stringify(results));
})();
`;

interface HostRun {
  code: number | null;
  stdout: string;
  stderr: string;
  results: Record<string, Record<string, unknown>>;
}

const work = mkdtempSync(join(tmpdir(), "ipvs-provider-ser-"));
after(() => rmSync(work, { recursive: true, force: true }));

let runs = 0;
/** Loads the serialized provider in a fresh node process (cwd: a temp dir) and runs `steps`. */
async function runInFreshHost(
  request: { id: string; olds: unknown; news: unknown; steps: string[] },
  opts: { text?: string; cwd?: string } = {},
): Promise<HostRun> {
  const dir = join(work, `run${++runs}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "provider.js"), opts.text ?? String(providerText));
  writeFileSync(join(dir, "request.json"), JSON.stringify(request), { mode: 0o600 });
  writeFileSync(join(dir, "host.cjs"), RUNNER);
  // nothing of the test runner's process: its own argv, a plain environment without the test
  // context, and no TypeScript loader (Pulumi's host has none: the shell registers tsx itself
  // when the recorded module is a .ts source, as here)
  const { NODE_TEST_CONTEXT: _ctx, NODE_OPTIONS: _opts, ...env } = process.env;
  const child = spawn(process.execPath, [join(dir, "host.cjs"), REQUIRE_FROM_STRING, join(dir, "provider.js"), join(dir, "request.json")], {
    cwd: opts.cwd ?? dir, env, stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "", stderr = "";
  child.stdout.on("data", (b: Buffer) => void (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => void (stderr += b.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  clearTimeout(timer);
  if (process.env.IPVS_LAB_VERBOSE === "1") process.stderr.write(`fresh host (${request.steps.join(", ")}): exit ${code}\n${stdout}\n${stderr}\n`);
  let results: HostRun["results"] = {};
  try {
    results = JSON.parse(stdout) as HostRun["results"];
  } catch {
    // reported by the assertions on stdout
  }
  return { code, stdout, stderr, results };
}

/** A V8 stack frame line (`    at f (file:1:2)`), or node's own `Error: ...\n    at` report. */
const STACK_FRAME = /^\s+at .+(\(.*:\d+:\d+\)|:\d+:\d+)\s*$/m;

function assertClean(run: HostRun): void {
  assert.equal(run.code, 0, `fresh process exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, STACK_FRAME, `a stack trace on stderr:\n${run.stderr}`);
  assert.doesNotMatch(run.stdout, STACK_FRAME, `a stack trace on stdout:\n${run.stdout}`);
}

describe("the serialized director provider, loaded as Pulumi's dynamic provider host loads it", { timeout: 300_000 }, () => {
  it("the SDK serialized a small shell that names the provider module by file URL", () => {
    assert.equal(typeof providerText, "string");
    const text = providerText as string;
    assert.match(text, /^exports\.handler = /);
    for (const method of ["check", "diff", "create", "read", "update", "delete"]) assert.match(text, new RegExp(`\\b${method}: __f\\d+`), method);
    const urls = [...new Set([...text.matchAll(/PROVIDER_MODULE: "([^"]+)"/g)].map((m) => m[1]!))];
    assert.equal(urls.length, 1, `one provider module: ${urls.join(", ")}`);
    const file = fileURLToPath(urls[0]!);
    assert.ok(existsSync(file), `${file} exists`);
    assert.match(file, /components\/director-provider\.[cm]?[jt]s$/);
    // the shell, not the SSH client or the planner
    assert.ok(text.length < 10_000, `${text.length} characters`);
    assert.doesNotMatch(text, /SshSession|planDirector|ssh2/);
    // no secret serialized into it
    assert.ok(!text.includes("placeholderkeymaterial"));
  });

  it("in a fresh process outside the repository, check passes the inputs on and refuses an unpinned host key", { timeout: 120_000 }, async () => {
    assert.ok(relative(realpathSync(ROOT), realpathSync(work)).startsWith(".."), `${work} is outside the repository`);
    const ok = await runInFreshHost({ id: ID, olds: {}, news: mockProps, steps: ["check"] });
    assertClean(ok);
    assert.deepEqual(ok.results.check, { inputs: mockProps });

    const { connection, ...rest } = mockProps as { connection: Record<string, unknown> };
    const unpinned = { ...rest, connection: { ...connection, hostKey: "" } };
    const refused = await runInFreshHost({ id: ID, olds: {}, news: unpinned, steps: ["check"] });
    assertClean(refused);
    assert.deepEqual(refused.results.check, {
      failures: [{ property: "connection", reason: "the director's host key must be pinned (connection.hostKey)" }],
    });
  });

  it("when the recorded module is gone (the project moved), the shell loads pulumi-ipvs/director-provider as the working directory resolves it", { timeout: 120_000 }, async () => {
    const moved = String(providerText).replace(/PROVIDER_MODULE: "[^"]+"/g, `PROVIDER_MODULE: "${pathToFileURL(join(work, "gone", "components", "director-provider.js")).href}"`);
    // a project whose node_modules holds a stand-in package: its provider says where it was loaded from
    const project = join(work, "moved-project");
    const pkg = join(project, "node_modules", "pulumi-ipvs");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "moved-project", private: true }));
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "pulumi-ipvs", type: "module", exports: { "./director-provider": "./provider.js" } }));
    writeFileSync(join(pkg, "provider.js"), "export const directorProvider = { async check(_olds, news) { return { inputs: { ...news, loadedFrom: import.meta.url } }; } };\n");
    const run = await runInFreshHost({ id: ID, olds: {}, news: { marker: 1 }, steps: ["check"] }, { text: moved, cwd: project });
    assertClean(run);
    assert.deepEqual(run.results.check, { inputs: { marker: 1, loadedFrom: pathToFileURL(join(realpathSync(pkg), "provider.js")).href } });
    // nowhere to load it from: one message, no stack trace
    const lost = await runInFreshHost({ id: ID, olds: {}, news: { marker: 1 }, steps: ["check"] }, { text: moved });
    assert.equal(lost.code, 0, lost.stderr);
    assert.match(String((lost.results.check as { error?: string }).error), /director provider recorded in the state .* is gone, and .* does not resolve pulumi-ipvs\/director-provider/);
  });

  it("in a fresh process, a director that cannot be reached fails diff with one message naming it, no stack trace", { timeout: 120_000 }, async () => {
    // the mocked program's own connection: 127.0.0.1:9, where nothing listens (an agent to
    // authenticate with, so the attempt gets as far as the TCP connect)
    const { connection: c } = mockProps as { connection: Record<string, unknown> };
    const unreachable = { ...mockProps, credentials: {}, connection: { ...c, agentSocketPath: join(work, "no-agent.sock") } };
    const run = await runInFreshHost({ id: ID, olds: unreachable, news: unreachable, steps: ["diff"] });
    assert.equal(run.code, 0, run.stderr);
    const diff = run.results.diff as { error?: string };
    assert.match(diff.error ?? "", new RegExp(`^director ${DIRECTOR_NAME} \\(127\\.0\\.0\\.1:9\\): connection refused$`));
    assert.match(run.stderr, new RegExp(`director ${DIRECTOR_NAME} \\(127\\.0\\.0\\.1:9\\): connection refused`), "the host printed the failure");
    assert.ok(!(diff.error ?? "").includes("placeholderkeymaterial"));
    // the host prints the error with its stack (console.error(`${e}: ${e.stack}`)): the stack must be the message alone
    assert.doesNotMatch(run.stderr, STACK_FRAME, `a stack trace on stderr:\n${run.stderr}`);
  });

  describe("against a lab director", () => {
    let lab: LabDirector | undefined;
    before(async () => {
      if (!labStatus().available) return;
      [lab] = await bootDirectors(1);
    }, { timeout: 180_000 });
    after(async () => {
      await lab?.close();
    });

    it("on an empty director: diff shows the service the spec adds, read finds nothing of this owner, neither changes anything", { timeout: 120_000 }, async (t) => {
      if (!requireLabOrSkip(t)) return;
      const d = lab!;
      await resetDirector(d);
      assert.equal(await liveRules(d), "");
      // the props the mock saw, with the lab director's connection and credentials
      const props = {
        ...mockProps,
        connection: { host: "127.0.0.1", port: d.sshPort, user: "root", hostKey: d.hostKey },
        credentials: { privateKey: readFileSync(d.privateKeyPath, "utf8") },
      };
      const run = await runInFreshHost({ id: ID, olds: props, news: props, steps: ["check", "diff", "read"] });
      assertClean(run);
      assert.deepEqual(run.results.check, { inputs: props });

      const diff = run.results.diff as { changes?: boolean; detailedDiff?: Record<string, { kind: string; inputDiff: boolean }>; error?: string };
      assert.equal(diff.error, undefined, diff.error);
      assert.equal(diff.changes, true);
      const path = `services[${JSON.stringify(LABEL)}]`;
      // one property path per operation: the service and its real server go in as one add
      assert.deepEqual(diff.detailedDiff, { [path]: { kind: "add", inputDiff: false } });

      const read = run.results.read as { id?: string; props?: Record<string, unknown>; inputs?: Record<string, unknown>; error?: string };
      assert.equal(read.error, undefined, read.error);
      assert.equal(read.id, ID);
      assert.deepEqual(read.props?.services, {});
      assert.deepEqual(read.inputs?.services, {});
      assert.equal(read.props?.keepalived, "unmanaged");
      assert.equal(read.props?.owner, OWNER);
      // the private key is not echoed anywhere but the credentials it came in
      const { credentials: _c, ...readRest } = read.props ?? {};
      assert.ok(!JSON.stringify(readRest).includes("PRIVATE KEY"));

      assert.equal(await liveRules(d), "", "diff and read left the table alone");
    });
  });
});
