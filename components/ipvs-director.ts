/**
 * One director's push: every staged file as a remote.CopyToRemote of a StringAsset (so
 * `pulumi preview --diff` shows line diffs), the secret includes as secret assets, then one
 * remote.Command that runs `sh /var/lib/ipvsc/apply.sh converge DIR SHA256`: the director
 * computes the ipvsadm deltas against its live table under its lock, drains, reloads
 * keepalived after `keepalived -t`, verifies and rolls back on failure.
 *
 * Why each remote.Command setting (reference/pulumi.md):
 * - no `triggers`: a trigger change means replace; a change of `create` (the manifest hash
 *   changes with any staged file) or of `stdin` (the secret files' checksums) is an update,
 *   which runs `create` again: exactly one converge per change, none when nothing changed;
 * - no `delete`: destroying the stack leaves the director serving (remove services by
 *   declaring fewer of them); `deleteBeforeReplace` so a future delete could never undo a
 *   fresh create;
 * - no `environment` (needs sshd AcceptEnv), no secrets in the command text; the secret
 *   checksums go on stdin, stdout/stderr are kept secret in the state.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, type types } from "@pulumi/command";
import { SshEndpoint, stageConverge, type CompileOutput, type StagedConverge } from "../src/index.js";
import type { SshArgs } from "./cluster-args.js";

/** A rendered secret file: an include of keepalived.conf holding one VRRP password. */
export interface SecretFile {
  path: string;
  content: string;
}

/** Options of {@link stageDirector}. */
export interface StageDirectorOptions {
  owner: string;
  /** @default 30 */
  drainTimeoutSeconds?: number;
  /** the real secret files; default: the ones compiled in `compiled` */
  secretFiles?: SecretFile[];
}

/**
 * The files and the command the components push to one director: what a lab test runs by
 * hand to check the command against a real director (upload `files`, run `command` with
 * `stdin` on its standard input).
 */
export function stageDirector(compiled: CompileOutput, director: string, options: StageDirectorOptions): StagedConverge {
  const model = compiled.model.directors.find((d) => d.name === director);
  const artifacts = compiled.directors.find((d) => d.name === director);
  if (!model || !artifacts) throw new Error(`no director ${director} in the compiled spec`);
  return stageConverge({
    director: model,
    keepalivedConf: artifacts.keepalivedConf,
    secretFiles: options.secretFiles ?? artifacts.secretFiles,
    sysctlConf: compiled.sysctlConf,
    keepalivedConfigDir: compiled.model.keepalived.configDir,
    owner: options.owner,
    drainTimeoutSeconds: options.drainTimeoutSeconds ?? 30,
  });
}

/** Where this director sits in the rollout. */
export interface RolloutPosition {
  /** 1-based */
  step: number;
  of: number;
}

/** Arguments of {@link IpvsDirector}. */
export interface IpvsDirectorArgs {
  /** the compiled spec (compile() output); its secret files are not used: see `secretFiles` */
  compiled: CompileOutput;
  /** the director's name in the spec */
  director: string;
  /** this director's secret include files with the real passwords */
  secretFiles: pulumi.Input<SecretFile[]>;
  /** absent: nothing is pushed; the rendered files are still outputs */
  ssh?: SshArgs;
  owner: string;
  /** @default 30 */
  drainTimeoutSeconds?: number;
  /** resources whose success this director's converge waits for (the previous director's) */
  after?: pulumi.Resource[];
  rollout?: RolloutPosition;
  /** @default false */
  showApplyLog?: boolean;
}

/** `desired.rules` -> `desired-rules`, `secrets/vrrp-auth-VI_1.conf` -> `secret-vrrp-auth-VI_1` */
function resourceSuffix(file: string): string {
  if (file.startsWith("secrets/")) return `secret-${file.slice("secrets/".length).replace(/\.conf$/, "")}`;
  return file.replace(/[^A-Za-z0-9_-]/g, "-");
}

/** Summary of what the director gets: plain, readable in a preview, no secrets. */
export function summarizeDirector(compiled: CompileOutput, director: string, staged: StagedConverge | undefined, rollout?: RolloutPosition): string {
  const d = compiled.model.directors.find((x) => x.name === director)!;
  const lines: string[] = [];
  const position = rollout ? `, rollout step ${rollout.step} of ${rollout.of}${rollout.step === rollout.of && rollout.of > 1 ? " (the preferred master goes last)" : ""}` : "";
  lines.push(`director ${director}${position}`);
  const servers = (n: number) => `${n} real server${n === 1 ? "" : "s"}`;
  for (const owner of ["applier", "keepalived"] as const) {
    const services = d.services.filter((s) => s.owner === owner);
    if (services.length === 0) continue;
    lines.push(owner === "applier" ? "  applier-owned services (ipvsadm deltas):" : "  keepalived-owned services (health-checked, checked reload):");
    for (const s of services) {
      const key = s.ipvs.key.kind === "fwmark" ? `fwmark ${s.ipvs.key.fwmark}${s.ipvs.key.family === "inet6" ? " (inet6)" : ""}` : `${s.ipvs.key.protocol} ${s.ipvs.key.address}:${s.ipvs.key.port}`;
      lines.push(`    ${s.name}: ${key}, ${s.ipvs.scheduler}, ${servers(s.ipvs.realServers.length)}`);
    }
  }
  if (d.services.length === 0) lines.push("  no services");
  for (const v of d.vrrpInstances) {
    lines.push(`  VRRP ${v.name}: ${v.state} priority ${v.priority} on ${v.interface}, VIPs ${v.vips.join(" ")}${v.hasAuthPassword ? ", password in a secret include" : ""}`);
  }
  lines.push(staged
    ? "  rollout: the director plans the deltas against its live table under its lock (apply.sh converge): drain, verify, roll back on failure"
    : "  rollout: none (no ssh settings for this director)");
  return `${lines.join("\n")}\n`;
}

function checkedSsh(ssh: SshArgs, parent: pulumi.Resource, director: string): types.input.remote.ConnectionArgs {
  // host and host key given as Outputs are checked once known (plain ones were checked by compile)
  const check = (field: "host" | "hostKey", value: pulumi.Input<string>) =>
    typeof value === "string" ? value : pulumi.output(value).apply((v) => {
      const probe = { host: field === "host" ? v : "192.0.2.1", hostKey: field === "hostKey" ? v : "ssh-ed25519 AAAA" };
      const r = SshEndpoint.safeParse(probe);
      if (!r.success) {
        throw new pulumi.ResourceError(`director ${director}: ssh.${field} ${field === "host" ? `"${v}" ` : ""}is not valid: ${r.error.issues.map((i) => i.message).join("; ")}`, parent);
      }
      return v;
    });
  const connection: types.input.remote.ConnectionArgs = {
    host: check("host", ssh.host),
    port: ssh.port ?? 22,
    user: ssh.user ?? "root",
    hostKey: check("hostKey", ssh.hostKey),
  };
  // always secret, so the connection never flips between secret and plain (pulumi-command#447)
  if (ssh.privateKey !== undefined) connection.privateKey = pulumi.secret(ssh.privateKey);
  if (ssh.privateKeyPassword !== undefined) connection.privateKeyPassword = pulumi.secret(ssh.privateKeyPassword);
  if (ssh.agentSocketPath !== undefined) connection.agentSocketPath = ssh.agentSocketPath;
  return connection;
}

/**
 * One director: its rendered files as outputs, and (with `ssh`) the push and converge.
 * Usually created by {@link IpvsCluster}; usable alone with a spec compiled elsewhere.
 */
export class IpvsDirector extends pulumi.ComponentResource {
  /** this director's share of the table, in `ipvsadm -R` form (with -x/-y) */
  public readonly ipvsadmRules: pulumi.Output<string>;
  public readonly keepalivedConf: pulumi.Output<string>;
  /** the VRRP password includes: a secret */
  public readonly secretFiles: pulumi.Output<SecretFile[]>;
  /** what the director gets, in words */
  public readonly planSummary: pulumi.Output<string>;
  /** the converge command text (no secrets), or "" without ssh */
  public readonly command: pulumi.Output<string>;
  /** the staged file copies (apply.sh first), empty without ssh */
  public readonly copies: remote.CopyToRemote[] = [];
  /** creates the staging directory with mode 0700 before anything is copied */
  public readonly prepare: remote.Command | undefined;
  /** the converge; the next director in the rollout waits for it */
  public readonly converge: remote.Command | undefined;

  constructor(name: string, args: IpvsDirectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ipvs:index:IpvsDirector", name, {}, opts);
    const { compiled, director } = args;
    const artifacts = compiled.directors.find((d) => d.name === director);
    if (!artifacts) throw new pulumi.ResourceError(`no director ${director} in the compiled spec`, this);
    const drainTimeoutSeconds = args.drainTimeoutSeconds ?? 30;
    let staged: StagedConverge | undefined;
    if (args.ssh) {
      try {
        // secret contents enter neither the manifest nor the command: stage with the compiled
        // (maybe placeholder) secret files for the plain part, the real ones below
        staged = stageDirector(compiled, director, { owner: args.owner, drainTimeoutSeconds });
      } catch (e) {
        throw new pulumi.ResourceError(`director ${director}: ${(e as Error).message}`, this);
      }
    }
    this.ipvsadmRules = pulumi.output(artifacts.ipvsadmRules);
    this.keepalivedConf = pulumi.output(artifacts.keepalivedConf);
    this.secretFiles = pulumi.secret(pulumi.output(args.secretFiles));
    this.planSummary = pulumi.output(summarizeDirector(compiled, director, staged, args.rollout));
    this.command = pulumi.output(staged?.command ?? "");

    if (args.ssh && staged) {
      const connection = checkedSsh(args.ssh, this, director);
      const plain = staged;
      const withSecrets = pulumi.secret(this.secretFiles.apply((secretFiles) => {
        const s = stageDirector(compiled, director, { owner: args.owner, drainTimeoutSeconds, secretFiles });
        if (s.command !== plain.command) throw new pulumi.ResourceError(`director ${director}: the secret files changed the staged plain files`, this);
        return s;
      }));
      this.prepare = new remote.Command(`${name}-prepare`, {
        connection,
        create: `mkdir -p ${plain.dir}/secrets && chmod 700 ${plain.dir} ${plain.dir}/secrets`,
      }, { parent: this, deleteBeforeReplace: true });
      for (const f of plain.files) {
        const file = f.path.startsWith(`${plain.dir}/`) ? f.path.slice(plain.dir.length + 1) : "apply-script";
        const source = f.secret
          ? pulumi.secret(withSecrets.apply((s) => new pulumi.asset.StringAsset(s.files.find((x) => x.path === f.path)!.content)))
          : new pulumi.asset.StringAsset(f.content);
        this.copies.push(new remote.CopyToRemote(`${name}-${resourceSuffix(file)}`, {
          connection, source, remotePath: f.path,
        }, { parent: this, dependsOn: [this.prepare] }));
      }
      const hasSecrets = plain.files.some((f) => f.secret);
      this.converge = new remote.Command(`${name}-converge`, {
        connection,
        create: plain.command,
        ...(hasSecrets ? { stdin: pulumi.secret(withSecrets.apply((s) => s.stdin)) } : {}),
        logging: args.showApplyLog === true ? "stdoutAndStderr" : "none",
      }, {
        parent: this,
        dependsOn: [...this.copies, ...(args.after ?? [])],
        additionalSecretOutputs: ["stdout", "stderr"],
        deleteBeforeReplace: true,
      });
    }
    this.registerOutputs({
      ipvsadmRules: this.ipvsadmRules,
      keepalivedConf: this.keepalivedConf,
      secretFiles: this.secretFiles,
      planSummary: this.planSummary,
      command: this.command,
    });
  }
}
