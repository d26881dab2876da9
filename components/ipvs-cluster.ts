/**
 * IpvsCluster: a whole spec (directors, services, VRRP) as one component. It compiles the
 * spec with the same compile() the CLI uses, fails with every issue at once when the spec
 * is invalid, and creates one {@link IpvsDirector} per director. Directors that share a
 * VRRP instance or a virtual service (a rollout group: an HA pair) are chained so the
 * group rolls out one director at a time, the last-listed first and the preferred VRRP
 * master (a director that starts an instance as MASTER) last; a failing director stops its
 * group before the next one. Groups share nothing and roll out side by side (several VRRP
 * pairs in one cluster: `vrrp.instances[].directors`).
 */
import * as pulumi from "@pulumi/pulumi";
import { Name, compile, formatIssues, rolloutGroups, type CompileOutput, type Issue, type Model } from "../src/index.js";
import {
  PASSWORD_PLACEHOLDER, passwordSlots, specOf, type IpvsClusterArgs, type SshArgs,
} from "./cluster-args.js";
import { IpvsDirector, type SecretFile } from "./ipvs-director.js";

/** `<project>.<stack>.<name>`, reduced to the name grammar of ownership records. */
export function defaultOwner(name: string): string {
  const raw = `${pulumi.getProject()}.${pulumi.getStack()}.${name}`.replace(/[^A-Za-z0-9_.-]/g, "-");
  return (/^[A-Za-z]/.test(raw) ? raw : `p${raw}`).slice(0, 63);
}

function issuesError(name: string, issues: readonly Issue[], parent: pulumi.Resource): pulumi.ResourceError {
  const errors = issues.filter((i) => i.severity === "error").length;
  return new pulumi.ResourceError(`IpvsCluster ${name}: the spec has ${errors} error${errors === 1 ? "" : "s"}:\n${formatIssues(issues)}`, parent);
}

/**
 * The chains a cluster rolls out: its rollout groups, each the last-listed director first
 * and the directors that start a VRRP instance as MASTER (the preferred masters) last.
 */
export function rolloutChains(model: Model): string[][] {
  const groups = rolloutGroups(model, model.directors.map((d) => d.name));
  const master = new Set(model.directors.filter((d) => d.vrrpInstances.some((i) => i.state === "MASTER")).map((d) => d.name));
  return groups.map((g) => {
    const reversed = [...g].reverse();
    return [...reversed.filter((n) => !master.has(n)), ...reversed.filter((n) => master.has(n))];
  });
}

/** A load-balancing cluster of Linux IPVS directors. */
export class IpvsCluster extends pulumi.ComponentResource {
  /** the whole desired table in `ipvsadm -R` form: the file to review */
  public readonly ipvsadmRules: pulumi.Output<string>;
  public readonly sysctlConf: pulumi.Output<string>;
  /** the directors in spec order */
  public readonly directors: IpvsDirector[];
  /** director names in the order they are rolled out: group by group (groups roll out side by side) */
  public readonly rolloutOrder: pulumi.Output<string[]>;
  /** every director's summary, in rollout order */
  public readonly planSummary: pulumi.Output<string>;
  /** compile warnings, formatted (also logged on the component) */
  public readonly warnings: pulumi.Output<string[]>;
  /** the ownership record name on the directors */
  public readonly owner: string;

  constructor(name: string, args: IpvsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ipvs:index:IpvsCluster", name, {}, opts);
    const slots = passwordSlots(args);
    // structure and plain files: every password replaced by a placeholder
    const structural = compile(specOf(args, () => PASSWORD_PLACEHOLDER));
    if (!structural.ok) throw issuesError(name, structural.issues, this);
    const compiled = structural.output;

    // the secret include files need the real passwords, which may be Outputs (config secrets)
    const plainPasswords = slots.every((s) => typeof s.input === "string");
    const realCompile = (values: readonly string[]): CompileOutput => {
      const r = compile(specOf(args, (i) => values[i]!));
      if (!r.ok) throw issuesError(name, r.issues, this);
      return r.output;
    };
    let secretsOf: (director: string) => pulumi.Output<SecretFile[]>;
    if (plainPasswords) {
      // plain passwords are checked now, with the rest of the spec
      const real = realCompile(slots.map((s) => s.input as string));
      secretsOf = (d) => pulumi.secret(real.directors.find((x) => x.name === d)!.secretFiles);
    } else {
      const real = pulumi.all(slots.map((s) => s.input)).apply((values) => realCompile(values));
      secretsOf = (d) => pulumi.secret(real.apply((r) => r.directors.find((x) => x.name === d)!.secretFiles));
    }

    const warnings = structural.issues.filter((i) => i.severity === "warning");
    if (warnings.length > 0) pulumi.log.warn(formatIssues(warnings), this);

    this.owner = args.owner ?? defaultOwner(name);
    if (!Name.safeParse(this.owner).success) {
      // it names a file and a directory on the directors and is sourced by their shell
      throw new pulumi.ResourceError(`IpvsCluster ${name}: owner "${this.owner}" must be a name: a letter, then up to 62 letters, digits, '_', '.' or '-'`, this);
    }
    const chains = rolloutChains(compiled.model);
    const order = chains.flat();
    const byName = new Map<string, IpvsDirector>();
    for (const chain of chains) {
      let previous: IpvsDirector | undefined;
      chain.forEach((directorName, i) => {
        const d = args.directors.find((x) => x.name === directorName)!;
        const ssh: SshArgs | undefined = d.ssh ? { ...args.ssh, ...d.ssh } : undefined;
        const child: IpvsDirector = new IpvsDirector(`${name}-${directorName}`, {
          compiled,
          director: directorName,
          secretFiles: secretsOf(directorName),
          ...(ssh ? { ssh } : {}),
          owner: this.owner,
          ...(args.drainTimeoutSeconds !== undefined ? { drainTimeoutSeconds: args.drainTimeoutSeconds } : {}),
          ...(previous?.state ? { after: [previous.state] } : {}),
          rollout: { step: i + 1, of: chain.length },
          ...(args.retainOnDelete !== undefined ? { retainOnDelete: args.retainOnDelete } : {}),
        }, { parent: this });
        byName.set(directorName, child);
        if (child.state) previous = child;
      });
    }

    this.directors = compiled.model.directors.map((d) => byName.get(d.name)!);
    this.ipvsadmRules = pulumi.output(compiled.ipvsadmRules);
    this.sysctlConf = pulumi.output(compiled.sysctlConf);
    this.rolloutOrder = pulumi.output(order);
    this.planSummary = pulumi.all(order.map((n) => byName.get(n)!.planSummary)).apply((texts) => texts.join(""));
    this.warnings = pulumi.output(warnings.map((w) => formatIssues([w])));
    this.registerOutputs({
      ipvsadmRules: this.ipvsadmRules,
      sysctlConf: this.sysctlConf,
      rolloutOrder: this.rolloutOrder,
      planSummary: this.planSummary,
      warnings: this.warnings,
    });
  }
}
