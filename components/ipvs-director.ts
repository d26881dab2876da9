/**
 * One director of a cluster: its rendered files as outputs and, when it has `ssh`, the
 * director resource (director-resource.ts) through which Pulumi previews, applies,
 * refreshes and destroys what this stack owns there.
 *
 * Why a resource that reads the kernel rather than files copied with @pulumi/command: a
 * preview of copied files shows what was last pushed, not what will change on the
 * director; a hand edit, a real server keepalived removed or a service another tool added
 * stayed invisible until the rollout changed the kernel. The director resource's diff is
 * the plan `ipvsc plan` prints, and its update applies exactly that plan (see
 * docs/component-library.md).
 */
import * as pulumi from "@pulumi/pulumi";
import {
  SshEndpoint, desiredDirectorView, renderKeepalivedConf, type CompileOutput, type DirectorModel,
} from "../src/index.js";
import type { SshArgs } from "./cluster-args.js";
import type { DirectorConnection, DirectorCredentials } from "./director-provider.js";
import { IpvsDirectorState } from "./director-resource.js";

/** A rendered secret file: an include of keepalived.conf holding one VRRP password. */
export interface SecretFile {
  path: string;
  content: string;
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
  /** resources whose success this director's rollout waits for (the previous director's) */
  after?: pulumi.Resource[];
  /** keep the services on the director when the stack is destroyed @default false */
  retainOnDelete?: boolean;
  rollout?: RolloutPosition;
}

/** Summary of what the director gets: plain, readable in a preview, no secrets. */
export function summarizeDirector(compiled: CompileOutput, director: string, pushed: boolean, rollout?: RolloutPosition): string {
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
  lines.push(pushed
    ? "  rollout: planned against the live table in preview, applied under the director's lock: drain, keepalived -t, verify, roll back on failure"
    : "  rollout: none (no ssh settings for this director)");
  return `${lines.join("\n")}\n`;
}

/** The connection (plain) and the credentials (secret) of the director resource. */
function connectionOf(ssh: SshArgs, parent: pulumi.Resource, director: string): { connection: pulumi.Output<DirectorConnection>; credentials: pulumi.Output<DirectorCredentials> } {
  // host and host key given as Outputs are checked once known (plain ones were checked by compile)
  const check = (field: "host" | "hostKey", value: string) => {
    const probe = { host: field === "host" ? value : "192.0.2.1", hostKey: field === "hostKey" ? value : "ssh-ed25519 AAAA" };
    const r = SshEndpoint.safeParse(probe);
    if (!r.success) {
      throw new pulumi.ResourceError(`director ${director}: ssh.${field} ${field === "host" ? `"${value}" ` : ""}is not valid: ${r.error.issues.map((i) => i.message).join("; ")}`, parent);
    }
    return value;
  };
  const connection = pulumi.all([ssh.host, ssh.hostKey, ssh.agentSocketPath]).apply(([host, hostKey, agent]) => ({
    host: check("host", host),
    port: ssh.port ?? 22,
    user: ssh.user ?? "root",
    hostKey: check("hostKey", hostKey),
    ...(agent !== undefined ? { agentSocketPath: agent } : {}),
  }));
  // always secret, so the credentials never flip between secret and plain
  const credentials = pulumi.secret(pulumi.all([ssh.privateKey, ssh.privateKeyPassword]).apply(([privateKey, privateKeyPassword]) => ({
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(privateKeyPassword !== undefined ? { privateKeyPassword } : {}),
  })));
  return { connection, credentials };
}

/** keepalived.conf of `director` with none of the spec's services and VRRP instances: what destroy leaves. */
export function teardownKeepalivedConf(compiled: CompileOutput, director: string): string {
  const model = compiled.model;
  const d = model.directors.find((x) => x.name === director)!;
  const { syncDaemon: _daemon, syncGroup: _group, ...rest } = model;
  return renderKeepalivedConf(
    { ...rest, services: [], vrrpScripts: [] },
    { ...d, services: [], table: { services: [] }, vrrpInstances: [], vrrpSecrets: {} },
  );
}

/** The director model as the resource's input: plain JSON, no VRRP secret (not even a placeholder). */
export function modelInput(compiled: CompileOutput, director: string): DirectorModel {
  const d = compiled.model.directors.find((x) => x.name === director)!;
  return JSON.parse(JSON.stringify({ ...d, vrrpSecrets: {} })) as DirectorModel;
}

/** What {@link directorStateInputs} needs besides the compiled spec and the director's name. */
export interface DirectorStateInputOptions<Connection, Credentials, Files> {
  owner: string;
  connection: Connection;
  credentials: Credentials;
  secretFiles: Files;
  /** @default 30 */
  drainTimeoutSeconds?: number;
}

/**
 * The director resource's inputs for one director of a compiled spec (DirectorResourceProps
 * when the connection, credentials and secret files are plain values; IpvsDirector passes
 * Outputs). Pure: a lab test builds the provider's props with it exactly as IpvsDirector does.
 */
export function directorStateInputs<Connection, Credentials, Files>(
  compiled: CompileOutput,
  director: string,
  options: DirectorStateInputOptions<Connection, Credentials, Files>,
) {
  const artifacts = compiled.directors.find((d) => d.name === director);
  const model = compiled.model.directors.find((d) => d.name === director);
  if (!artifacts || !model) throw new Error(`no director ${director} in the compiled spec`);
  const view = desiredDirectorView(model, artifacts.keepalivedConf);
  return {
    director,
    owner: options.owner,
    connection: options.connection,
    credentials: options.credentials,
    services: view.services,
    keepalived: view.keepalived,
    keepalivedConf: view.keepalivedConf,
    model: modelInput(compiled, director),
    sysctlConf: compiled.sysctlConf,
    keepalivedConfigDir: compiled.model.keepalived.configDir,
    teardownKeepalivedConf: teardownKeepalivedConf(compiled, director),
    secretFiles: options.secretFiles,
    drainTimeoutSeconds: options.drainTimeoutSeconds ?? 30,
  };
}

/**
 * One director: its rendered files as outputs, and (with `ssh`) the director resource
 * ({@link IpvsDirectorState}) that plans against the live kernel in preview and applies
 * with the CLI's staged apply. Usually created by {@link IpvsCluster}; usable alone with a
 * spec compiled elsewhere.
 */
export class IpvsDirector extends pulumi.ComponentResource {
  /** this director's share of the table, in `ipvsadm -R` form (with -x/-y) */
  public readonly ipvsadmRules: pulumi.Output<string>;
  public readonly keepalivedConf: pulumi.Output<string>;
  /** the VRRP password includes: a secret */
  public readonly secretFiles: pulumi.Output<SecretFile[]>;
  /** what the director gets, in words */
  public readonly planSummary: pulumi.Output<string>;
  /** the director resource: its diff is the live plan; undefined without ssh */
  public readonly state: IpvsDirectorState | undefined;

  constructor(name: string, args: IpvsDirectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ipvs:index:IpvsDirector", name, {}, opts);
    const { compiled, director } = args;
    const artifacts = compiled.directors.find((d) => d.name === director);
    const model = compiled.model.directors.find((d) => d.name === director);
    if (!artifacts || !model) throw new pulumi.ResourceError(`no director ${director} in the compiled spec`, this);
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/.test(args.owner)) {
      throw new pulumi.ResourceError(`director ${director}: owner "${args.owner}" must be a letter, then up to 62 letters, digits, '_', '.' or '-'`, this);
    }
    this.ipvsadmRules = pulumi.output(artifacts.ipvsadmRules);
    this.keepalivedConf = pulumi.output(artifacts.keepalivedConf);
    this.secretFiles = pulumi.secret(pulumi.output(args.secretFiles));
    this.planSummary = pulumi.output(summarizeDirector(compiled, director, args.ssh !== undefined, args.rollout));

    if (args.ssh) {
      const { connection, credentials } = connectionOf(args.ssh, this, director);
      this.state = new IpvsDirectorState(`${name}-state`, directorStateInputs(compiled, director, {
        owner: args.owner,
        connection,
        credentials,
        secretFiles: this.secretFiles.apply((files) => files.map((f) => ({ path: f.path, content: f.content }))),
        ...(args.drainTimeoutSeconds !== undefined ? { drainTimeoutSeconds: args.drainTimeoutSeconds } : {}),
      }), {
        parent: this,
        dependsOn: args.after ?? [],
        ...(args.retainOnDelete !== undefined ? { retainOnDelete: args.retainOnDelete } : {}),
      });
    }
    this.registerOutputs({
      ipvsadmRules: this.ipvsadmRules,
      keepalivedConf: this.keepalivedConf,
      secretFiles: this.secretFiles,
      planSummary: this.planSummary,
    });
  }
}
