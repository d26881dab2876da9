/**
 * The arguments of {@link IpvsCluster} and their translation into a spec for compile().
 *
 * Everything that decides structure or lands in a rendered file is a plain value, so
 * previews show known text and one resource per director and file exists before any
 * apply. Only connection details and VRRP passwords may be `pulumi.Input`s: they never
 * reach a rendered plain file (passwords live in separate secret include files).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { SpecInput } from "../src/index.js";
import type { Forwarding } from "./forwarding.js";
import type { HealthCheck } from "./health-checks.js";
import type { Scheduler } from "./schedulers.js";

type ServiceInput = SpecInput["services"][number];
type PoolInput = ServiceInput["pool"];
type RealServerInput = PoolInput["servers"][number];
type PersistenceInput = NonNullable<ServiceInput["persistence"]>;
type DirectorInput = SpecInput["directors"][number];
type VrrpInput = NonNullable<SpecInput["vrrp"]>;
type VrrpInstanceInput = NonNullable<VrrpInput["instances"]>[number];
type VrrpOverrideInput = NonNullable<DirectorInput["vrrp"]>[string];

/** A real server of a pool. */
export interface RealServerArgs extends Omit<RealServerInput, "forwarding"> {
  /** overrides the pool's forwarding for this server */
  forwarding?: Forwarding;
}

/** The pool of a service: its real servers, and health checks when keepalived should own it. */
export interface PoolArgs extends Omit<PoolInput, "forwarding" | "servers" | "healthChecks"> {
  /** @default forwarding.nat() */
  forwarding?: Forwarding;
  servers: RealServerArgs[];
  /** present: keepalived owns the service and checks its servers; absent: the applier owns it */
  healthChecks?: HealthCheck[];
}

/** Persistence without the SIP engine (which only UDP services have). */
export type PersistenceArgs = Omit<PersistenceInput, "engine">;

interface ServiceBase {
  name: string;
  /** @default scheduler.wlc() */
  scheduler?: Scheduler;
  persistence?: PersistenceArgs;
  pool: PoolArgs;
  /** directors carrying this service @default every director */
  directors?: string[];
  virtualhost?: string;
}

/** A TCP virtual service. */
export interface TcpServiceArgs extends ServiceBase {
  protocol: "tcp";
  address: string;
  port: number;
  onePacket?: never;
  fwmark?: never;
  family?: never;
}

/** An SCTP virtual service. */
export interface SctpServiceArgs extends ServiceBase {
  protocol: "sctp";
  address: string;
  port: number;
  onePacket?: never;
  fwmark?: never;
  family?: never;
}

/** A UDP virtual service: may schedule every packet and use SIP persistence. */
export interface UdpServiceArgs extends Omit<ServiceBase, "persistence"> {
  protocol: "udp";
  address: string;
  port: number;
  /** schedule each packet on its own (`-o`) @default false */
  onePacket?: boolean;
  persistence?: PersistenceInput;
  fwmark?: never;
  family?: never;
}

/** A firewall-mark service: packets marked by netfilter, any protocol and port. */
export interface FwmarkServiceArgs extends ServiceBase {
  fwmark: number;
  /** @default "inet" */
  family?: "inet" | "inet6";
  onePacket?: boolean;
  protocol?: never;
  address?: never;
  port?: never;
}

/** One member of a service group: an address (a range up to `last`) with a port, or a fwmark. */
export type GroupMemberArgs = NonNullable<ServiceInput["group"]>["members"][number];

/**
 * keepalived's virtual_server_group: several VIP:ports, address ranges or fwmarks sharing one
 * pool; the kernel gets one virtual service per member (named `<name>.1`, `<name>.2`, ...).
 */
export interface GroupServiceArgs extends Omit<ServiceBase, "persistence"> {
  /** the members' protocol (tcp, udp or sctp) when they are addresses */
  protocol?: "tcp" | "udp" | "sctp";
  group: { members: GroupMemberArgs[] };
  /** for fwmark members @default "inet" */
  family?: "inet" | "inet6";
  onePacket?: boolean;
  persistence?: PersistenceInput;
  address?: never;
  port?: never;
  fwmark?: never;
}

export type ServiceArgs = TcpServiceArgs | SctpServiceArgs | UdpServiceArgs | FwmarkServiceArgs | GroupServiceArgs;

/** How to reach a director over SSH. */
export interface SshArgs {
  /** address or DNS name; may come from another resource */
  host: pulumi.Input<string>;
  /** @default 22 */
  port?: number;
  /** @default "root" */
  user?: string;
  /** the pinned public host key, `ssh-ed25519 AAAA...`: a host with another key is refused */
  hostKey: pulumi.Input<string>;
  /** private key text; always handled as a secret */
  privateKey?: pulumi.Input<string>;
  /** passphrase of an encrypted private key; a secret */
  privateKeyPassword?: pulumi.Input<string>;
  /** ssh-agent socket, used when no private key is given @default $SSH_AUTH_SOCK */
  agentSocketPath?: pulumi.Input<string>;
}

/** SSH settings every director falls back to. */
export type SshDefaults = Omit<SshArgs, "host" | "hostKey">;

/** Per-director overrides of a VRRP instance. */
export interface VrrpOverrideArgs extends Omit<VrrpOverrideInput, "authPassword"> {
  /** a secret: give a `config.requireSecret(...)` */
  authPassword?: pulumi.Input<string>;
}

/** A director host. */
export interface DirectorArgs extends Omit<DirectorInput, "ssh" | "vrrp"> {
  /** absent: files are rendered but nothing is pushed to this director */
  ssh?: SshArgs;
  vrrp?: Record<string, VrrpOverrideArgs>;
}

/** A VRRP instance. */
export interface VrrpInstanceArgs extends Omit<VrrpInstanceInput, "authPassword"> {
  /** a secret: give a `config.requireSecret(...)`; rendered only into a secret include file */
  authPassword?: pulumi.Input<string>;
}

/** VRRP instances and track scripts. */
export interface VrrpArgs extends Omit<VrrpInput, "instances"> {
  instances?: VrrpInstanceArgs[];
}

/** Arguments of {@link IpvsCluster}: the whole spec, plus how to push it. */
export interface IpvsClusterArgs {
  /** the director hosts, the first being the preferred VRRP master; the rollout goes last to first */
  directors: DirectorArgs[];
  services: ServiceArgs[];
  vrrp?: VrrpArgs;
  syncDaemon?: SpecInput["syncDaemon"];
  ha?: SpecInput["ha"];
  timeouts?: SpecInput["timeouts"];
  sysctl?: SpecInput["sysctl"];
  keepalived?: SpecInput["keepalived"];
  /** @default "6.1" */
  targetKernel?: string;
  /** SSH settings (private key, user, port) every director's `ssh` falls back to */
  ssh?: SshDefaults;
  /**
   * Who this cluster is on its directors: the name of its ownership record. Services that
   * another owner (stack) records are never touched. @default "<project>.<stack>.<name>"
   */
  owner?: string;
  /** seconds a removed real server may take to reach zero connections @default 30 */
  drainTimeoutSeconds?: number;
  /**
   * `pulumi destroy` leaves the services serving on the directors (and forgets them in the
   * state) instead of draining and removing them @default false
   */
  retainOnDelete?: boolean;
}

/** A VRRP password input and where it goes in the spec. */
export interface PasswordSlot {
  input: pulumi.Input<string>;
  /** instance name, and the director when it is a per-director override */
  instance: string;
  director?: string;
}

/** Every VRRP password input of the args, in a fixed order. */
export function passwordSlots(args: IpvsClusterArgs): PasswordSlot[] {
  const slots: PasswordSlot[] = [];
  for (const inst of args.vrrp?.instances ?? []) {
    if (inst.authPassword !== undefined) slots.push({ input: inst.authPassword, instance: inst.name });
  }
  for (const d of args.directors) {
    for (const [instance, o] of Object.entries(d.vrrp ?? {})) {
      if (o.authPassword !== undefined) slots.push({ input: o.authPassword, instance, director: d.name });
    }
  }
  return slots;
}

/**
 * Stands in for every VRRP password while compiling for structure and plain files:
 * keepalived.conf only names the include file, so the text does not depend on it.
 */
export const PASSWORD_PLACEHOLDER = "ipvsc-pw";

function serviceSpec(s: ServiceArgs): ServiceInput {
  const { scheduler, pool, ...rest } = s;
  const { forwarding, servers, healthChecks, ...poolRest } = pool;
  const out: ServiceInput = {
    ...(rest as Omit<ServiceInput, "pool" | "scheduler" | "schedulerFlags">),
    pool: {
      ...poolRest,
      ...(forwarding ? { forwarding: { ...forwarding } } : {}),
      servers: servers.map((rs) => ({ ...rs, ...(rs.forwarding ? { forwarding: { ...rs.forwarding } } : {}) })),
      ...(healthChecks ? { healthChecks: healthChecks.map((c) => ({ ...c })) } : {}),
    },
  };
  if (scheduler) {
    out.scheduler = scheduler.name;
    if (scheduler.flags.length > 0) out.schedulerFlags = [...scheduler.flags];
  }
  return out;
}

/**
 * The spec compile() takes. `password(i)` gives the value of `passwordSlots(args)[i]`.
 * A director's `ssh` goes into the spec (and is validated there) when its host and host
 * key are plain strings; the private key never does.
 */
export function specOf(args: IpvsClusterArgs, password: (slot: number) => string): SpecInput {
  let slot = 0;
  const spec: SpecInput = {
    directors: args.directors.map((d): DirectorInput => {
      const { ssh, vrrp, ...rest } = d;
      const out: DirectorInput = { ...rest };
      if (ssh && typeof ssh.host === "string" && typeof ssh.hostKey === "string") {
        out.ssh = { host: ssh.host, hostKey: ssh.hostKey };
        if (ssh.port !== undefined) out.ssh.port = ssh.port;
        if (ssh.user !== undefined) out.ssh.user = ssh.user;
      }
      if (vrrp) out.vrrp = {};
      return out;
    }),
    services: args.services.map(serviceSpec),
  };
  if (args.vrrp) {
    const { instances, ...vrrpRest } = args.vrrp;
    spec.vrrp = { ...vrrpRest };
    if (instances) {
      spec.vrrp.instances = instances.map((inst) => {
        const { authPassword, ...instRest } = inst;
        return authPassword === undefined ? { ...instRest } : { ...instRest, authPassword: password(slot++) };
      });
    }
  }
  args.directors.forEach((d, i) => {
    const target = spec.directors[i]!;
    for (const [instance, o] of Object.entries(d.vrrp ?? {})) {
      const { authPassword, ...oRest } = o;
      target.vrrp![instance] = authPassword === undefined ? { ...oRest } : { ...oRest, authPassword: password(slot++) };
    }
  });
  for (const key of ["syncDaemon", "ha", "timeouts", "sysctl", "keepalived", "targetKernel"] as const) {
    if (args[key] !== undefined) (spec as Record<string, unknown>)[key] = args[key];
  }
  return spec;
}
