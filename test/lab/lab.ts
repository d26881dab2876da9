/**
 * Director lab: real Linux IPVS directors under QEMU (TCG) for tests.
 *
 * Each director is Debian 12's own 6.1 kernel with a small initramfs built by
 * `npm run lab:setup` (test/lab/setup.sh): busybox, ipvsadm, keepalived, sshd, iproute2,
 * perl-base, every IPVS scheduler module. Tests reach it over real SSH (ssh2, pinned
 * host key) on a 127.0.0.1 port forwarded to the guest's :22. Nothing leaves loopback:
 * the QEMU user network runs with restrict=on and only carries that forwarded port.
 *
 * Address plan. Documentation ranges only; everything below lives inside each director
 * (network namespaces built by /lab/net-setup.sh), except the shared link.
 *
 *   client ns       eth0 198.51.100.2/24   2001:db8:c::2/64   default via the director
 *   director vc0         198.51.100.1/24   2001:db8:c::1/64
 *   rs<i> ns (1..3) eth0 203.0.113.<16i+2>/28   2001:db8:<i>::2/64   default via director
 *   director vr<i>       203.0.113.<16i+1>/28   2001:db8:<i>::1/64
 *                   rs1 = 203.0.113.18, rs2 = .34, rs3 = .50 (directors .17, .33, .49)
 *   VIPs            203.0.113.128/26 (VIP_V4(0..63) = .128 .. .191) and 2001:db8:f::/64
 *                   (VIP_V6(n) = 2001:db8:f::<hex 80+n>); net-setup.sh makes both blocks
 *                   local on the director (`ip route add local ... dev lo`), so any VIP in
 *                   them needs no address added (pass --no-vip-routes to skip that)
 *   shared link     eth1 on every director when bootDirectors(n, { sharedLink: true }):
 *                   dir<k> (k = 1..n) has 192.0.2.<10+k>/24 and 2001:db8:e::<10+k>/64
 *                   (LINK_V4(k), LINK_V6(k)); free for VRRP VIPs: 192.0.2.100-.199
 *   eth0            10.0.2.15/24, QEMU's own user network: the ssh port only, no default route
 *
 * Real servers serve HTTP (busybox httpd) on 80 and 8080, body = their name ("rs2";
 * GET /port answers the port), and UDP on 5353 answering every datagram with their name.
 * /lab/rs-mode.sh prepares them for DR / TUN / NAT, /lab/req.sh sends requests from the
 * client namespace (see the helpers at the end of this file).
 *
 * Use in a test file:
 *
 *   import { after, before, describe, it } from "node:test";
 *   import { bootDirectors, labStatus, requireLabOrSkip, type LabDirector } from "./lab.js";
 *
 *   describe("my lab test", () => {
 *     let d: LabDirector;
 *     before(async () => { if (labStatus().available) [d] = await bootDirectors(1); });
 *     after(async () => { await d?.close(); });
 *     it("does something real", async (t) => {
 *       if (!requireLabOrSkip(t)) return;
 *       const r = await d.exec("ipvsadm -S -n");
 *     });
 *   });
 *
 * Environment: IPVS_LAB=required (unavailable lab fails tests), IPVS_LAB=off (skip),
 * IPVS_LAB_CACHE (image cache), IPVS_LAB_KEEP=1 (keep the temp dir with console logs),
 * IPVS_LAB_BOOT_TIMEOUT_MS (default 120000).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Client } from "ssh2";

// ------------------------------------------------------------------ address plan

export const CLIENT_NS = "client";
export const CLIENT_ADDR = "198.51.100.2";
export const CLIENT_ADDR_V6 = "2001:db8:c::2";
/** the director's address facing the client (the client's default gateway) */
export const CLIENT_GATEWAY = "198.51.100.1";
export const CLIENT_GATEWAY_V6 = "2001:db8:c::1";

export interface LabRealServer {
  /** namespace name, also the name the servers answer with */
  ns: string;
  v4: string;
  v6: string;
  /** the director's side of the veth pair */
  dirIf: string;
  dirSideV4: string;
  dirSideV6: string;
  prefixV4: string;
  prefixV6: string;
}

export const REAL_SERVERS: readonly LabRealServer[] = [1, 2, 3].map((i) => ({
  ns: `rs${i}`,
  v4: `203.0.113.${16 * i + 2}`,
  v6: `2001:db8:${i}::2`,
  dirIf: `vr${i}`,
  dirSideV4: `203.0.113.${16 * i + 1}`,
  dirSideV6: `2001:db8:${i}::1`,
  prefixV4: `203.0.113.${16 * i}/28`,
  prefixV6: `2001:db8:${i}::/64`,
}));

export const VIP_V4_BLOCK = "203.0.113.128/26";
export const VIP_V6_BLOCK = "2001:db8:f::/64";
export const HTTP_PORTS = [80, 8080] as const;
export const UDP_PORT = 5353;

/** the n-th IPv4 VIP (0..63): 203.0.113.128 + n */
export function VIP_V4(n = 0): string {
  if (!Number.isInteger(n) || n < 0 || n > 63) throw new RangeError(`VIP_V4 index ${n} not in 0..63`);
  return `203.0.113.${128 + n}`;
}

/** the n-th IPv6 VIP: 2001:db8:f::<hex 0x80 + n> (same last byte as VIP_V4(n)) */
export function VIP_V6(n = 0): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xff7f) throw new RangeError(`VIP_V6 index ${n} out of range`);
  return `2001:db8:f::${(0x80 + n).toString(16)}`;
}

/** eth1 address of director k (1-based) on the shared link */
export function LINK_V4(k: number): string {
  return `192.0.2.${10 + k}`;
}
export function LINK_V6(k: number): string {
  return `2001:db8:e::${10 + k}`;
}

// ------------------------------------------------------------------ status

export interface LabDirector {
  name: string;
  /** 1-based position in the bootDirectors() result */
  index: number;
  /** host 127.0.0.1 port forwarded to guest :22 */
  sshPort: number;
  /** the guest's pinned public host key, "ssh-ed25519 AAAA..." */
  hostKey: string;
  /** generated client key (per lab run, in a temp dir) */
  privateKeyPath: string;
  user: "root";
  /** eth1 address when booted with sharedLink */
  linkV4?: string;
  linkV6?: string;
  /** guest console output */
  consoleLog: string;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** exec that throws (with stderr) unless the exit code is 0; resolves to stdout */
  run(command: string, opts?: ExecOptions): Promise<string>;
  close(): Promise<void>;
}

export interface ExecOptions {
  stdin?: string;
  /** @default 60000 */
  timeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BootOptions {
  /** eth1 on one shared segment (192.0.2.0/24) for all directors */
  sharedLink?: boolean;
  /** @default 512 */
  memoryMb?: number;
}

interface Manifest {
  hash: string;
  /** file name of the kernel in the image dir: vmlinux (ELF, PVH boot) or vmlinuz */
  kernel?: string;
  scriptsHash: string;
  kernelVersion: string;
  missingOptionalModules?: string[];
}

const LAB_DIR = path.dirname(fileURLToPath(import.meta.url));

export function labCacheDir(): string {
  return process.env.IPVS_LAB_CACHE ?? path.join(os.homedir(), ".cache", "pulumi-ipvs-lab");
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** sha256 over setup.sh + guest/* (C-sorted), exactly as setup.sh computes it */
function currentScriptsHash(): string {
  const h = createHash("sha256");
  h.update(fs.readFileSync(path.join(LAB_DIR, "setup.sh")));
  const guest = path.join(LAB_DIR, "guest");
  const names = fs.readdirSync(guest).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const n of names) h.update(fs.readFileSync(path.join(guest, n)));
  return h.digest("hex");
}

interface Image {
  dir: string;
  kernel: string;
  initrd: string;
  manifest: Manifest;
}

let statusCache: { available: boolean; reason?: string; image?: Image } | undefined;

function computeStatus(): { available: boolean; reason?: string; image?: Image } {
  if (process.env.IPVS_LAB === "off") return { available: false, reason: "disabled by IPVS_LAB=off" };
  if (process.platform !== "linux" || process.arch !== "x64") {
    return { available: false, reason: `needs linux/x64 (this is ${process.platform}/${process.arch})` };
  }
  if (!which("qemu-system-x86_64")) return { available: false, reason: "qemu-system-x86_64 not installed (run npm run lab:setup)" };
  if (!which("ssh-keygen")) return { available: false, reason: "ssh-keygen not installed (run npm run lab:setup)" };
  let dir: string;
  let manifest: Manifest;
  try {
    // the resolved directory: a rebuild during the run must not swap files under us
    dir = fs.realpathSync(path.join(labCacheDir(), "current"));
    manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest;
  } catch {
    return { available: false, reason: `no director image in ${labCacheDir()} (run npm run lab:setup)` };
  }
  const kernel = path.join(dir, manifest.kernel ?? "vmlinuz");
  const initrd = path.join(dir, "initrd.gz");
  if (!fs.existsSync(kernel) || !fs.existsSync(initrd)) {
    return { available: false, reason: `incomplete director image in ${dir} (run npm run lab:setup)` };
  }
  if (manifest.scriptsHash !== currentScriptsHash()) {
    return { available: false, reason: "director image is older than test/lab/setup.sh or test/lab/guest/ (run npm run lab:setup)" };
  }
  return { available: true, image: { dir, kernel, initrd, manifest } };
}

/** whether the lab can run here; cached per process */
export function labStatus(): { available: boolean; reason?: string } {
  statusCache ??= computeStatus();
  return statusCache.reason === undefined
    ? { available: statusCache.available }
    : { available: statusCache.available, reason: statusCache.reason };
}

let warned = false;

/**
 * Call first in every lab test. Lab available: returns true. Unavailable: throws (fails
 * the test) when IPVS_LAB=required, otherwise prints a loud line to stderr, marks the
 * test skipped and returns false (the test should return at once).
 */
export function requireLabOrSkip(t: { skip(message?: string): void }): boolean {
  const s = labStatus();
  if (s.available) return true;
  const reason = s.reason ?? "unknown reason";
  if (process.env.IPVS_LAB === "required") {
    throw new Error(`IPVS lab required (IPVS_LAB=required) but unavailable: ${reason}`);
  }
  if (!warned) {
    warned = true;
    process.stderr.write(`*** IPVS LAB UNAVAILABLE: ${reason}; lab tests skipped ***\n`);
  }
  t.skip(`IPVS lab unavailable: ${reason}`);
  return false;
}

// ------------------------------------------------------------------ process cleanup

const liveVms = new Set<ChildProcess>();
const liveTempDirs = new Set<string>();
let handlersInstalled = false;

function killVm(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  liveVms.delete(child);
}

function killAll(): void {
  for (const c of [...liveVms]) killVm(c);
  if (process.env.IPVS_LAB_KEEP !== "1") {
    for (const d of liveTempDirs) fs.rmSync(d, { recursive: true, force: true });
    liveTempDirs.clear();
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAll);
  process.on("uncaughtExceptionMonitor", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAll();
      process.removeListener(sig, onSignal);
      // default behaviour again (unless someone else handles it)
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

// ------------------------------------------------------------------ helpers

/** single-quote for the guest's shell */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") return reject(new Error("no port"));
      srv.close(() => resolve(addr.port));
    });
  });
}

async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.on("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function isListening(port: number): boolean {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, "0");
    return fs
      .readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .some((l) => {
        const f = l.trim().split(/\s+/);
        return f[1] === `0100007F:${hex}` && f[3] === "0A";
      });
  } catch {
    return false;
  }
}

function sshKeygen(file: string, comment: string): { pub: string } {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  const pub = fs.readFileSync(`${file}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  return { pub };
}

interface CpioFile {
  name: string;
  mode: number;
  data?: Buffer | string;
}

/** a gzip'd newc archive, appended to the cached initramfs (the kernel unpacks both) */
function newcArchive(files: CpioFile[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const entry = (name: string, mode: number, data: Buffer): void => {
    const nameBuf = Buffer.from(`${name}\0`);
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBuf.length, 0];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).toUpperCase().padStart(8, "0")).join("")}`);
    parts.push(header, nameBuf, pad(header.length + nameBuf.length), data, pad(data.length));
  };
  for (const f of files) entry(f.name, f.mode, f.data === undefined ? Buffer.alloc(0) : Buffer.from(f.data));
  entry("TRAILER!!!", 0, Buffer.alloc(0));
  return gzipSync(Buffer.concat(parts));
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no console output)";
  }
}

// ------------------------------------------------------------------ boot

interface SharedLinkPlan {
  args(index: number): string[];
  /** socket listen port of director 1, which must be up before the others connect */
  listenPort?: number;
  stop(): void;
}

/** 2 directors: QEMU socket netdev (listen on the first, connect from the second) */
async function socketPairLink(): Promise<SharedLinkPlan> {
  const port = await freePort();
  return {
    args: (i) =>
      i === 1
        ? ["-netdev", `socket,id=s0,listen=127.0.0.1:${port}`]
        : ["-netdev", `socket,id=s0,connect=127.0.0.1:${port}`],
    listenPort: port,
    stop: () => {},
  };
}

/** 3+ directors: each QEMU sends its frames (dgram netdev) to a hub on 127.0.0.1, which
 *  repeats them to all the others; nothing but loopback, unlike socket mcast= */
async function udpHubLink(count: number): Promise<SharedLinkPlan> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freeUdpPort());
  const hub = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    hub.once("error", reject);
    hub.bind(0, "127.0.0.1", () => resolve());
  });
  hub.unref();
  const hubPort = hub.address().port;
  const known = new Set(ports);
  hub.on("message", (msg, rinfo) => {
    if (rinfo.address !== "127.0.0.1" || !known.has(rinfo.port)) return;
    for (const p of ports) if (p !== rinfo.port) hub.send(msg, p, "127.0.0.1");
  });
  return {
    args: (i) => [
      "-netdev",
      `dgram,id=s0,local.type=inet,local.host=127.0.0.1,local.port=${ports[i - 1]},remote.type=inet,remote.host=127.0.0.1,remote.port=${hubPort}`,
    ],
    stop: () => {
      try {
        hub.close();
      } catch {
        // closed
      }
    },
  };
}

class Director implements LabDirector {
  readonly user = "root" as const;
  linkV4?: string;
  linkV6?: string;
  private conn: Client | undefined;
  private sock: Socket | undefined;
  private inflight = 0;
  private closed = false;

  constructor(
    readonly name: string,
    readonly index: number,
    readonly sshPort: number,
    readonly hostKey: string,
    readonly privateKeyPath: string,
    readonly consoleLog: string,
    private readonly child: ChildProcess,
    private readonly onClose: () => void,
  ) {}

  async connect(deadline: number): Promise<void> {
    const blob = Buffer.from(this.hostKey.split(" ")[1] ?? "", "base64");
    const key = fs.readFileSync(this.privateKeyPath);
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) break;
      const c = new Client();
      let sock: Socket | undefined;
      try {
        sock = await new Promise<Socket>((resolve, reject) => {
          const s = connectTcp(this.sshPort, "127.0.0.1");
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        const tcp = sock;
        await new Promise<void>((resolve, reject) => {
          c.once("ready", () => resolve());
          c.once("error", reject);
          c.once("close", () => reject(new Error("connection closed before ready")));
          c.connect({
            sock: tcp,
            username: "root",
            privateKey: key,
            readyTimeout: 15000,
            hostVerifier: (k: Buffer) => k.equals(blob),
          });
        });
        c.removeAllListeners("error");
        c.removeAllListeners("close");
        c.on("error", () => {
          // reported through the exec that fails
        });
        c.on("close", () => {
          if (this.conn === c) this.conn = undefined;
        });
        this.conn = c;
        this.sock = sock;
        // an idle connection must not keep the process alive (a test that forgets close())
        sock.unref();
        return;
      } catch (e) {
        lastErr = e;
        c.end();
        sock?.destroy();
        await sleep(300);
      }
    }
    throw new Error(`${this.name}: ssh to 127.0.0.1:${this.sshPort} failed: ${String(lastErr)}`);
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.inflight += 1;
    this.sock?.ref();
    return this.execInner(command, opts).finally(() => {
      this.inflight -= 1;
      if (this.inflight === 0) this.sock?.unref();
    });
  }

  private execInner(command: string, opts: ExecOptions): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? 60000;
    return new Promise<ExecResult>((resolve, reject) => {
      const conn = this.conn;
      if (this.closed || conn === undefined) {
        reject(new Error(`${this.name}: not connected`));
        return;
      }
      conn.exec(command, (err, stream) => {
        if (err) {
          reject(new Error(`${this.name}: exec failed: ${err.message}`));
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let done = false;
        const timer = setTimeout(() => {
          if (done) return;
          done = true;
          try {
            stream.signal("KILL");
          } catch {
            // not supported
          }
          stream.close();
          reject(
            new Error(
              `${this.name}: timeout after ${timeoutMs} ms: ${command}\nstdout: ${Buffer.concat(out).toString()}\nstderr: ${Buffer.concat(errOut).toString()}`,
            ),
          );
        }, timeoutMs);
        stream.on("data", (d: Buffer) => out.push(d));
        stream.stderr.on("data", (d: Buffer) => errOut.push(d));
        stream.on("close", (code: number | null, signal?: string) => {
          clearTimeout(timer);
          if (done) return;
          done = true;
          resolve({
            code: code ?? (signal !== undefined ? 128 + 9 : 255),
            stdout: Buffer.concat(out).toString(),
            stderr: Buffer.concat(errOut).toString(),
          });
        });
        stream.end(opts.stdin ?? "");
      });
    });
  }

  async run(command: string, opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(command, opts);
    if (r.code !== 0) {
      throw new Error(`${this.name}: exit ${r.code}: ${command}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
    }
    return r.stdout;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn?.end();
    this.conn = undefined;
    this.sock?.destroy();
    this.sock = undefined;
    const exited = new Promise<void>((r) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) r();
      else this.child.once("exit", () => r());
    });
    killVm(this.child);
    await Promise.race([exited, sleep(5000)]);
    this.onClose();
  }
}

/**
 * Boots `count` directors in parallel and resolves when each accepts SSH. Every VM is
 * killed by its close(), and also on process exit, SIGINT, SIGTERM and uncaught errors.
 * With sharedLink, eth1 of all of them share one segment (LINK_V4(k) on director k).
 */
export async function bootDirectors(count: number, opts: BootOptions = {}): Promise<LabDirector[]> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be >= 1, got ${count}`);
  statusCache ??= computeStatus();
  const image = statusCache.image;
  if (!statusCache.available || image === undefined) {
    throw new Error(`IPVS lab unavailable: ${statusCache.reason ?? "unknown"}`);
  }
  installHandlers();
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ipvs-lab-"));
  liveTempDirs.add(tmp);
  const keyPath = path.join(tmp, "id_ed25519");
  const client = sshKeygen(keyPath, "ipvs-lab-client");
  const bootTimeout = Number(process.env.IPVS_LAB_BOOT_TIMEOUT_MS ?? 120000);
  const memoryMb = opts.memoryMb ?? 512;
  const shared = opts.sharedLink === true && count >= 2;
  const link = shared ? (count === 2 ? await socketPairLink() : await udpHubLink(count)) : undefined;
  const setpriv = which("setpriv");

  let open = count;
  const directorClosed = (): void => {
    open -= 1;
    if (open === 0) {
      link?.stop();
      if (process.env.IPVS_LAB_KEEP !== "1") fs.rmSync(tmp, { recursive: true, force: true });
      liveTempDirs.delete(tmp);
    }
  };

  const launch = async (k: number): Promise<Director> => {
    const name = `dir${k}`;
    const vmDir = path.join(tmp, name);
    fs.mkdirSync(vmDir);
    const hostKeyPath = path.join(vmDir, "ssh_host_ed25519_key");
    const host = sshKeygen(hostKeyPath, name);
    const config = [`LAB_NAME=${name}`, `LAB_INDEX=${k}`];
    if (shared) config.push(`LAB_LINK_V4=${LINK_V4(k)}/24`, `LAB_LINK_V6=${LINK_V6(k)}/64`);
    const overlay = newcArchive([
      { name: "etc", mode: 0o40755 },
      { name: "etc/lab", mode: 0o40755 },
      { name: "etc/lab/config", mode: 0o100644, data: `${config.join("\n")}\n` },
      { name: "etc/ssh", mode: 0o40755 },
      { name: "etc/ssh/ssh_host_ed25519_key", mode: 0o100600, data: fs.readFileSync(hostKeyPath) },
      { name: "etc/ssh/ssh_host_ed25519_key.pub", mode: 0o100644, data: fs.readFileSync(`${hostKeyPath}.pub`) },
      { name: "root", mode: 0o40700 },
      { name: "root/.ssh", mode: 0o40700 },
      { name: "root/.ssh/authorized_keys", mode: 0o100600, data: `${client.pub} ipvs-lab\n` },
    ]);
    const initrd = path.join(vmDir, "initrd.img");
    fs.copyFileSync(image.initrd, initrd);
    fs.appendFileSync(initrd, overlay);

    const consoleLog = path.join(tmp, `${name}.console.log`);
    const mac = (nic: number): string => `52:54:00:1a:${nic.toString(16).padStart(2, "0")}:${k.toString(16).padStart(2, "0")}`;

    let sshPort = 0;
    let child: ChildProcess | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      sshPort = await freePort();
      const args = [
        "-name", name,
        "-accel", "tcg",
        "-cpu", "max",
        "-m", String(memoryMb),
        "-smp", "1",
        "-nographic",
        "-vga", "none",
        "-no-reboot",
        "-kernel", image.kernel,
        "-initrd", initrd,
        "-append", "console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init",
        "-netdev", `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
        "-device", `virtio-net-pci,netdev=n0,romfile=,mac=${mac(0)}`,
        "-object", "rng-random,filename=/dev/urandom,id=rng0",
        "-device", "virtio-rng-pci,rng=rng0,romfile=",
      ];
      if (link) args.push(...link.args(k), "-device", `virtio-net-pci,netdev=s0,romfile=,mac=${mac(1)}`);
      fs.writeFileSync(consoleLog, `# qemu-system-x86_64 ${args.join(" ")}\n`);
      const fd = fs.openSync(consoleLog, "a");
      const [cmd, argv] = setpriv
        ? [setpriv, ["--pdeathsig", "KILL", "--", "qemu-system-x86_64", ...args]]
        : ["qemu-system-x86_64", args];
      const c = spawn(cmd, argv, { detached: true, stdio: ["ignore", fd, fd] });
      fs.closeSync(fd);
      liveVms.add(c);
      c.on("exit", () => liveVms.delete(c));
      // the exit handlers kill it; it must not keep the process alive by itself
      c.unref();
      child = c;
      // a lost race for the port makes qemu exit at once
      await sleep(300);
      if (c.exitCode === null && c.signalCode === null) break;
      if (!/host forwarding|Could not set up/i.test(tail(consoleLog, 5))) break;
    }
    if (child === undefined) throw new Error("unreachable");
    const vm = child;

    const deadline = Date.now() + bootTimeout;
    const fail = (why: string): Error => {
      killVm(vm);
      liveTempDirs.delete(tmp); // keep the logs
      return new Error(`${name}: ${why}; console log: ${consoleLog}\n--- last console lines ---\n${tail(consoleLog, 40)}`);
    };
    for (;;) {
      if (vm.exitCode !== null || vm.signalCode !== null) throw fail(`qemu exited (${vm.exitCode ?? vm.signalCode}) before the guest was ready`);
      const text = fs.readFileSync(consoleLog, "utf8");
      if (text.includes(`LAB-READY ${name}`)) break;
      if (/Kernel panic/.test(text)) throw fail("kernel panic");
      if (Date.now() > deadline) throw fail(`not ready within ${bootTimeout} ms`);
      await sleep(100);
    }
    const d = new Director(name, k, sshPort, host.pub, keyPath, consoleLog, vm, directorClosed);
    if (shared) {
      d.linkV4 = LINK_V4(k);
      d.linkV6 = LINK_V6(k);
    }
    try {
      await d.connect(Math.max(deadline, Date.now() + 20000));
    } catch (e) {
      throw fail(String(e));
    }
    return d;
  };

  const booting: Promise<Director>[] = [];
  for (let k = 1; k <= count; k++) {
    booting.push(launch(k));
    if (k === 1 && link?.listenPort !== undefined) {
      // the connecting side needs the listening side's socket to exist
      const until = Date.now() + 20000;
      while (!isListening(link.listenPort) && Date.now() < until) await sleep(50);
    }
  }
  const results = await Promise.allSettled(booting);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.all(results.map((r) => (r.status === "fulfilled" ? r.value.close() : Promise.resolve())));
    link?.stop();
    throw failed.reason;
  }
  const directors = results.map((r) => (r as PromiseFulfilledResult<Director>).value);
  if (process.env.IPVS_LAB_VERBOSE === "1") {
    process.stderr.write(`lab: ${count} director(s) ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${tmp})\n`);
  }
  return directors;
}

// ------------------------------------------------------------------ test network helpers

/** runs /lab/net-setup.sh: client + rs1..rs3 namespaces, servers, VIP blocks local */
export async function setupLabNetwork(d: LabDirector, opts: { vipRoutes?: boolean } = {}): Promise<void> {
  await d.run(`/lab/net-setup.sh${opts.vipRoutes === false ? " --no-vip-routes" : ""}`, { timeoutMs: 120000 });
}

/**
 * prepares real servers for a forwarding method (additive; "reset" removes all VIPs):
 * dr puts the VIPs on each namespace's lo, tun on tunl0 / ip6tnl0 and brings up the
 * ipip, ip6ip6 and gre fallback devices (gue also needs enableGue)
 */
export async function setRealServerMode(
  d: LabDirector,
  mode: "nat" | "dr" | "tun" | "reset",
  vips: readonly string[] = [],
  servers?: readonly string[],
): Promise<void> {
  const env = servers ? `RS=${shq(servers.join(" "))} ` : "";
  await d.run(`${env}/lab/rs-mode.sh ${mode} ${vips.map(shq).join(" ")}`);
}

/** makes the real servers decapsulate GUE on a UDP port (for --tun-type gue --tun-port) */
export async function enableGue(d: LabDirector, port: number, servers?: readonly string[]): Promise<void> {
  const env = servers ? `RS=${shq(servers.join(" "))} ` : "";
  await d.run(`${env}/lab/rs-mode.sh gue ${port}`);
}

export interface ClientRequestResult {
  /** the real server that answered each successful request, in order */
  servers: string[];
  failures: number;
  stderr: string;
}

/** sends `count` requests (HTTP GET or UDP datagrams) from the client namespace */
export async function clientRequests(
  d: LabDirector,
  target: { addr: string; port: number; proto?: "http" | "udp"; count?: number; timeoutSec?: number; path?: string; ns?: string },
): Promise<ClientRequestResult> {
  const count = target.count ?? 10;
  const t = target.timeoutSec ?? 3;
  const args = [
    target.proto === "udp" ? "-u" : "",
    `-n ${count}`,
    `-t ${t}`,
    target.path !== undefined ? `-p ${shq(target.path)}` : "",
    target.ns !== undefined ? `-s ${shq(target.ns)}` : "",
    shq(target.addr),
    String(target.port),
  ].filter((a) => a !== "");
  const r = await d.exec(`/lab/req.sh ${args.join(" ")}`, { timeoutMs: (count * (t + 1) + 10) * 1000 });
  const servers = r.stdout.split("\n").filter((l) => l !== "");
  const m = /ok=(\d+) fail=(\d+)/.exec(r.stderr);
  if (m === null) throw new Error(`${d.name}: req.sh gave no summary (exit ${r.code}): ${r.stderr}`);
  return { servers, failures: Number(m[2]), stderr: r.stderr };
}

/** how many answers each server gave */
export function tally(servers: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of servers) out[s] = (out[s] ?? 0) + 1;
  return out;
}
