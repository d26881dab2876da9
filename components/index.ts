/**
 * pulumi-ipvs/components: Pulumi components for Linux IPVS load balancers. Typed building
 * blocks (scheduler, forwarding, healthCheck) make invalid combinations compile errors;
 * IpvsCluster compiles the spec with the core's compile() and creates one director resource
 * per director, whose preview is the plan against the live kernel.
 */
export { scheduler, type Scheduler, type HashSchedulerOptions } from "./schedulers.js";
export { forwarding, type Forwarding, type TunnelOptions, type IpipTunnel, type GueTunnel, type GreTunnel } from "./forwarding.js";
export {
  healthCheck, type HealthCheck, type HttpCheckOptions, type HttpsCheckOptions, type HttpPathOptions, type HttpUrlsOptions,
} from "./health-checks.js";
export type {
  IpvsClusterArgs, DirectorArgs, ServiceArgs, TcpServiceArgs, UdpServiceArgs, SctpServiceArgs, FwmarkServiceArgs, GroupServiceArgs, GroupMemberArgs,
  PoolArgs, RealServerArgs, PersistenceArgs, SshArgs, SshDefaults, VrrpArgs, VrrpInstanceArgs, VrrpOverrideArgs,
} from "./cluster-args.js";
export { IpvsCluster, defaultOwner } from "./ipvs-cluster.js";
export {
  IpvsDirector, summarizeDirector, teardownKeepalivedConf,
  type IpvsDirectorArgs, type SecretFile, type RolloutPosition,
} from "./ipvs-director.js";
export { IpvsDirectorState, type IpvsDirectorStateArgs } from "./director-resource.js";
export type { DirectorConnection, DirectorCredentials, DirectorResourceProps } from "./director-provider.js";
