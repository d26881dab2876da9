/**
 * IpvsCluster under Pulumi mocks: what it creates (one IpvsDirector per director and, for a
 * director with ssh, one IpvsDirectorState dynamic resource under it), the state resource's
 * inputs (the desired view, keepalived.conf, the secret-free model, the teardown config, the
 * plain connection; credentials and VRRP passwords only as secrets), the options the engine
 * gets (parent, the rollout chain as dependencies, retainOnDelete, secret outputs), no
 * spurious diffs, secrets in no other input or output, the ResourceError for an invalid spec.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
// type-only: erased, so nothing is loaded before the mocks are installed
import type { IpvsClusterArgs } from "../../components/index.js";
import { installMocks, plainStrings, secretStrings, valueOf, type Registered } from "./support/mocks.js";

const mocks = installMocks("project", "stack");
const {
  IpvsCluster, IpvsDirector, IpvsDirectorState, forwarding, healthCheck, scheduler,
} = await import("../../components/index.js");
const { PASSWORD_PLACEHOLDER } = await import("../../components/cluster-args.js");
const { compile } = await import("../../src/index.js");

const STATE_TYPE = "pulumi-nodejs:dynamic/ipvs:IpvsDirectorState";
const HOST_KEY_1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";
const HOST_KEY_2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICSB+3nLXHdkc6OFyk/K4W9l1KAgZnXWu0bGdZqw/MQZ";
const PASSWORD = "Zq8pW2xy";
const KEY_MATERIAL = "b3BlbnNzaC1rZXktdjEAAAAAfakefakefake";
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_MATERIAL}\n-----END OPENSSH PRIVATE KEY-----\n`;
const PASSPHRASE = "kp-Passphrase-71x";

/** The inputs of every director resource: the provider's props, and the serialized provider. */
const STATE_INPUTS = [
  "__provider", "connection", "credentials", "director", "drainTimeoutSeconds", "keepalived", "keepalivedConf", "keepalivedConfigDir",
  "model", "owner", "secretFiles", "services", "sysctlConf", "teardownKeepalivedConf",
];

/** Two directors, a keepalived-owned web pool, an applier-owned DNS pool, VRRP with a password. */
function args(password: pulumi.Input<string> = pulumi.secret(PASSWORD), extra: Partial<IpvsClusterArgs> = {}): IpvsClusterArgs {
  return {
    directors: [
      { name: "lb1", interfaces: ["eth0", "eth1"], address: "198.51.100.11", ssh: { host: "198.51.100.11", hostKey: HOST_KEY_1 } },
      { name: "lb2", interfaces: ["eth0", "eth1"], address: "198.51.100.12", ssh: { host: pulumi.output("198.51.100.12"), hostKey: HOST_KEY_2 } },
    ],
    ssh: { privateKey: PRIVATE_KEY },
    services: [
      {
        name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, scheduler: scheduler.wrr(),
        pool: {
          forwarding: forwarding.nat(),
          servers: [{ address: "192.0.2.11", port: 8080, weight: 3 }, { address: "192.0.2.12", port: 8080, upperThreshold: 100, lowerThreshold: 50 }],
          healthChecks: [healthCheck.http({ path: "/healthz", statusCode: [200] })],
        },
      },
      {
        name: "dns", protocol: "udp", address: "203.0.113.10", port: 53, scheduler: scheduler.mh({ fallback: true, port: true }), onePacket: true,
        pool: { forwarding: forwarding.tunnel({ type: "gue", port: 6080, checksum: "remcsum" }), servers: [{ address: "192.0.2.53" }, { address: "192.0.2.54" }] },
      },
    ],
    vrrp: { instances: [{ name: "VI_1", interface: "eth1", virtualRouterId: 51, vips: ["203.0.113.10/32"], authPassword: password }] },
    owner: "edge",
    ...extra,
  };
}

/** The same spec as plain compile() input (the real password, no Pulumi types; lb2's host is an Output above, so not in the spec). */
const SPEC = {
  directors: [
    { name: "lb1", interfaces: ["eth0", "eth1"], address: "198.51.100.11", ssh: { host: "198.51.100.11", hostKey: HOST_KEY_1 } },
    { name: "lb2", interfaces: ["eth0", "eth1"], address: "198.51.100.12" },
  ],
  services: [
    {
      name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, scheduler: "wrr",
      pool: {
        forwarding: { method: "nat" },
        servers: [{ address: "192.0.2.11", port: 8080, weight: 3 }, { address: "192.0.2.12", port: 8080, upperThreshold: 100, lowerThreshold: 50 }],
        healthChecks: [{ type: "http", urls: [{ path: "/healthz", statusCode: [200] }] }],
      },
    },
    {
      name: "dns", protocol: "udp", address: "203.0.113.10", port: 53, scheduler: "mh", schedulerFlags: ["mh-fallback", "mh-port"], onePacket: true,
      pool: { forwarding: { method: "tunnel", tunnelType: "gue", tunnelPort: 6080, tunnelChecksum: "remcsum" }, servers: [{ address: "192.0.2.53" }, { address: "192.0.2.54" }] },
    },
  ],
  vrrp: { instances: [{ name: "VI_1", interface: "eth1", virtualRouterId: 51, vips: ["203.0.113.10/32"], authPassword: PASSWORD }] },
};

const compiled = (() => {
  const r = compile(SPEC);
  assert.ok(r.ok, JSON.stringify(r.ok ? [] : r.issues));
  return r.output;
})();

/** The desired view, written out by hand: what `pulumi preview` compares (both directors carry both services). */
const SERVICES_VIEW = {
  "dns udp/203.0.113.10:53": {
    owner: "applier", scheduler: "mh", flags: "mh-fallback,mh-port", persistence: "off", persistenceEngine: "-", onePacket: true,
    servers: {
      "192.0.2.53:53": { forwarding: "tunnel(gue:6080,remcsum)", weight: 1, upperThreshold: 0, lowerThreshold: 0 },
      "192.0.2.54:53": { forwarding: "tunnel(gue:6080,remcsum)", weight: 1, upperThreshold: 0, lowerThreshold: 0 },
    },
  },
  "web tcp/203.0.113.10:80": {
    owner: "keepalived", scheduler: "wrr", flags: "-", persistence: "off", persistenceEngine: "-", onePacket: false,
    // keepalived changes these servers (health checks move weights): no settings in the view
    servers: { "192.0.2.11:8080": {}, "192.0.2.12:8080": {} },
  },
};

/** Children of one cluster, by name without the cluster's prefix. */
function childrenOf(prefix: string): Map<string, Registered> {
  return new Map(mocks.resources.filter((r) => r.name.startsWith(`${prefix}-`)).map((r) => [r.name.slice(prefix.length + 1), r]));
}

function stateOf(cluster: string, director: string): Registered {
  const r = mocks.byName(`${cluster}-${director}-state`);
  assert.equal(r.type, STATE_TYPE);
  return r;
}

/** A JSON value with sorted keys (normalized inputs already have them): equal values, equal text. */
const stable = (v: unknown) => JSON.stringify(v);

/**
 * Where `needle` occurs in `r`'s inputs and registered outputs, as JSON (inside secrets too):
 * `inputs.credentials`, `outputs.secretFiles`, ... (a secret input or output counts by name).
 */
function occurrences(r: Registered, needle: string): string[] {
  const found: string[] = [];
  for (const [kind, props] of [["inputs", r.inputs], ["outputs", mocks.outputsOf(r)]] as const) {
    for (const [k, v] of Object.entries(props)) {
      const text = stable(v);
      if (text.includes(needle) || text.includes(JSON.stringify(needle).slice(1, -1))) {
        const secret = v !== null && typeof v === "object" && "$secret" in v;
        found.push(`${kind}.${k}${secret ? " (secret)" : ""}`);
      }
    }
  }
  return found;
}

describe("IpvsCluster", async () => {
  const cluster = new IpvsCluster("edge", args());
  await mocks.settle();
  const children = childrenOf("edge");

  test("creates one IpvsDirector per director and one director resource under each", () => {
    assert.deepEqual(new Map([...children].map(([k, v]) => [k, v.type])), new Map([
      ["lb1", "ipvs:index:IpvsDirector"], ["lb2", "ipvs:index:IpvsDirector"], ["lb1-state", STATE_TYPE], ["lb2-state", STATE_TYPE],
    ]));
    assert.equal(mocks.byName("edge").type, "ipvs:index:IpvsCluster");
    assert.equal(mocks.byName("edge").custom, false);
    for (const d of ["lb1", "lb2"]) {
      assert.equal(children.get(d)!.custom, false);
      assert.equal(children.get(`${d}-state`)!.custom, true);
    }
    // only the director resources are custom: nothing else (no command, no file copy) is created
    assert.deepEqual(mocks.custom().filter((r) => r.name.startsWith("edge-")).map((r) => r.name).sort(), ["edge-lb1-state", "edge-lb2-state"]);
  });

  test("each director resource hangs under its IpvsDirector, each IpvsDirector under the cluster", async () => {
    const clusterUrn = await valueOf(cluster.urn);
    assert.equal(mocks.byName("edge").urn, clusterUrn);
    for (const [i, d] of cluster.directors.entries()) {
      const name = ["lb1", "lb2"][i]!;
      assert.ok(d instanceof IpvsDirector);
      assert.ok(d.state instanceof IpvsDirectorState);
      const directorUrn = await valueOf(d.urn);
      assert.match(directorUrn, new RegExp(`::ipvs:index:IpvsCluster\\$ipvs:index:IpvsDirector::edge-${name}$`));
      assert.equal(children.get(name)!.options.parent, clusterUrn);
      const state = stateOf("edge", name);
      assert.equal(state.options.parent, directorUrn);
      // the mock monitor puts only the parent's type in a URN (the engine puts the whole chain)
      assert.equal(await valueOf(d.state.urn), state.urn);
      assert.match(state.urn, new RegExp(`::ipvs:index:IpvsDirector\\$${STATE_TYPE.replace(/[/$]/g, "\\$&")}::edge-${name}-state$`));
    }
  });

  test("the director resource's inputs: exactly the provider's props and the serialized provider", () => {
    for (const name of ["lb1", "lb2"]) {
      const inputs = stateOf("edge", name).inputs;
      assert.deepEqual(Object.keys(inputs).sort(), STATE_INPUTS);
      assert.equal(typeof inputs.__provider, "string");
      assert.match(inputs.__provider as string, /^exports\.handler = /);
      assert.match(inputs.__provider as string, /director-provider\.[cm]?[jt]s/);
    }
  });

  test("services: the desired view, keyed by name and service key, servers by address:port; weights only for applier-owned servers", () => {
    for (const name of ["lb1", "lb2"]) {
      const services = stateOf("edge", name).inputs.services as typeof SERVICES_VIEW;
      assert.deepEqual(services, SERVICES_VIEW);
      assert.equal(services["dns udp/203.0.113.10:53"].servers["192.0.2.53:53"].weight, 1);
      for (const rs of Object.values(services["web tcp/203.0.113.10:80"].servers)) assert.ok(!("weight" in rs));
    }
  });

  test("keepalived, keepalivedConf, sysctl, owner, director and drain timeout", () => {
    for (const [i, name] of ["lb1", "lb2"].entries()) {
      const inputs = stateOf("edge", name).inputs;
      assert.equal(inputs.director, name);
      assert.equal(inputs.owner, "edge");
      assert.equal(inputs.keepalived, "running");
      assert.equal(inputs.keepalivedConf, compiled.directors[i]!.keepalivedConf);
      assert.match(inputs.keepalivedConf as string, /^virtual_server 203\.0\.113\.10 80 \{$/m);
      assert.match(inputs.keepalivedConf as string, /^vrrp_instance VI_1 \{$/m);
      assert.equal(inputs.sysctlConf, compiled.sysctlConf);
      assert.equal(inputs.keepalivedConfigDir, "/etc/keepalived");
      assert.equal(inputs.drainTimeoutSeconds, 30);
    }
  });

  test("model: the compiled director model, with no VRRP password in it, not even the placeholder", () => {
    for (const [i, name] of ["lb1", "lb2"].entries()) {
      const model = stateOf("edge", name).inputs.model as Record<string, unknown>;
      const compiledModel = JSON.parse(JSON.stringify(compiled.model.directors[i])) as Record<string, unknown>;
      // the compiled model (of the real password) holds the password: the input must not
      assert.ok(stable(compiledModel).includes(PASSWORD), "the fixture's model has a VRRP secret to leave out");
      const expected: Record<string, unknown> = { ...compiledModel, vrrpSecrets: {} };
      assert.deepEqual(model, expected);
      const text = stable(model);
      assert.ok(!text.includes(PASSWORD), `${name}: the password is in the model`);
      assert.ok(!text.includes(PASSWORD_PLACEHOLDER), `${name}: the password placeholder is in the model`);
      assert.deepEqual((model.vrrpInstances as { name: string }[]).map((v) => v.name), ["VI_1"]);
    }
  });

  test("teardownKeepalivedConf: the director's keepalived.conf without the spec's virtual servers and VRRP instances", () => {
    for (const name of ["lb1", "lb2"]) {
      const teardown = stateOf("edge", name).inputs.teardownKeepalivedConf as string;
      assert.match(teardown, new RegExp(`^global_defs \\{\\n  router_id ${name}\\n`, "m"));
      for (const absent of [/virtual_server/, /vrrp_instance/, /vrrp_sync_group/, /vrrp_script/, /vrrp-auth/, /auth_pass/, /real_server/]) {
        assert.doesNotMatch(teardown, absent);
      }
    }
  });

  test("connection: plain host, port, user and pinned host key (an Output host resolved), nothing else", () => {
    assert.deepEqual(stateOf("edge", "lb1").inputs.connection, { host: "198.51.100.11", port: 22, user: "root", hostKey: HOST_KEY_1 });
    assert.deepEqual(stateOf("edge", "lb2").inputs.connection, { host: "198.51.100.12", port: 22, user: "root", hostKey: HOST_KEY_2 });
  });

  test("credentials and secretFiles arrive as secrets, and are secret outputs", () => {
    for (const [i, name] of ["lb1", "lb2"].entries()) {
      const r = stateOf("edge", name);
      assert.deepEqual(r.inputs.credentials, { $secret: { privateKey: PRIVATE_KEY } });
      assert.deepEqual(r.inputs.secretFiles, { $secret: [{ path: "/etc/keepalived/vrrp-auth-VI_1.conf", content: `auth_pass ${PASSWORD}\n` }] });
      assert.deepEqual(r.inputs.secretFiles, { $secret: compiled.directors[i]!.secretFiles });
      assert.deepEqual(r.options.additionalSecretOutputs, ["credentials", "secretFiles"]);
    }
  });

  test("retainOnDelete is not set unless the cluster asks for it; no deleteBeforeReplace", () => {
    for (const name of ["lb1", "lb2"]) {
      assert.equal(stateOf("edge", name).options.retainOnDelete, undefined);
      assert.equal(stateOf("edge", name).options.deleteBeforeReplace, false);
    }
  });

  test("the rollout: lb2 first, then lb1 (the preferred master), which waits for lb2's director resource", async () => {
    assert.deepEqual(await valueOf(cluster.rolloutOrder), ["lb2", "lb1"]);
    assert.deepEqual(stateOf("edge", "lb2").options.dependencies, []);
    assert.deepEqual(stateOf("edge", "lb1").options.dependencies, [stateOf("edge", "lb2").urn]);
  });

  test("outputs: the rendered files in plain, the secret files only as secrets, summaries", async () => {
    assert.equal(await valueOf(cluster.ipvsadmRules), compiled.ipvsadmRules);
    assert.equal(await valueOf(cluster.sysctlConf), compiled.sysctlConf);
    for (const [i, d] of cluster.directors.entries()) {
      assert.equal(await valueOf(d.ipvsadmRules), compiled.directors[i]!.ipvsadmRules);
      assert.equal(await valueOf(d.keepalivedConf), compiled.directors[i]!.keepalivedConf);
      assert.equal(await pulumi.isSecret(d.keepalivedConf), false);
      assert.equal(await pulumi.isSecret(d.secretFiles), true);
      assert.deepEqual(await valueOf(d.secretFiles), compiled.directors[i]!.secretFiles);
    }
    const rollout = "  rollout: planned against the live table in preview, applied under the director's lock: drain, keepalived -t, verify, roll back on failure";
    assert.equal(await valueOf(cluster.planSummary), [
      "director lb2, rollout step 1 of 2",
      "  applier-owned services (ipvsadm deltas):",
      "    dns: udp 203.0.113.10:53, mh, 2 real servers",
      "  keepalived-owned services (health-checked, checked reload):",
      "    web: tcp 203.0.113.10:80, wrr, 2 real servers",
      "  VRRP VI_1: BACKUP priority 140 on eth1, VIPs 203.0.113.10/32, password in a secret include",
      rollout,
      "director lb1, rollout step 2 of 2 (the preferred master goes last)",
      "  applier-owned services (ipvsadm deltas):",
      "    dns: udp 203.0.113.10:53, mh, 2 real servers",
      "  keepalived-owned services (health-checked, checked reload):",
      "    web: tcp 203.0.113.10:80, wrr, 2 real servers",
      "  VRRP VI_1: MASTER priority 150 on eth1, VIPs 203.0.113.10/32, password in a secret include",
      rollout,
      "",
    ].join("\n"));
  });

  test("the private key and the VRRP password are in no input or output but the secret credentials and secret files", async () => {
    const mine = mocks.resources.filter((r) => r.name === "edge" || r.name.startsWith("edge-"));
    assert.equal(mine.length, 5);
    const key: string[] = [];
    const password: string[] = [];
    for (const r of mine) {
      key.push(...occurrences(r, KEY_MATERIAL).map((p) => `${r.name}.${p}`));
      password.push(...occurrences(r, PASSWORD).map((p) => `${r.name}.${p}`));
    }
    assert.deepEqual(key.sort(), ["edge-lb1-state.inputs.credentials (secret)", "edge-lb2-state.inputs.credentials (secret)"]);
    assert.deepEqual(password.sort(), [
      // IpvsDirector's documented secret output
      "edge-lb1.outputs.secretFiles (secret)", "edge-lb1-state.inputs.secretFiles (secret)",
      "edge-lb2.outputs.secretFiles (secret)", "edge-lb2-state.inputs.secretFiles (secret)",
    ].sort());
    // and the component outputs were seen at all (the scan would pass on nothing)
    assert.ok("planSummary" in mocks.outputsOf(mocks.byName("edge")));
    const plainOutputs: pulumi.Output<unknown>[] = [cluster.ipvsadmRules, cluster.sysctlConf, cluster.planSummary, cluster.rolloutOrder, cluster.warnings];
    for (const d of cluster.directors) plainOutputs.push(d.ipvsadmRules, d.keepalivedConf, d.planSummary);
    for (const o of plainOutputs) {
      const text = JSON.stringify(await valueOf(o));
      assert.ok(!text.includes(PASSWORD) && !text.includes(KEY_MATERIAL));
    }
  });
});

describe("retainOnDelete and credentials", async () => {
  new IpvsCluster("kept", args(PASSWORD, { retainOnDelete: true }));
  new IpvsCluster("notkept", args(PASSWORD, { retainOnDelete: false }));
  const withPassphrase = args(PASSWORD, { ssh: { privateKey: pulumi.secret(PRIVATE_KEY), privateKeyPassword: PASSPHRASE, user: "admin" } });
  withPassphrase.directors[1]!.ssh = { host: "198.51.100.12", hostKey: HOST_KEY_2, port: 2222, user: "lbadmin", agentSocketPath: "/run/agent.sock" };
  new IpvsCluster("pass", withPassphrase);
  await mocks.settle();

  test("IpvsCluster's retainOnDelete reaches every director resource's options", () => {
    for (const name of ["lb1", "lb2"]) {
      assert.equal(stateOf("kept", name).options.retainOnDelete, true);
      assert.equal(stateOf("notkept", name).options.retainOnDelete, false);
    }
  });

  test("a passphrase goes with the private key into the secret credentials and nowhere else; per-director ssh overrides the defaults", () => {
    assert.deepEqual(stateOf("pass", "lb1").inputs.credentials, { $secret: { privateKey: PRIVATE_KEY, privateKeyPassword: PASSPHRASE } });
    assert.deepEqual(stateOf("pass", "lb2").inputs.credentials, { $secret: { privateKey: PRIVATE_KEY, privateKeyPassword: PASSPHRASE } });
    assert.deepEqual(stateOf("pass", "lb1").inputs.connection, { host: "198.51.100.11", port: 22, user: "admin", hostKey: HOST_KEY_1 });
    assert.deepEqual(stateOf("pass", "lb2").inputs.connection,
      { host: "198.51.100.12", port: 2222, user: "lbadmin", hostKey: HOST_KEY_2, agentSocketPath: "/run/agent.sock" });
    for (const r of mocks.resources.filter((x) => x.name === "pass" || x.name.startsWith("pass-"))) {
      const expected = r.type === STATE_TYPE ? ["inputs.credentials (secret)"] : [];
      assert.deepEqual(occurrences(r, PASSPHRASE), expected, r.name);
      assert.deepEqual(occurrences(r, KEY_MATERIAL), expected, r.name);
    }
  });
});

describe("keepalived not this spec's business", async () => {
  // applier-owned services only, no VRRP: keepalived is left alone
  const plain = args(PASSWORD);
  plain.services = [plain.services[1]!];
  delete plain.vrrp;
  new IpvsCluster("applier-only", plain);
  await mocks.settle();

  test("keepalived is unmanaged, its config empty, no secret files", () => {
    for (const name of ["lb1", "lb2"]) {
      const inputs = stateOf("applier-only", name).inputs;
      assert.equal(inputs.keepalived, "unmanaged");
      assert.equal(inputs.keepalivedConf, "");
      assert.deepEqual(inputs.secretFiles, { $secret: [] });
      assert.deepEqual(Object.keys(inputs.services as object), ["dns udp/203.0.113.10:53"]);
    }
  });
});

describe("determinism", async () => {
  // the same args twice (and once with every object's keys in reverse order): the director
  // resources' inputs must be byte-identical, or `pulumi preview` would show a diff for an unchanged spec
  const reversed = <T>(value: T): T => {
    if (Array.isArray(value)) return value.map(reversed) as T;
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value as object).reverse().map(([k, v]) => [k, reversed(v)])) as T;
    }
    return value;
  };
  new IpvsCluster("twice-a", args(PASSWORD));
  new IpvsCluster("twice-b", args(PASSWORD));
  new IpvsCluster("twice-c", reversed(args(PASSWORD)));
  new IpvsCluster("twice-d", args(pulumi.secret(PASSWORD)));
  await mocks.settle();

  test("unchanged input gives byte-identical director resource inputs", () => {
    const a = childrenOf("twice-a"), b = childrenOf("twice-b"), c = childrenOf("twice-c"), d = childrenOf("twice-d");
    assert.deepEqual([...a.keys()].sort(), ["lb1", "lb1-state", "lb2", "lb2-state"]);
    for (const other of [b, c, d]) assert.deepEqual([...other.keys()].sort(), [...a.keys()].sort());
    for (const [name, r] of a) {
      assert.equal(stable(b.get(name)!.inputs), stable(r.inputs), name);
      assert.equal(stable(c.get(name)!.inputs), stable(r.inputs), `${name} (keys reordered)`);
      assert.equal(stable(d.get(name)!.inputs), stable(r.inputs), `${name} (the password a secret Output)`);
    }
    // and they are the first cluster's (another name, the same owner)
    assert.equal(stable(a.get("lb1-state")!.inputs), stable(stateOf("edge", "lb1").inputs));
  });

  test("the inputs do change when the spec does (the comparison can fail)", async () => {
    const changed = args(PASSWORD);
    changed.services[1]!.pool.servers[0]!.weight = 7;
    new IpvsCluster("twice-e", changed);
    await mocks.settle();
    const e = stateOf("twice-e", "lb1").inputs, a = stateOf("twice-a", "lb1").inputs;
    assert.notEqual(stable(e), stable(a));
    assert.equal((e.services as typeof SERVICES_VIEW)["dns udp/203.0.113.10:53"].servers["192.0.2.53:53"].weight, 7);
  });

  test("a plain-string password is wrapped as a secret too", () => {
    const a = stateOf("twice-a", "lb1");
    assert.deepEqual(a.inputs.secretFiles, { $secret: [{ path: "/etc/keepalived/vrrp-auth-VI_1.conf", content: `auth_pass ${PASSWORD}\n` }] });
    assert.ok(!plainStrings(a.inputs).some((p) => p.text.includes(PASSWORD)));
    assert.ok(secretStrings(a.inputs).some((s) => s.includes(PASSWORD)));
  });
});

describe("invalid specs", () => {
  test("fail with a ResourceError bound to the component, listing every issue with its path", async () => {
    const bad = args(PASSWORD);
    bad.services[0]!.pool.servers[0]!.weight = -1;
    bad.services[1] = { ...bad.services[1]!, address: "203.0.113.300" } as typeof bad.services[1];
    const before = mocks.resources.length;
    let caught: unknown;
    try {
      new IpvsCluster("broken", bad);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof pulumi.ResourceError, String(caught));
    assert.ok(caught.resource instanceof IpvsCluster);
    assert.match(caught.message, /^IpvsCluster broken: the spec has 2 errors:\n/);
    assert.match(caught.message, /services\[0\]\.pool\.servers\[0\]\.weight/);
    assert.match(caught.message, /services\[1\]\.address/);
    await mocks.settle();
    assert.equal(mocks.resources.filter((r, i) => i >= before && r.name.startsWith("broken-")).length, 0, "no children");
  });

  test("a bad password is reported without its value", () => {
    let caught: unknown;
    try {
      new IpvsCluster("badpass", args("much-too-long-password"));
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof pulumi.ResourceError);
    assert.match(caught.message, /vrrp\.instances\[0\]\.authPassword/);
    assert.ok(!caught.message.includes("much-too-long-password"));
  });

  test("an owner that is not a safe name is refused", async () => {
    assert.throws(() => new IpvsCluster("badowner", args(PASSWORD, { owner: "a;b" })),
      (e: unknown) => e instanceof pulumi.ResourceError && e.resource instanceof IpvsCluster && /owner "a;b" must be a name/.test(e.message));
    await mocks.settle();
    assert.ok(!mocks.resources.some((r) => r.name.startsWith("badowner-")), "no children");
  });
});

describe("rollout chain", async () => {
  const three = args(PASSWORD);
  three.directors.push({ name: "lb3", interfaces: ["eth0", "eth1"], address: "198.51.100.13", ssh: { host: "198.51.100.13", hostKey: HOST_KEY_2 } });
  const cluster = new IpvsCluster("chain", three);
  // the middle director has no ssh: nothing to roll out there, the chain goes around it
  const gap = args(PASSWORD);
  gap.directors.push({ name: "lb3", interfaces: ["eth0", "eth1"], address: "198.51.100.13", ssh: { host: "198.51.100.13", hostKey: HOST_KEY_2 } });
  delete gap.directors[1]!.ssh;
  const gapped = new IpvsCluster("gap", gap);
  await mocks.settle();

  test("the last-listed director first, the preferred master last, each waiting for the previous director resource", async () => {
    assert.deepEqual(await valueOf(cluster.rolloutOrder), ["lb3", "lb2", "lb1"]);
    assert.deepEqual(stateOf("chain", "lb3").options.dependencies, []);
    assert.deepEqual(stateOf("chain", "lb2").options.dependencies, [stateOf("chain", "lb3").urn]);
    assert.deepEqual(stateOf("chain", "lb1").options.dependencies, [stateOf("chain", "lb2").urn]);
    // registered in rollout order too
    const order = mocks.resources.filter((r) => r.name.startsWith("chain-") && r.type === STATE_TYPE).map((r) => r.name);
    assert.deepEqual(order, ["chain-lb3-state", "chain-lb2-state", "chain-lb1-state"]);
    assert.match(await valueOf(cluster.directors[0]!.planSummary), /^director lb1, rollout step 3 of 3 \(the preferred master goes last\)\n/);
  });

  test("a director without ssh gets no director resource, and the next one waits for the one before it", async () => {
    assert.deepEqual([...childrenOf("gap").keys()].sort(), ["lb1", "lb1-state", "lb2", "lb3", "lb3-state"]);
    assert.equal(gapped.directors[1]!.state, undefined);
    assert.deepEqual(await valueOf(gapped.rolloutOrder), ["lb3", "lb2", "lb1"]);
    assert.deepEqual(stateOf("gap", "lb3").options.dependencies, []);
    assert.deepEqual(stateOf("gap", "lb1").options.dependencies, [stateOf("gap", "lb3").urn]);
  });
});

describe("directors without ssh", async () => {
  const plain = args(PASSWORD);
  plain.directors = plain.directors.map(({ ssh: _ssh, ...d }) => d);
  const cluster = new IpvsCluster("render-only", plain);
  await mocks.settle();

  test("get their rendered files as outputs and no director resource", async () => {
    assert.deepEqual([...childrenOf("render-only").values()].map((r) => r.type), ["ipvs:index:IpvsDirector", "ipvs:index:IpvsDirector"]);
    assert.ok(!mocks.resources.some((r) => r.type === STATE_TYPE && r.name.startsWith("render-only-")));
    for (const d of cluster.directors) assert.equal(d.state, undefined);
    assert.equal(await valueOf(cluster.directors[0]!.keepalivedConf), compiled.directors[0]!.keepalivedConf);
    assert.match(await valueOf(cluster.directors[0]!.planSummary), /rollout: none \(no ssh settings for this director\)/);
  });
});

describe("a group service (keepalived's virtual_server_group)", async () => {
  new IpvsCluster("grouped", {
    directors: [{ name: "lb1", interfaces: ["eth0"], ssh: { host: "198.51.100.11", hostKey: HOST_KEY_1 } }],
    ssh: { privateKey: PRIVATE_KEY },
    services: [{
      name: "web", protocol: "tcp", scheduler: scheduler.rr(),
      group: { members: [{ address: "203.0.113.20", port: 80 }, { address: "203.0.113.30", last: 31, port: 443 }] },
      pool: { forwarding: forwarding.dr(), servers: [{ address: "192.0.2.11" }], healthChecks: [healthCheck.tcp({ connectPort: 80 })] },
    }],
  });
  await mocks.settle();

  test("is one service of the program, one kernel service per member in the director resource", () => {
    const inputs = stateOf("grouped", "lb1").inputs;
    assert.deepEqual(Object.keys(inputs.services as object).sort(), [
      "web.1 tcp/203.0.113.20:80", "web.2 tcp/203.0.113.30:443", "web.3 tcp/203.0.113.31:443",
    ]);
    assert.match(String(inputs.keepalivedConf), /virtual_server_group web \{/);
    assert.match(String(inputs.teardownKeepalivedConf), /^(?![\s\S]*virtual_server)/);
  });
});
