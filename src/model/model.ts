/**
 * The normalized model: defaults applied, addresses canonical, services and real servers
 * sorted, every director's share resolved. Renderers, the ipvsadm parser and the planner
 * all speak this model; it carries no Pulumi and no I/O.
 */
import type {
  Family, ForwardingMethod, HealthCheckSpec, Protocol, SchedulerFlag, SchedulerName, TunnelChecksum, TunnelType,
} from "../schema/spec-schema.js";

export type { Family, ForwardingMethod, Protocol, SchedulerFlag, SchedulerName, TunnelChecksum, TunnelType };

/** How a service is identified in the kernel: protocol+address+port, or fwmark+family. */
export type ServiceKey =
  | { kind: "addr"; protocol: Protocol; address: string; port: number }
  | { kind: "fwmark"; fwmark: number; family: Family };

/** Tunnel encapsulation of an `-i` real server. */
export interface TunnelOptions {
  type: TunnelType;
  /** gue only */
  port?: number;
  /** absent = kernel default (nocsum) */
  checksum?: TunnelChecksum;
}

/** A real server exactly as the kernel table holds it. */
export interface IpvsRealServer {
  address: string;
  port: number;
  forwarding: ForwardingMethod;
  weight: number;
  /** 0 = no limit */
  upperThreshold: number;
  /** 0 = no limit */
  lowerThreshold: number;
  /** present iff forwarding is tunnel */
  tunnel?: TunnelOptions;
}

/** Persistence settings of a service. */
export interface IpvsPersistence {
  timeout: number;
  /** client grouping as a prefix length: 32/128 = per client address (the default) */
  prefixLength: number;
}

/** A virtual service exactly as the kernel table holds it. */
export interface IpvsService {
  key: ServiceKey;
  family: Family;
  scheduler: SchedulerName;
  /** canonical flag names for the scheduler (sh-*, mh-*, else flag-N), in bit order */
  flags: SchedulerFlag[];
  persistence?: IpvsPersistence;
  persistenceEngine?: "sip";
  onePacket: boolean;
  /** sorted by address then port */
  realServers: IpvsRealServer[];
}

/** A whole IPVS table (what `ipvsadm -S -n` plus thresholds describes). */
export interface IpvsTable {
  /** sorted by service key */
  services: IpvsService[];
}

/** keepalived-side settings of one real server that differ from its pool's. */
export interface RealServerHealth {
  /** its own checks instead of the pool's ([] = none: keepalived keeps it up) */
  checks?: HealthCheckSpec[];
  inhibitOnFailure?: boolean;
  alpha?: boolean;
  notifyUp?: string[];
  notifyDown?: string[];
}

/** keepalived-side settings of a health-checked service. */
export interface HealthCheckedPool {
  /** the servers' checks, unless `servers` gives one its own */
  checks: HealthCheckSpec[];
  /** per-server settings by `realServerHealthKey` (absent when no server has any) */
  servers?: Record<string, RealServerHealth>;
  delayLoop?: number;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  quorum?: number;
  hysteresis?: number;
  quorumUp?: string[];
  quorumDown?: string[];
  sorryServer?: { address: string; port: number; inhibit: boolean; forwarding?: ForwardingMethod };
  inhibitOnFailure: boolean;
  alpha: boolean;
  omega: boolean;
  haSuspend: boolean;
  virtualhost?: string;
}

/** The key of a real server in `HealthCheckedPool.servers`: its canonical address and kernel port. */
export function realServerHealthKey(rs: { address: string; port: number }): string {
  return `${rs.address}|${rs.port}`;
}

/** One declared service: its kernel form plus who owns it and where it came from. */
export interface ServiceModel {
  name: string;
  /** index into spec.services, for messages */
  specIndex: number;
  ipvs: IpvsService;
  /** keepalived owns services with health checks; the applier owns the rest */
  owner: "keepalived" | "applier";
  health?: HealthCheckedPool;
  directors: string[];
  /** set on every member service of a `group` service (the same object): keepalived's virtual_server_group */
  group?: ServiceGroup;
}

/** A virtual_server_group: its name (the spec service's) and entries as keepalived writes them. */
export interface ServiceGroup {
  name: string;
  /** `10.0.0.1 80`, `10.0.0.3-5 80`, `fwmark 1` (with ` inet6` for IPv6 marks) */
  entries: string[];
  /** the addresses' protocol; absent when every entry is a fwmark */
  protocol?: Protocol;
  family: Family;
}

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  hostKey: string;
  privateKeyPath?: string;
}

/** A VRRP instance as rendered for one director. */
export interface VrrpInstanceModel {
  name: string;
  state: "MASTER" | "BACKUP";
  interface: string;
  virtualRouterId: number;
  priority: number;
  advertInterval: number;
  family: Family;
  vips: string[];
  excludedVips: string[];
  authType?: "PASS" | "AH";
  /** reference to the secret; the text lives only in the secrets include */
  hasAuthPassword: boolean;
  unicastSrcIp?: string;
  unicastPeers: string[];
  nopreempt: boolean;
  preemptDelay?: number;
  trackInterfaces: { name: string; weight?: number }[];
  trackScripts: { name: string; weight?: number }[];
  version?: 2 | 3;
  garpMasterDelay?: number;
  notify: NotifyScripts;
}

/** keepalived's notify scripts (argv) of an instance or a sync group; absent ones are not run. */
export interface NotifyScripts {
  master?: string[];
  backup?: string[];
  fault?: string[];
  stop?: string[];
  any?: string[];
}

/** A vrrp_sync_group: instances that change state together. */
export interface SyncGroupModel {
  name: string;
  /** in the spec's order */
  instances: string[];
  notify: NotifyScripts;
}

export interface VrrpScriptModel {
  name: string;
  command: string[];
  interval: number;
  timeout?: number;
  weight?: number;
  rise?: number;
  fall?: number;
}

export interface SyncDaemonModel {
  interface: string;
  instance?: string;
  syncId: number;
  maxlen?: number;
  port?: number;
  ttl?: number;
  group?: string;
}

export interface SysctlBaseline {
  expireNodestConn: boolean;
  expireQuiescentTemplate: boolean;
  conntrack: boolean;
  connReuseMode?: number;
  sloppyTcp?: boolean;
  sloppySctp?: boolean;
  ipForward: boolean;
}

/** Everything one director runs. */
export interface DirectorModel {
  name: string;
  /** position in the spec's director list: 0 is the preferred master */
  order: number;
  ssh?: SshTarget;
  interfaces: string[];
  address?: string;
  routerId: string;
  /** the director's share of the table (services naming it or all) */
  table: IpvsTable;
  services: ServiceModel[];
  vrrpInstances: VrrpInstanceModel[];
  /** VRRP passwords by instance name: secrets, rendered only into the include file */
  vrrpSecrets: Record<string, string>;
  /**
   * The VRRP instance this director's sync daemon follows (`syncDaemon.instance`, else the
   * first instance it runs); absent when the spec has no sync daemon or the director runs
   * no VRRP instance (then it runs no sync daemon either)
   */
  syncDaemonInstance?: string;
}

/** The whole normalized spec. */
export interface Model {
  targetKernel: string;
  services: ServiceModel[];
  directors: DirectorModel[];
  vrrpScripts: VrrpScriptModel[];
  /** the spec's `vrrp.syncGroup`, or SG_IPVS, when one group joins every instance (no `syncGroups`); each director renders the members it runs */
  syncGroup?: string;
  /** every sync group, resolved (the one-group form too); sorted by name */
  syncGroups: SyncGroupModel[];
  syncDaemon?: SyncDaemonModel;
  haMode: "vrrp" | "stateless";
  timeouts?: { tcp: number; tcpFin: number; udp: number };
  sysctl: SysctlBaseline;
  keepalived: { configDir: string; scriptUser: string };
}
