/**
 * IpvsDirectorState: one director's IPVS table and keepalived.conf, as this stack owns
 * them, as a Pulumi dynamic resource. Its provider (director-provider.ts) reads the live
 * director in `diff`, so `pulumi preview --diff` shows the plan against the kernel, one
 * property change per operation; `refresh` reads this owner's services back; `destroy`
 * drains and removes them.
 *
 * Pulumi serializes a dynamic resource's provider into the state and runs it in its own
 * process. The provider below is a shell of one-line methods around a loader: what gets
 * serialized is the loader, a file URL and the method bodies, never the SSH client or the
 * planner, so the serialized text stays small and does not break when those change.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DirectorConnection, DirectorCredentials, DirectorResourceProps, SecretFileInput } from "./director-provider.js";
import type { KeepalivedStatus, ServiceView } from "../src/index.js";

/**
 * The provider module next to this one, with this module's own extension: `.js` once built
 * (dist/components/), `.ts` when the program runs the sources through a TypeScript loader.
 */
const PROVIDER_MODULE = import.meta.url.replace(/director-resource\.([cm]?[jt]s)$/, "director-provider.$1");

/**
 * Loads the provider in Pulumi's provider process. The state keeps this function's text and
 * the URL above, recorded when the resource was last written; `refresh` and `destroy` run
 * that copy. So: the recorded module when it is still there; else (the project moved, the
 * package was upgraded or reinstalled elsewhere) `pulumi-ipvs/director-provider` as the
 * project in the working directory resolves it. A program run from TypeScript sources gets
 * tsx registered here: the provider process has no loader of its own.
 */
async function loadDirectorProvider(): Promise<Required<pulumi.dynamic.ResourceProvider>> {
  const { existsSync } = await import("node:fs");
  const { createRequire } = await import("node:module");
  const { join } = await import("node:path");
  const { fileURLToPath, pathToFileURL } = await import("node:url");
  let url = PROVIDER_MODULE;
  if (!existsSync(fileURLToPath(url))) {
    try {
      url = pathToFileURL(createRequire(join(process.cwd(), "package.json")).resolve("pulumi-ipvs/director-provider")).href;
    } catch {
      throw new Error(`pulumi-ipvs: the director provider recorded in the state (${url}) is gone, and ${process.cwd()} does not resolve pulumi-ipvs/director-provider: run pulumi in the project with its dependencies installed`);
    }
  }
  try {
    return (await import(url)).directorProvider;
  } catch (e) {
    if ((e as { code?: string }).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw e;
    // tsx's ESM entry: its CommonJS one cannot register hooks from here
    const api = createRequire(fileURLToPath(url)).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs");
    (await import(pathToFileURL(api).href)).register();
    // another URL than the one that failed: the loader keeps a failed import's error
    return (await import(`${url}?loader=tsx`)).directorProvider;
  }
}

/** The serializable provider: each method loads the real one and calls it. */
export const directorProviderShell: pulumi.dynamic.ResourceProvider = {
  async check(olds, news) {
    return (await loadDirectorProvider()).check(olds, news);
  },
  async diff(id, olds, news) {
    return (await loadDirectorProvider()).diff(id, olds, news);
  },
  async create(inputs) {
    return (await loadDirectorProvider()).create(inputs);
  },
  async read(id, props) {
    return (await loadDirectorProvider()).read(id, props);
  },
  async update(id, olds, news) {
    return (await loadDirectorProvider()).update(id, olds, news);
  },
  async delete(id, props) {
    return (await loadDirectorProvider()).delete(id, props);
  },
};

/** Inputs of {@link IpvsDirectorState}: the provider's props, the connection and the secrets as Inputs. */
export interface IpvsDirectorStateArgs extends Omit<DirectorResourceProps, "connection" | "credentials" | "secretFiles"> {
  connection: pulumi.Input<DirectorConnection>;
  /** secret */
  credentials: pulumi.Input<DirectorCredentials>;
  /** secret */
  secretFiles: pulumi.Input<SecretFileInput[]>;
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
