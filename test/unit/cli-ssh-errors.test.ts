/**
 * Issue #14, point 2, the SSH side: a director that does not answer, refuses the connection,
 * shows another host key or refuses the key, and an identity file that is missing,
 * unreadable, not a key or protected by a passphrase. Each ends `plan`/`apply`/`drift`/
 * `import --director` with exit 1 and one line per director naming it and its address. The
 * directors are loopback servers in this process: a TCP port that accepts and never speaks,
 * a closed port, and ssh2's own SSH server with a generated host key (no QEMU needed).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import ssh2 from "ssh2";
import { runIpvsc, type Captured } from "../support/run-cli.js";
import { SshSession } from "../../src/ssh/ssh-session.js";

const { Server, utils } = ssh2;


const ipvsc = (argv: string[], cwd: string): Promise<Captured> => runIpvsc(argv, cwd);

/**
 * stderr is exactly these lines (regular expressions), with no stack frame anywhere; the
 * progress lines a command prints before contacting a director (`[lb1] reading state`, not
 * a terminal) are left out, and are nothing else.
 */
function assertLines(r: Captured, ...shapes: RegExp[]): void {
  for (const text of [r.out, r.err]) assert.doesNotMatch(text, /^\s+at /m, `a stack frame was printed:\n${text}`);
  const all = r.err.split("\n");
  for (const l of all.filter((x) => x.startsWith("["))) assert.match(l, /^\[[\w.-]+\] reading state$/);
  const lines = all.filter((l) => !l.startsWith("["));
  assert.equal(lines.pop(), "", `stderr does not end with a line break: ${JSON.stringify(r.err)}`);
  assert.equal(lines.length, shapes.length, `expected ${shapes.length} line(s):\n${r.err}`);
  shapes.forEach((shape, i) => assert.match(lines[i]!, shape));
}

function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

const work = mkdtempSync(join(tmpdir(), "ipvsc-ssh-errors-"));
const servers: { close: () => Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rmSync(work, { recursive: true, force: true });
});

/** The director's own host key, another one, and the client's key (files in `work`). */
const hostKeys = utils.generateKeyPairSync("ed25519");
const otherHostKey = utils.generateKeyPairSync("ed25519").public.trim();
const clientKey = utils.generateKeyPairSync("ed25519");
const KEY = join(work, "id_ed25519");
writeFileSync(KEY, clientKey.private, { mode: 0o600 });
writeFileSync(`${KEY}.pub`, `${clientKey.public}\n`);
const HOST_PUBLIC = hostKeys.public.trim();
const CLIENT_BLOB = Buffer.from(clientKey.public.trim().split(" ")[1]!, "base64");

/** `SHA256:...` of a public key line, as OpenSSH computes it (sha256 of the key blob, base64 without padding). */
function fingerprint(publicLine: string): string {
  const blob = Buffer.from(publicLine.split(" ")[1]!, "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** What the SSH server saw. */
const seen = { connections: 0, authentications: 0 };
/** Whether the SSH server accepts the client key. */
let acceptKey = true;
let sshPort = 0;

/** A TCP port that accepts connections and never says a word. */
let silentPort = 0;
/** A port nothing listens on. */
let closedPort = 0;

function listen(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

before(async () => {
  const ssh = new Server({ hostKeys: [hostKeys.private] }, (client) => {
    seen.connections++;
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => {
      seen.authentications++;
      if (acceptKey && ctx.method === "publickey" && ctx.key.data.equals(CLIENT_BLOB)) ctx.accept();
      else ctx.reject(["publickey"]);
    });
    client.on("ready", () => client.end());
  });
  sshPort = await listen(ssh);
  servers.push({ close: () => new Promise<void>((resolve) => ssh.close(() => resolve())) });

  const sockets: Socket[] = [];
  const silent = createServer((s) => {
    s.on("error", () => undefined);
    sockets.push(s);
  });
  silentPort = await listen(silent);
  servers.push({
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      silent.close(() => resolve());
    }),
  });

  const closed = createServer();
  closedPort = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

/** A valid spec whose directors are at these ports of 127.0.0.1, pinning these host keys. */
function spec(directors: { name: string; port: number; hostKey?: string }[]): string {
  return [
    "directors:",
    ...directors.flatMap((d) => [
      `  - name: ${d.name}`,
      "    interfaces: [eth0]",
      `    ssh: { host: 127.0.0.1, port: ${d.port}, hostKey: "${d.hostKey ?? HOST_PUBLIC}" }`,
    ]),
    "services:",
    "  - name: web",
    "    protocol: tcp",
    "    address: 203.0.113.10",
    "    port: 80",
    "    pool:",
    "      servers:",
    "        - { address: 192.0.2.11 }",
    "",
  ].join("\n");
}

function specDir(text: string): string {
  const dir = mkdtempSync(join(work, "spec-"));
  writeFileSync(join(dir, "spec.yaml"), text);
  return dir;
}

describe("a director that does not answer", () => {
  test("plan: a blackholed port -> exit 1 after the connect timeout, `no answer within 1 s`", { timeout: 30_000 }, async () => {
    const dir = specDir(spec([{ name: "lb1", port: silentPort }]));
    const started = Date.now();
    const r = await ipvsc(["plan", "spec.yaml", "-i", KEY, "--connect-timeout", "1"], dir);
    const took = Date.now() - started;
    assert.equal(r.code, 1, r.out + r.err);
    assert.equal(r.out, "");
    assertLines(r, new RegExp(`^ipvsc plan: director lb1 \\(127\\.0\\.0\\.1:${silentPort}\\): no answer within 1 s$`));
    assert.ok(took >= 900 && took < 6000, `gave up after ${took} ms`);
  });

  test("drift and apply take --connect-timeout too", { timeout: 30_000 }, async () => {
    const dir = specDir(spec([{ name: "lb1", port: silentPort }]));
    const drift = await ipvsc(["drift", "spec.yaml", "-i", KEY, "--connect-timeout", "0.5"], dir);
    assert.equal(drift.code, 1);
    assertLines(drift, new RegExp(`^ipvsc drift: director lb1 \\(127\\.0\\.0\\.1:${silentPort}\\): no answer within 0\\.5 s$`));
    const apply = await ipvsc(["apply", "spec.yaml", "--yes", "-i", KEY, "--connect-timeout", "0.5"], dir);
    assert.equal(apply.code, 1);
    assertLines(apply, new RegExp(`^ipvsc apply: director lb1 \\(127\\.0\\.0\\.1:${silentPort}\\): no answer within 0\\.5 s$`));
  });

  test("a closed port -> exit 1 at once, `connection refused`", { timeout: 30_000 }, async () => {
    const dir = specDir(spec([{ name: "lb1", port: closedPort }]));
    const started = Date.now();
    const r = await ipvsc(["plan", "spec.yaml", "-i", KEY], dir);
    assert.equal(r.code, 1);
    assertLines(r, new RegExp(`^ipvsc plan: director lb1 \\(127\\.0\\.0\\.1:${closedPort}\\): connection refused$`));
    assert.ok(Date.now() - started < 5000);
  });

  test("two directors failing: one line each, every director waited for", { timeout: 30_000 }, async () => {
    const dir = specDir(spec([{ name: "lb1", port: silentPort }, { name: "lb2", port: closedPort }]));
    const r = await ipvsc(["plan", "spec.yaml", "-i", KEY, "--connect-timeout", "1"], dir);
    assert.equal(r.code, 1);
    assertLines(r,
      new RegExp(`^ipvsc plan: director lb1 \\(127\\.0\\.0\\.1:${silentPort}\\): no answer within 1 s$`),
      new RegExp(`^ipvsc plan: director lb2 \\(127\\.0\\.0\\.1:${closedPort}\\): connection refused$`));
  });
});

describe("a director whose host key differs from the pinned one", () => {
  test("plan -> exit 1, the offered key's type and SHA256 fingerprint, no authentication attempted", { timeout: 30_000 }, async () => {
    const dir = specDir(spec([{ name: "lb1", port: sshPort, hostKey: otherHostKey }]));
    const before = { ...seen };
    const r = await ipvsc(["plan", "spec.yaml", "-i", KEY], dir);
    assert.equal(r.code, 1, r.out + r.err);
    assertLines(r, new RegExp(`^ipvsc plan: director lb1 \\(127\\.0\\.0\\.1:${sshPort}\\): host key differs from the pinned one ` +
      `\\(ssh-ed25519 ${re(fingerprint(HOST_PUBLIC))} offered\\); not connecting$`));
    assert.equal(seen.connections, before.connections + 1, "the director was reached");
    assert.equal(seen.authentications, before.authentications, "the client authenticated to a host with another key");
  });

  test("the fingerprint is the one ssh-keygen -l prints", (t) => {
    let keygen: string;
    try {
      const pub = join(work, "host.pub");
      writeFileSync(pub, `${HOST_PUBLIC}\n`);
      keygen = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pub], { encoding: "utf8" });
    } catch {
      return t.skip("no ssh-keygen");
    }
    assert.equal(keygen.split(" ")[1], fingerprint(HOST_PUBLIC));
  });

  test("import --director -> exit 1, the same message", { timeout: 30_000 }, async () => {
    const r = await ipvsc(["import", "--director", "lb1", "--host", "127.0.0.1", "--port", String(sshPort), "--host-key", otherHostKey, "-i", KEY], work);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assertLines(r, new RegExp(`^ipvsc import: director lb1 \\(127\\.0\\.0\\.1:${sshPort}\\): host key differs from the pinned one \\(ssh-ed25519 ${re(fingerprint(HOST_PUBLIC))} offered\\); not connecting$`));
  });

  test("the pinned key and the client key: SshSession connects (the transport under the tests works)", { timeout: 30_000 }, async () => {
    const session = await SshSession.connect({ name: "lb1", host: "127.0.0.1", port: sshPort, user: "root", hostKey: HOST_PUBLIC, privateKeyPath: KEY, readyTimeoutMs: 5000 });
    session.close();
  });

  test("a refused key -> exit 1, `authentication as root refused (key <file>)`", { timeout: 30_000 }, async () => {
    acceptKey = false;
    try {
      const dir = specDir(spec([{ name: "lb1", port: sshPort }]));
      const r = await ipvsc(["plan", "spec.yaml", "-i", KEY], dir);
      assert.equal(r.code, 1);
      assertLines(r, new RegExp(`^ipvsc plan: director lb1 \\(127\\.0\\.0\\.1:${sshPort}\\): authentication as root refused \\(key ${re(KEY)}\\)$`));
    } finally {
      acceptKey = true;
    }
  });
});

describe("an identity file that cannot be used -> exit 1 naming it, before any director is contacted", () => {
  const encrypted = utils.generateKeyPairSync("ed25519", { passphrase: "correct horse", cipher: "aes256-ctr", rounds: 16 });
  const files: Record<string, string> = {
    protected: encrypted.private,
    garbage: "this is not a key\n",
    public: `${clientKey.public}\n`,
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(work, `key-${name}`), content, { mode: 0o600 });
  mkdirSync(join(work, "key-dir"));

  const cases: [string, string, string][] = [
    ["a missing file", "key-missing", "cannot read it: no such file or directory"],
    ["a directory", "key-dir", "cannot read it: is a directory"],
    ["a passphrase-protected key", "key-protected", "is protected by a passphrase; load it into ssh-agent (ssh-add, SSH_AUTH_SOCK) instead"],
    ["a file that is no key", "key-garbage", "not a private key ssh2 can read (OpenSSH, PEM or PuTTY format expected)"],
    ["a public key", "key-public", "is a public key; give the private key file (without .pub)"],
  ];
  for (const [what, file, reason] of cases) {
    test(`${what}: \`identity file <path>: ${reason}\``, { timeout: 30_000 }, async () => {
      const dir = specDir(spec([{ name: "lb1", port: sshPort }]));
      const before = seen.connections;
      const r = await ipvsc(["plan", "spec.yaml", "--identity", join(work, file)], dir);
      assert.equal(r.code, 1);
      assertLines(r, new RegExp(`^ipvsc plan: identity file ${re(join(work, file))}: ${re(reason)}$`));
      assert.equal(seen.connections, before, "a director was contacted");
      // never the key itself
      const content = files[file.replace(/^key-/, "")];
      if (content !== undefined) {
        for (const line of content.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))) {
          assert.ok(!r.err.includes(line.slice(0, 20)), "the key's text was printed");
        }
      }
    });
  }

  test("a relative --identity is the file in the working directory", { timeout: 30_000 }, async () => {
    const dir = specDir(spec([{ name: "lb1", port: sshPort }]));
    const r = await ipvsc(["plan", "spec.yaml", "-i", "nope"], dir);
    assert.equal(r.code, 1);
    assertLines(r, new RegExp(`^ipvsc plan: identity file ${re(join(dir, "nope"))}: cannot read it: no such file or directory$`));
  });
});
