/**
 * SSH to a director with ssh2: the host key is pinned (a connection presenting any other key
 * is refused), the client authenticates with a key file or the agent. Secrets never enter
 * command strings: file contents travel on stdin.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import ssh2, { type Client as SshClient, type ConnectConfig } from "ssh2";
import { formatAddressPort } from "../model/addresses.js";
import { reasonOf } from "../system-errors.js";

const { Client, utils } = ssh2;

/** How long a connection may take to be ready (TCP, SSH handshake, authentication) unless the target says. */
export const DEFAULT_READY_TIMEOUT_MS = 20_000;

/** Largest private key file read (an RSA-16384 key is about 13 kB). */
const MAX_KEY_BYTES = 1024 * 1024;

/** Where and as whom to connect. */
export interface SshTargetConfig {
  /** the director's name, for messages: `director <name> (<host>:<port>): ...` */
  name?: string;
  host: string;
  port: number;
  user: string;
  /** pinned public host key, "ssh-ed25519 AAAA..." */
  hostKey: string;
  privateKeyPath?: string;
  /** private key text (e.g. from a secret); preferred over privateKeyPath */
  privateKey?: string;
  /** the private key's passphrase (a secret, e.g. from Pulumi config) */
  passphrase?: string;
  agent?: string;
  /** longest wait for the connection to be ready: TCP connect, SSH handshake, authentication */
  readyTimeoutMs?: number;
}

/** The result of a remote command. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The key blob of an OpenSSH public key line. */
function keyBlob(line: string): Buffer {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error) throw new Error(`cannot parse pinned host key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error("cannot parse pinned host key");
  return key.getPublicSSH();
}

/** `director lb1 (192.0.2.1:22)`, or without a name `ssh root@192.0.2.1:22`: how messages name a target. */
export function targetLabel(target: Pick<SshTargetConfig, "name" | "host" | "port" | "user">): string {
  const where = formatAddressPort(target.host, target.port);
  return target.name !== undefined ? `director ${target.name} (${where})` : `ssh ${target.user}@${where}`;
}

/** `ssh-ed25519 SHA256:...`: a public key blob as `ssh-keygen -l` names it. */
export function keyFingerprint(blob: Buffer): string {
  let type = "unknown key type";
  if (blob.length >= 4) {
    const n = blob.readUInt32BE(0);
    if (n > 0 && n <= 64 && blob.length >= 4 + n) type = blob.subarray(4, 4 + n).toString("latin1").replace(/[^\x21-\x7e]/g, "?");
  }
  return `${type} SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/**
 * Reads a private key file and checks it before any connection: the error names the file and
 * says what is wrong (missing, unreadable, not a private key, protected by a passphrase that
 * was not given) without ever showing the key. Returns the key's bytes.
 */
export async function loadPrivateKey(path: string, passphrase?: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(path, MAX_KEY_BYTES + 1);
  } catch (e) {
    throw new Error(`identity file ${path}: cannot read it: ${reasonOf(e)}`);
  }
  if (bytes.length > MAX_KEY_BYTES) throw new Error(`identity file ${path}: not a private key (larger than 1 MiB)`);
  const problem = keyProblem(bytes, passphrase);
  if (problem !== undefined) throw new Error(`identity file ${path}: ${problem}`);
  return bytes;
}

/** At most `max` bytes of a file (a device or a pipe never makes this read forever). */
async function readBounded(path: string, max: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(max);
    let n = 0;
    while (n < max) {
      const { bytesRead } = await handle.read(buf, n, max - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** What is wrong with private key material, in words (never its content); undefined when ssh2 can use it. */
function keyProblem(key: Buffer | string, passphrase?: string): string | undefined {
  let parsed: ReturnType<typeof utils.parseKey>;
  try {
    parsed = passphrase === undefined ? utils.parseKey(key) : utils.parseKey(key, passphrase);
  } catch {
    return "not a private key ssh2 can read";
  }
  if (parsed instanceof Error) {
    if (/encrypted/i.test(parsed.message) && /no passphrase/i.test(parsed.message)) {
      return "is protected by a passphrase; load it into ssh-agent (ssh-add, SSH_AUTH_SOCK) instead";
    }
    if (/passphrase/i.test(parsed.message)) return "cannot be decrypted with the passphrase given";
    return "not a private key ssh2 can read (OpenSSH, PEM or PuTTY format expected)";
  }
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (first === undefined) return "holds no key";
  if (!first.isPrivateKey()) return "is a public key; give the private key file (without .pub)";
  return undefined;
}

/** Why a connection attempt failed, in words. */
function connectFailure(e: Error & { level?: string; code?: string }, state: { offered?: Buffer; handshaken: boolean; timeoutMs: number; user: string; auth: string }): string {
  if (state.offered !== undefined) return `host key differs from the pinned one (${keyFingerprint(state.offered)} offered); not connecting`;
  if (e.level === "client-timeout") return timeoutFailure(state);
  if (e.level === "client-authentication") return `authentication as ${state.user} refused (${state.auth})`;
  if (e.level === "agent") return `ssh-agent failed: ${firstLine(e.message)}`;
  if (typeof e.code === "string" && /^E[A-Z]+$/.test(e.code)) return reasonOf(e);
  if (/Connection lost before handshake/i.test(e.message)) return "the connection closed before the SSH handshake (is this an SSH server?)";
  return firstLine(e.message);
}

function timeoutFailure(state: { handshaken: boolean; timeoutMs: number; user: string }): string {
  const s = `${Number((state.timeoutMs / 1000).toFixed(3))} s`;
  return state.handshaken ? `authentication as ${state.user} did not finish within ${s}` : `no answer within ${s}`;
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").trim() || "failed";
}

/** An open SSH connection to one director. */
export class SshSession {
  private constructor(private readonly client: SshClient, readonly target: SshTargetConfig) {}

  /**
   * Connects, verifying the host key against the pinned one: another key ends the attempt
   * before authentication. The whole attempt (TCP connect, handshake, authentication) is
   * bounded by `readyTimeoutMs`. Every failure is one Error whose message names the target:
   * `director lb1 (192.0.2.1:22): connection refused`.
   */
  static async connect(target: SshTargetConfig): Promise<SshSession> {
    const label = targetLabel(target);
    let pinned: Buffer;
    try {
      pinned = keyBlob(target.hostKey);
    } catch (e) {
      throw new Error(`${label}: ${(e as Error).message}`);
    }
    const timeoutMs = target.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const state: { offered?: Buffer; handshaken: boolean; timeoutMs: number; user: string; auth: string } = {
      handshaken: false, timeoutMs, user: target.user, auth: "",
    };
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      // ours below ends the attempt first; ssh2's is the backstop
      readyTimeout: timeoutMs + 5000,
      hostVerifier: (key: Buffer) => {
        if (Buffer.compare(key, pinned) === 0) return true;
        state.offered = Buffer.from(key);
        return false;
      },
    };
    if (target.privateKey !== undefined) {
      const problem = keyProblem(target.privateKey, target.passphrase);
      if (problem !== undefined) throw new Error(`${label}: the private key ${problem}`);
      config.privateKey = target.privateKey;
      state.auth = "the private key given";
    } else if (target.privateKeyPath !== undefined) {
      try {
        config.privateKey = await loadPrivateKey(target.privateKeyPath, target.passphrase);
      } catch (e) {
        throw new Error(`${label}: ${(e as Error).message}`);
      }
      state.auth = `key ${target.privateKeyPath}`;
    }
    if (target.passphrase !== undefined) config.passphrase = target.passphrase;
    const agent = target.agent ?? process.env.SSH_AUTH_SOCK;
    if (config.privateKey === undefined) {
      if (!agent) throw new Error(`${label}: no private key to authenticate with (give an identity file, or load a key into ssh-agent: SSH_AUTH_SOCK)`);
      config.agent = agent;
      state.auth = "the keys of ssh-agent";
    }
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        reject(new Error(`${label}: ${reason}`));
      };
      const timer = setTimeout(() => fail(timeoutFailure(state)), timeoutMs);
      client.once("handshake", () => void (state.handshaken = true));
      client.once("ready", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      });
      // `on`, not `once`: ssh2 emits more than one error for one failure (a handshake timeout,
      // then "Connection lost before handshake" as it drops the socket); an unheard one would
      // be an uncaught exception. The first settles the promise.
      client.on("error", (e: Error) => fail(connectFailure(e, state)));
      client.once("close", () => fail(state.offered !== undefined ? connectFailure(new Error("host key refused"), state) : "the connection closed before it was ready"));
      try {
        client.connect(config);
      } catch (e) {
        fail(connectFailure(e as Error, state));
      }
    });
    return new SshSession(client, target);
  }

  /** Runs a command; `stdin` is written and closed. Never rejects on a non-zero exit. */
  exec(command: string, opts: { stdin?: string; onStdout?: (chunk: string) => void; timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream) => {
        if (err) return reject(err);
        let stdout = "", stderr = "";
        let timer: NodeJS.Timeout | undefined;
        if (opts.timeoutMs) {
          timer = setTimeout(() => {
            stream.close();
            reject(new Error(`ssh: command timed out after ${opts.timeoutMs} ms`));
          }, opts.timeoutMs);
        }
        stream.on("data", (d: Buffer) => {
          const s = d.toString("utf8");
          stdout += s;
          opts.onStdout?.(s);
        });
        stream.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        stream.on("close", (code: number | null) => {
          if (timer) clearTimeout(timer);
          resolve({ code: code ?? 255, stdout, stderr });
        });
        stream.end(opts.stdin ?? "");
      });
    });
  }

  /** Writes a file atomically with the given mode; the content travels on stdin only. */
  async writeFile(path: string, content: string, mode: number): Promise<void> {
    const dir = path.replace(/\/[^/]+$/, "") || "/";
    const octal = mode.toString(8);
    const r = await this.exec(
      `umask 077 && mkdir -p '${dir}' && cat > '${path}.tmp' && chmod ${octal} '${path}.tmp' && mv '${path}.tmp' '${path}'`,
      { stdin: content },
    );
    if (r.code !== 0) throw new Error(`ssh: could not write ${path}: ${r.stderr.trim()}`);
  }

  /**
   * Writes several files in one round trip: one `sh` runs a script that writes each file with
   * the `printf` builtin (contents never appear in a command line or a process argument
   * list), sets the modes, then renames each into place atomically. The script travels on
   * stdin into a 0600 temporary file next to the first file, and `sh` runs that file: a shell
   * reading its script from a pipe reads it a byte at a time (2 s for 90 kB on a slow director).
   */
  async writeFiles(files: readonly { path: string; content: string; mode: number }[]): Promise<void> {
    if (files.length === 0) return;
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    // a temporary name per writer ($$): two applies uploading at once never rename each other's half-written file
    const tmp = (path: string) => `${q(path)}.ipvsc-tmp.$$`;
    const dirs = [...new Set(files.map((f) => f.path.replace(/\/[^/]+$/, "") || "/"))];
    const script = ["set -e", "umask 077", `mkdir -p ${dirs.map(q).join(" ")}`];
    for (const f of files) script.push(`printf '%s' ${q(f.content)} > ${tmp(f.path)}`);
    for (const mode of [...new Set(files.map((f) => f.mode))]) {
      script.push(`chmod ${mode.toString(8)} ${files.filter((f) => f.mode === mode).map((f) => tmp(f.path)).join(" ")}`);
    }
    for (const f of files) script.push(`mv -f ${tmp(f.path)} ${q(f.path)}`);
    const first = dirs[0]!;
    const r = await this.exec(
      // the script holds secret file contents: removed on every way out, a dropped session too
      `umask 077 && mkdir -p ${q(first)} && t=$(mktemp ${q(`${first}/.ipvsc-upload.`)}XXXXXX) && ` +
        `trap 'rm -f "$t"' EXIT && trap 'exit 129' HUP INT TERM PIPE && cat > "$t" && sh "$t"`,
      { stdin: `${script.join("\n")}\n` },
    );
    if (r.code !== 0) throw new Error(`ssh: could not write ${files.length} file(s): ${r.stderr.trim()}`);
  }

  close(): void {
    this.client.end();
  }
}
