/**
 * IpvsDirectorState: one director's IPVS table and keepalived.conf, as this stack owns
 * them, as a Pulumi dynamic resource. Its provider (director-provider.ts) reads the live
 * director in `diff`, so `pulumi preview --diff` shows the plan against the kernel, one
 * property change per operation; `refresh` reads this owner's services back; `destroy`
 * drains and removes them.
 *
 * Pulumi serializes a dynamic resource's provider into the state and runs it in its own
 * process. The provider below is a shell of one-line methods around a file URL: what gets
 * serialized is that URL and the method bodies, never the SSH client or the planner, so the
 * serialized text stays small and does not break when those change. The methods import the
 * real provider on first use, from the same installed package the program used.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DirectorConnection, DirectorCredentials, SecretFileInput } from "./director-provider.js";
import type { DirectorModel, KeepalivedStatus, ServiceView } from "../src/index.js";

/**
 * The provider module next to this one, with this module's own extension: `.js` once built
 * (dist/components/), `.ts` when the program runs the sources through a TypeScript loader.
 */
const PROVIDER_MODULE = import.meta.url.replace(/director-resource\.([cm]?[jt]s)$/, "director-provider.$1");

/** The serializable provider: each method imports the real one and calls it. */
export const directorProviderShell: pulumi.dynamic.ResourceProvider = {
  async check(olds, news) {
    return (await import(PROVIDER_MODULE)).directorProvider.check(olds, news);
  },
  async diff(id, olds, news) {
    return (await import(PROVIDER_MODULE)).directorProvider.diff(id, olds, news);
  },
  async create(inputs) {
    return (await import(PROVIDER_MODULE)).directorProvider.create(inputs);
  },
  async read(id, props) {
    return (await import(PROVIDER_MODULE)).directorProvider.read(id, props);
  },
  async update(id, olds, news) {
    return (await import(PROVIDER_MODULE)).directorProvider.update(id, olds, news);
  },
  async delete(id, props) {
    return (await import(PROVIDER_MODULE)).directorProvider.delete(id, props);
  },
};

/** Inputs of {@link IpvsDirectorState}: see DirectorResourceProps. */
export interface IpvsDirectorStateArgs {
  director: string;
  owner: string;
  connection: pulumi.Input<DirectorConnection>;
  /** secret */
  credentials: pulumi.Input<DirectorCredentials>;
  services: Record<string, ServiceView>;
  keepalived: KeepalivedStatus;
  keepalivedConf: string;
  model: DirectorModel;
  sysctlConf: string;
  keepalivedConfigDir: string;
  teardownKeepalivedConf: string;
  /** secret */
  secretFiles: pulumi.Input<SecretFileInput[]>;
  drainTimeoutSeconds: number;
}

/** One director as this stack owns it: see the file comment. */
export class IpvsDirectorState extends pulumi.dynamic.Resource {
  /** this owner's services on the director (after refresh: as the director has them) */
  public declare readonly services: pulumi.Output<Record<string, ServiceView>>;
  public declare readonly keepalived: pulumi.Output<KeepalivedStatus>;
  public declare readonly keepalivedConf: pulumi.Output<string>;

  constructor(name: string, args: IpvsDirectorStateArgs, opts?: pulumi.CustomResourceOptions) {
    super(directorProviderShell, name, {
      ...args,
      credentials: pulumi.secret(args.credentials),
      secretFiles: pulumi.secret(args.secretFiles),
    }, {
      ...opts,
      additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "credentials", "secretFiles"],
    }, "ipvs", "IpvsDirectorState");
  }
}
