/**
 * SSH to a director with ssh2: the host key is pinned (a connection presenting any other key
 * is refused), the client authenticates with a key file or the agent. Secrets never enter
 * command strings: file contents travel on stdin.
 */
import { readFile } from "node:fs/promises";
import ssh2, { type Client as SshClient, type ConnectConfig } from "ssh2";

const { Client, utils } = ssh2;

/** Where and as whom to connect. */
export interface SshTargetConfig {
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

/** An open SSH connection to one director. */
export class SshSession {
  private constructor(private readonly client: SshClient, readonly target: SshTargetConfig) {}

  /** Connects, verifying the host key against the pinned one. */
  static async connect(target: SshTargetConfig): Promise<SshSession> {
    const pinned = keyBlob(target.hostKey);
    const client = new Client();
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      hostVerifier: (key: Buffer) => Buffer.compare(key, pinned) === 0,
    };
    if (target.privateKey !== undefined) config.privateKey = target.privateKey;
    else if (target.privateKeyPath !== undefined) config.privateKey = await readFile(target.privateKeyPath);
    if (target.passphrase !== undefined) config.passphrase = target.passphrase;
    const agent = target.agent ?? process.env.SSH_AUTH_SOCK;
    if (config.privateKey === undefined && agent) config.agent = agent;
    await new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      // `on`, not `once`: ssh2 emits more than one error for one failure (a handshake timeout,
      // then "Connection lost before handshake" as it drops the socket); an unheard one would
      // be an uncaught exception. The first settles the promise.
      client.on("error", (e: Error) => {
        const reason = /verification failed/i.test(e.message)
          ? `host key of ${target.host}:${target.port} does not match the pinned key (refusing to connect)`
          : e.message;
        reject(new Error(`ssh ${target.user}@${target.host}:${target.port}: ${reason}`));
      });
      client.connect(config);
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
