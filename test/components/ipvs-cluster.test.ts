/**
 * IpvsCluster under Pulumi mocks: what it creates (types, names, parents), the exact file
 * and command texts (equal to compile() and stageConverge output), no spurious diffs,
 * secrets kept secret, the ResourceError for an invalid spec, and the rollout chain.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
// type-only: erased, so nothing is loaded before the mocks are installed
import type { IpvsClusterArgs } from "../../components/index.js";
import { installMocks, plainStrings, secretStrings, valueOf, type Registered } from "./support/mocks.js";

const mocks = installMocks("project", "stack");
const {
  IpvsCluster, IpvsDirector, forwarding, healthCheck, scheduler, stageDirector,
} = await import("../../components/index.js");
const { compile } = await import("../../src/index.js");

const HOST_KEY_1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB";
const HOST_KEY_2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICSB+3nLXHdkc6OFyk/K4W9l1KAgZnXWu0bGdZqw/MQZ";
const PASSWORD = "Zq8pW2xy";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAfakefakefake\n-----END OPENSSH PRIVATE KEY-----\n";

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

/** The same spec as plain compile() input (the real password, no Pulumi types). */
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

/** Children of one cluster, by name without the cluster's prefix. */
function childrenOf(prefix: string): Map<string, Registered> {
  return new Map(mocks.resources.filter((r) => r.name.startsWith(`${prefix}-`)).map((r) => [r.name.slice(prefix.length + 1), r]));
}

const asset = (r: Registered) => (r.inputs.source as { $asset?: string }).$asset;

describe("IpvsCluster", async () => {
  const cluster = new IpvsCluster("edge", args());
  await mocks.settle();
  const children = childrenOf("edge");

  test("creates one IpvsDirector per director, each with its file copies, a prepare and a converge command", () => {
    const perDirector = [
      "prepare", "apply-script", "desired-keepalived-rules", "desired-rules", "keepalived-conf", "owned", "params", "sysctl-conf",
      "manifest-sha256", "secret-vrrp-auth-VI_1", "converge",
    ];
    const expected = new Map<string, string>([["lb1", "ipvs:index:IpvsDirector"], ["lb2", "ipvs:index:IpvsDirector"]]);
    for (const d of ["lb1", "lb2"]) {
      for (const p of perDirector) {
        expected.set(`${d}-${p}`, p === "prepare" || p === "converge" ? "command:remote:Command" : "command:remote:CopyToRemote");
      }
    }
    assert.deepEqual(new Map([...children].map(([k, v]) => [k, v.type])), expected);
    assert.equal(mocks.byName("edge").type, "ipvs:index:IpvsCluster");
    assert.equal(mocks.byName("edge").custom, false);
  });

  test("children hang under their director, directors under the cluster (URN type chains)", async () => {
    for (const d of cluster.directors) {
      assert.ok(d instanceof IpvsDirector);
      assert.match(await valueOf(d.urn), /::ipvs:index:IpvsCluster\$ipvs:index:IpvsDirector::edge-lb[12]$/);
      const kids = [d.prepare!, ...d.copies, d.converge!];
      assert.equal(kids.length, 11);
      for (const k of kids) {
        // the mock monitor puts only the parent's type in a URN (the engine puts the whole chain)
        assert.match(await valueOf(k.urn), /::ipvs:index:IpvsDirector\$command:remote:(Command|CopyToRemote)::edge-lb[12]-/);
      }
    }
  });

  test("the copied files are exactly the compiled and staged texts, at the staged paths", () => {
    for (const [i, name] of ["lb1", "lb2"].entries()) {
      const staged = stageDirector(compiled, name, { owner: "edge" });
      const file = (suffix: string) => children.get(`${name}-${suffix}`)!;
      assert.equal(asset(file("keepalived-conf")), compiled.directors[i]!.keepalivedConf);
      assert.equal(file("keepalived-conf").inputs.remotePath, "/var/lib/ipvsc/stage/edge/keepalived.conf");
      assert.equal(asset(file("apply-script")), staged.files[0]!.content);
      assert.equal(file("apply-script").inputs.remotePath, "/var/lib/ipvsc/apply.sh");
      for (const f of staged.files.filter((x) => !x.secret)) {
        const copy = [...children.values()].find((r) => r.inputs.remotePath === f.path && r.name.startsWith(`edge-${name}-`));
        assert.ok(copy, f.path);
        assert.equal(asset(copy), f.content, f.path);
      }
      assert.equal(asset(file("desired-rules")), "# applier-owned services wanted on this director (ipvsadm -S -n form with -x/-y)\n"
        + "-A -u 203.0.113.10:53 -s mh -o -b mh-fallback,mh-port\n"
        + "-a -u 203.0.113.10:53 -r 192.0.2.53:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum\n"
        + "-a -u 203.0.113.10:53 -r 192.0.2.54:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum\n");
      assert.match(asset(file("desired-keepalived-rules"))!, /^-a -t 203\.0\.113\.10:80 -r 192\.0\.2\.12:8080 -m -w 1 -x 100 -y 50$/m);
      // the secret include arrives as a secret asset with the real password
      assert.deepEqual(file("secret-vrrp-auth-VI_1").inputs.source, { $secret: { $asset: `auth_pass ${PASSWORD}\n` } });
      assert.equal(file("secret-vrrp-auth-VI_1").inputs.remotePath, "/var/lib/ipvsc/stage/edge/secrets/vrrp-auth-VI_1.conf");
    }
  });

  test("the commands: a fixed converge command with the manifest hash, secret checksums on stdin, no triggers, no delete, no environment", () => {
    for (const name of ["lb1", "lb2"]) {
      const staged = stageDirector(compiled, name, { owner: "edge" });
      const converge = children.get(`${name}-converge`)!;
      assert.equal(converge.inputs.create, `sh /var/lib/ipvsc/apply.sh converge /var/lib/ipvsc/stage/edge ${staged.manifestSha256}`);
      assert.deepEqual(converge.inputs.stdin, { $secret: staged.stdin });
      assert.equal(converge.inputs.logging, "none");
      for (const absent of ["triggers", "delete", "update", "environment"]) assert.equal(converge.inputs[absent], undefined, absent);
      assert.equal(children.get(`${name}-prepare`)!.inputs.create,
        "mkdir -p /var/lib/ipvsc/stage/edge/secrets && chmod 700 /var/lib/ipvsc/stage/edge /var/lib/ipvsc/stage/edge/secrets");
    }
  });

  test("the connection pins the host key and carries the private key only as a secret", () => {
    for (const [name, host, key] of [["lb1", "198.51.100.11", HOST_KEY_1], ["lb2", "198.51.100.12", HOST_KEY_2]] as const) {
      for (const r of [...children.entries()].filter(([k]) => k.startsWith(`${name}-`) && k !== name).map(([, v]) => v)) {
        const conn = r.inputs.connection as { $secret: Record<string, unknown> };
        assert.ok(conn && "$secret" in conn, `${r.name}: the connection is secret`);
        assert.equal(conn.$secret.host, host);
        assert.equal(conn.$secret.hostKey, key);
        assert.equal(conn.$secret.user, "root");
        assert.equal(conn.$secret.port, 22);
        assert.equal(conn.$secret.privateKey, PRIVATE_KEY);
      }
    }
  });

  test("outputs: the rendered files in plain, the secret files only as secrets, summaries, the rollout order", async () => {
    assert.equal(await valueOf(cluster.ipvsadmRules), compiled.ipvsadmRules);
    assert.equal(await valueOf(cluster.sysctlConf), compiled.sysctlConf);
    assert.deepEqual(await valueOf(cluster.rolloutOrder), ["lb2", "lb1"]);
    for (const [i, d] of cluster.directors.entries()) {
      assert.equal(await valueOf(d.ipvsadmRules), compiled.directors[i]!.ipvsadmRules);
      assert.equal(await valueOf(d.keepalivedConf), compiled.directors[i]!.keepalivedConf);
      assert.equal(await pulumi.isSecret(d.keepalivedConf), false);
      assert.equal(await pulumi.isSecret(d.secretFiles), true);
      assert.deepEqual(await valueOf(d.secretFiles), compiled.directors[i]!.secretFiles);
      assert.equal(await valueOf(d.command), stageDirector(compiled, d === cluster.directors[0] ? "lb1" : "lb2", { owner: "edge" }).command);
    }
    const summary = await valueOf(cluster.planSummary);
    assert.equal(summary, [
      "director lb2, rollout step 1 of 2",
      "  applier-owned services (ipvsadm deltas):",
      "    dns: udp 203.0.113.10:53, mh, 2 real servers",
      "  keepalived-owned services (health-checked, checked reload):",
      "    web: tcp 203.0.113.10:80, wrr, 2 real servers",
      "  VRRP VI_1: BACKUP priority 140 on eth1, VIPs 203.0.113.10/32, password in a secret include",
      "  rollout: the director plans the deltas against its live table under its lock (apply.sh converge): drain, verify, roll back on failure",
      "director lb1, rollout step 2 of 2 (the preferred master goes last)",
      "  applier-owned services (ipvsadm deltas):",
      "    dns: udp 203.0.113.10:53, mh, 2 real servers",
      "  keepalived-owned services (health-checked, checked reload):",
      "    web: tcp 203.0.113.10:80, wrr, 2 real servers",
      "  VRRP VI_1: MASTER priority 150 on eth1, VIPs 203.0.113.10/32, password in a secret include",
      "  rollout: the director plans the deltas against its live table under its lock (apply.sh converge): drain, verify, roll back on failure",
      "",
    ].join("\n"));
  });

  test("the VRRP password and the private key never appear in a plain input or output", async () => {
    let seenAsSecret = { password: 0, key: 0 };
    for (const r of [mocks.byName("edge"), ...children.values()]) {
      for (const p of plainStrings(r.inputs)) {
        assert.ok(!p.text.includes(PASSWORD), `${r.name}.${p.path} holds the VRRP password in plain`);
        assert.ok(!p.text.includes("fakefakefake"), `${r.name}.${p.path} holds the private key in plain`);
      }
      const secrets = secretStrings(r.inputs);
      if (secrets.some((s) => s.includes(PASSWORD))) seenAsSecret = { ...seenAsSecret, password: seenAsSecret.password + 1 };
      if (secrets.some((s) => s.includes("fakefakefake"))) seenAsSecret = { ...seenAsSecret, key: seenAsSecret.key + 1 };
    }
    assert.equal(seenAsSecret.password, 2, "the two secret include copies");
    assert.equal(seenAsSecret.key, 22, "every remote resource of both directors");
    const plainOutputs: pulumi.Output<unknown>[] = [cluster.ipvsadmRules, cluster.sysctlConf, cluster.planSummary, cluster.rolloutOrder, cluster.warnings];
    for (const d of cluster.directors) plainOutputs.push(d.ipvsadmRules, d.keepalivedConf, d.planSummary, d.command);
    for (const o of plainOutputs) {
      const text = JSON.stringify(await valueOf(o));
      assert.ok(!text.includes(PASSWORD) && !text.includes("fakefakefake"));
    }
  });
});

describe("determinism", async () => {
  // the same args twice (and once with every object's keys in reverse order): the children's
  // inputs must be identical, or `pulumi preview` would show a diff for an unchanged spec
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
  await mocks.settle();

  test("unchanged input gives identical resource inputs", () => {
    const a = childrenOf("twice-a"), b = childrenOf("twice-b"), c = childrenOf("twice-c");
    assert.equal(a.size, 24);
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [name, r] of a) {
      assert.deepEqual(b.get(name)!.inputs, r.inputs, name);
      assert.deepEqual(c.get(name)!.inputs, r.inputs, `${name} (keys reordered)`);
    }
  });

  test("a plain-string password is wrapped as a secret too", () => {
    const a = childrenOf("twice-a");
    assert.deepEqual(a.get("lb1-secret-vrrp-auth-VI_1")!.inputs.source, { $secret: { $asset: `auth_pass ${PASSWORD}\n` } });
    assert.ok(!JSON.stringify(plainStrings(a.get("lb1-converge")!.inputs)).includes(PASSWORD));
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
  // record the options each child is registered with
  const options = new Map<string, pulumi.CustomResourceOptions>();
  const names = new Map<pulumi.Resource, string>();
  const record: pulumi.ResourceTransformation = (a) => {
    names.set(a.resource, a.name);
    options.set(a.name, a.opts);
    return undefined;
  };
  const three = args(PASSWORD);
  three.directors.push({ name: "lb3", interfaces: ["eth0", "eth1"], address: "198.51.100.13", ssh: { host: "198.51.100.13", hostKey: HOST_KEY_2 } });
  const cluster = new IpvsCluster("chain", three, { transformations: [record] });
  await mocks.settle();
  const depNames = (name: string) => {
    const deps = options.get(name)?.dependsOn;
    const list = (deps === undefined ? [] : Array.isArray(deps) ? deps : [deps]) as pulumi.Resource[];
    return list.map((r) => names.get(r) ?? "?");
  };

  test("later directors first, the preferred master last, each waiting for the previous converge", async () => {
    assert.deepEqual(await valueOf(cluster.rolloutOrder), ["lb3", "lb2", "lb1"]);
    const converges = (n: string) => depNames(`chain-${n}-converge`).filter((x) => x.endsWith("-converge"));
    assert.deepEqual(converges("lb3"), []);
    assert.deepEqual(converges("lb2"), ["chain-lb3-converge"]);
    assert.deepEqual(converges("lb1"), ["chain-lb2-converge"]);
  });

  test("each converge waits for all of its director's copies, and the copies for the prepare", () => {
    for (const d of ["lb1", "lb2", "lb3"]) {
      const copies = depNames(`chain-${d}-converge`).filter((x) => !x.endsWith("-converge")).sort();
      assert.deepEqual(copies, [
        "apply-script", "desired-keepalived-rules", "desired-rules", "keepalived-conf", "manifest-sha256", "owned", "params",
        "secret-vrrp-auth-VI_1", "sysctl-conf",
      ].map((s) => `chain-${d}-${s}`));
      assert.deepEqual(depNames(`chain-${d}-params`), [`chain-${d}-prepare`]);
    }
  });

  test("converge commands keep stdout/stderr secret and never run a delete after a replacement's create", () => {
    // options are not visible to the mocks: recorded through the transformation
    for (const d of ["lb1", "lb2", "lb3"]) {
      const o = options.get(`chain-${d}-converge`)!;
      // (@pulumi/command adds "connection" itself)
      assert.deepEqual([...(o.additionalSecretOutputs ?? [])].sort(), ["connection", "stderr", "stdout"]);
      assert.equal(o.deleteBeforeReplace, true);
      assert.equal(options.get(`chain-${d}-prepare`)!.deleteBeforeReplace, true);
    }
  });
});

describe("directors without ssh", async () => {
  const plain = args(PASSWORD);
  plain.directors = plain.directors.map(({ ssh: _ssh, ...d }) => d);
  const cluster = new IpvsCluster("render-only", plain);
  await mocks.settle();

  test("get their rendered files as outputs and nothing pushed", async () => {
    assert.deepEqual([...childrenOf("render-only").values()].map((r) => r.type), ["ipvs:index:IpvsDirector", "ipvs:index:IpvsDirector"]);
    assert.equal(await valueOf(cluster.directors[0]!.keepalivedConf), compiled.directors[0]!.keepalivedConf);
    assert.equal(await valueOf(cluster.directors[0]!.command), "");
    assert.match(await valueOf(cluster.directors[0]!.planSummary), /rollout: none \(no ssh settings for this director\)/);
  });
});
