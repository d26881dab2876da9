/**
 * The spec schema: the single source of truth for what a user may write. The JSON Schema
 * shipped for YAML/JSON files is generated from it (see json-schema.ts); TypeScript types
 * are inferred from it. Shape and ranges live here; rules that relate fields to each other
 * live in ../validate.
 */
import { z } from "zod";
import { isIpAddress, isIpAddressOrHostname, isIpPrefix, type SpecFormat } from "./spec-formats.js";
import {
  COMMAND_ARG, COMMAND_PROGRAM, HEX, HOST_KEY, HOSTNAME, INTERFACE, KERNEL_VERSION, NAME, PATH,
  URL_PATH, type Grammar,
} from "./grammar.js";

function pattern(g: Grammar) {
  return z.string().regex(g.pattern, { message: `must be ${g.describe}` });
}

const int = () => z.number().int();
const range = (min: number, max: number, what: string) =>
  int().min(min, { message: `${what} must be between ${min} and ${max}` }).max(max, {
    message: `${what} must be between ${min} and ${max}`,
  });

export const Name = pattern(NAME);
export const InterfaceName = pattern(INTERFACE);
export const FilePath = pattern(PATH);
export const Hostname = pattern(HOSTNAME);

export const IpAddress = z
  .string()
  .refine(isIpAddress, { message: "must be an IPv4 address (a.b.c.d) or an IPv6 address", params: { code: "invalid-address" } })
  .meta({ description: "IPv4 (dotted quad) or IPv6 address", format: "ipvs-address" satisfies SpecFormat });

/** An address with an optional prefix length, e.g. `203.0.113.10/32` or `2001:db8::10/64`. */
export const IpPrefix = z
  .string()
  .refine(isIpPrefix, { message: "must be an address with an optional /prefix length", params: { code: "invalid-address" } })
  .meta({ description: "address[/prefix], e.g. 203.0.113.10/32", format: "ipvs-prefix" satisfies SpecFormat });

export const Port = range(0, 65535, "port");
export const Weight = range(0, 2147483647, "weight");
export const Threshold = range(0, 2147483647, "threshold");
export const Seconds = z.number().positive().max(86400 * 31).meta({ description: "seconds, may be fractional" });

/** A command keepalived runs: argv, program first. Rendered quoted; no shell is involved. */
export const Command = z
  .array(pattern(COMMAND_ARG))
  .min(1)
  .superRefine((argv, ctx) => {
    const program = argv[0];
    if (program !== undefined && !COMMAND_PROGRAM.pattern.test(program)) {
      ctx.addIssue({ code: "custom", path: [0], message: `must be ${COMMAND_PROGRAM.describe}`, params: { code: "invalid-command" } });
    }
  })
  // the program check in JSON Schema terms (its characters are all COMMAND_ARG characters)
  .meta({ description: "argv: the absolute program path, then its arguments", prefixItems: [{ type: "string", pattern: COMMAND_PROGRAM.pattern.source }] });

export const PROTOCOLS = ["tcp", "udp", "sctp"] as const;
export const FAMILIES = ["inet", "inet6"] as const;
export const SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"] as const;
export const SCHEDULER_FLAGS = ["sh-fallback", "sh-port", "mh-fallback", "mh-port", "flag-1", "flag-2", "flag-3"] as const;
export const FORWARDING_METHODS = ["nat", "dr", "tunnel"] as const;
export const TUNNEL_TYPES = ["ipip", "gue", "gre"] as const;
export const TUNNEL_CHECKSUMS = ["nocsum", "csum", "remcsum"] as const;

export const Forwarding = z
  .strictObject({
    method: z.enum(FORWARDING_METHODS).meta({ description: "nat (masquerading, -m), dr (direct routing, -g), tunnel (-i)" }),
    tunnelType: z.enum(TUNNEL_TYPES).optional().meta({ description: "tunnel encapsulation, default ipip" }),
    tunnelPort: range(1, 65535, "tunnelPort").optional().meta({ description: "destination UDP port, gue only" }),
    tunnelChecksum: z.enum(TUNNEL_CHECKSUMS).optional().meta({ description: "gue: nocsum|csum|remcsum; gre: nocsum|csum" }),
  })
  .meta({ id: "Forwarding" });

const checkCommon = {
  connectIp: IpAddress.optional(),
  connectPort: range(1, 65535, "connectPort").optional(),
  bindTo: IpAddress.optional(),
  connectTimeout: Seconds.optional(),
  retry: range(0, 1000, "retry").optional(),
  delayBeforeRetry: Seconds.optional(),
  warmup: Seconds.optional(),
  delayLoop: Seconds.optional(),
};

export const HttpUrl = z.strictObject({
  path: pattern(URL_PATH).optional(),
  statusCode: z.array(z.union([range(100, 599, "statusCode"), z.string().regex(/^[1-5]\d\d-[1-5]\d\d$/, { message: "must be a status code or a range like 200-299" })])).optional(),
  digest: z.string().regex(/^[0-9a-f]{32}$/, { message: "must be a lowercase MD5 hex digest" }).optional(),
  virtualhost: Hostname.optional(),
});

export const HealthCheck = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("tcp"), ...checkCommon }),
    z.strictObject({
      type: z.literal("http"),
      ...checkCommon,
      urls: z.array(HttpUrl).optional(),
      httpProtocol: z.enum(["1.0", "1.0C", "1.1"]).optional(),
    }),
    z.strictObject({
      type: z.literal("https"),
      ...checkCommon,
      urls: z.array(HttpUrl).optional(),
      httpProtocol: z.enum(["1.0", "1.0C", "1.1"]).optional(),
      enableSni: z.boolean().optional(),
    }),
    z.strictObject({ type: z.literal("smtp"), ...checkCommon, heloName: Hostname.optional() }),
    z.strictObject({
      type: z.literal("dns"),
      ...checkCommon,
      // no schema default: JSON Schema validators do not fill defaults inside oneOf; render writes A
      queryType: z.enum(["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]).optional().meta({ description: "default A" }),
      name: Hostname,
    }),
    z.strictObject({
      type: z.literal("udp"),
      ...checkCommon,
      payload: pattern(HEX).optional(),
      requireReply: z.union([z.boolean(), pattern(HEX)]).optional(),
      minReplyLength: range(0, 65535, "minReplyLength").optional(),
      maxReplyLength: range(0, 65535, "maxReplyLength").optional(),
    }),
    z.strictObject({ type: z.literal("ping"), ...checkCommon }),
    z.strictObject({
      type: z.literal("command"),
      // MISC_CHECK rejects connect_ip, connect_port, bindto and connect_timeout
      retry: checkCommon.retry,
      delayBeforeRetry: checkCommon.delayBeforeRetry,
      warmup: checkCommon.warmup,
      delayLoop: checkCommon.delayLoop,
      command: Command,
      timeout: Seconds.optional(),
      dynamic: z.boolean().optional().meta({ description: "exit code 2-255 sets weight to code-2" }),
    }),
    z.strictObject({
      type: z.literal("file"),
      name: Name.meta({ description: "name of the track_file block" }),
      path: FilePath,
      weight: range(-254, 254, "weight").optional(),
      reverse: z.boolean().optional(),
    }),
  ])
  .meta({ id: "HealthCheck" });

export const RealServer = z
  .strictObject({
    address: IpAddress,
    port: Port.optional().meta({ description: "defaults to the service port (0 for fwmark services)" }),
    weight: Weight.default(1).meta({ description: "0 drains: no new connections" }),
    upperThreshold: Threshold.optional().meta({ description: "-x: stop sending new connections above this many (0 = no limit)" }),
    lowerThreshold: Threshold.optional().meta({ description: "-y: resume below this many (0 = no limit)" }),
    forwarding: Forwarding.optional().meta({ description: "overrides the pool's forwarding" }),
    healthChecks: z.array(HealthCheck).optional().meta({ description: "this server's own checks, replacing the pool's; [] = none (keepalived keeps it up)" }),
    inhibitOnFailure: z.boolean().optional().meta({ description: "overrides the pool's inhibitOnFailure for this server" }),
    alpha: z.boolean().optional().meta({ description: "overrides the pool's alpha for this server" }),
    notifyUp: Command.optional().meta({ description: "run when this server's checks succeed (notify_up)" }),
    notifyDown: Command.optional().meta({ description: "run when this server's checks fail (notify_down)" }),
  })
  .meta({ id: "RealServer" });

export const SorryServer = z.strictObject({
  address: IpAddress,
  port: Port.optional(),
  inhibit: z.boolean().optional().meta({ description: "sorry_server_inhibit" }),
  forwarding: z.enum(FORWARDING_METHODS).optional(),
});

export const Pool = z
  .strictObject({
    forwarding: Forwarding.default({ method: "nat" }),
    servers: z.array(RealServer),
    healthChecks: z.array(HealthCheck).optional().meta({ description: "every server's checks unless it has its own; a check on some server (its own or these): keepalived owns the service, none: the applier does" }),
    delayLoop: Seconds.optional(),
    connectTimeout: Seconds.optional(),
    retry: range(0, 1000, "retry").optional(),
    delayBeforeRetry: Seconds.optional(),
    warmup: Seconds.optional(),
    quorum: range(1, 2147483647, "quorum").optional(),
    hysteresis: range(0, 2147483647, "hysteresis").optional(),
    quorumUp: Command.optional(),
    quorumDown: Command.optional(),
    sorryServer: SorryServer.optional(),
    inhibitOnFailure: z.boolean().optional().meta({ description: "set weight 0 instead of removing a failed server" }),
    alpha: z.boolean().optional().meta({ description: "servers start as failed until a check succeeds" }),
    omega: z.boolean().optional().meta({ description: "run quorum_down on shutdown" }),
    haSuspend: z.boolean().optional().meta({ description: "ha_suspend: checks run only while this director holds the service's VIP (not for fwmark services)" }),
  })
  .meta({ id: "Pool" });

export const Persistence = z.strictObject({
  timeout: range(1, 2678400, "persistence timeout").default(360),
  netmask: IpAddress.optional().meta({ description: "IPv4 services: client grouping mask, e.g. 255.255.255.0" }),
  prefix: range(1, 128, "prefix").optional().meta({ description: "IPv6 services: client grouping prefix length" }),
  engine: z.literal("sip").optional(),
});

/** One entry of a virtual_server_group: an address (or a range of them) with a port, or a fwmark. */
export const GroupMember = z
  .union([
    z.strictObject({
      address: IpAddress,
      port: Port,
      last: range(0, 65535, "last").optional().meta({ description: "a range up to this value of the address's last byte (IPv4) or last 16-bit group (IPv6)" }),
    }),
    z.strictObject({ fwmark: range(1, 2147483647, "fwmark") }),
  ])
  .meta({ id: "GroupMember" });

export const Service = z
  .strictObject({
    name: Name,
    protocol: z.enum(PROTOCOLS).optional().meta({ description: "tcp, udp or sctp; omit for fwmark services" }),
    address: IpAddress.optional(),
    port: Port.optional(),
    fwmark: range(1, 2147483647, "fwmark").optional(),
    family: z.enum(FAMILIES).optional().meta({ description: "fwmark services: inet (default) or inet6" }),
    scheduler: z.enum(SCHEDULERS).default("wlc"),
    schedulerFlags: z.array(z.enum(SCHEDULER_FLAGS)).default([]),
    persistence: Persistence.optional(),
    onePacket: z.boolean().default(false).meta({ description: "-o: schedule every packet (UDP and fwmark only)" }),
    pool: Pool,
    directors: z.array(Name).optional().meta({ description: "directors carrying this service (default: all)" }),
    virtualhost: Hostname.optional(),
    group: z
      .strictObject({ members: z.array(GroupMember).min(1) })
      .optional()
      .meta({ description: "virtual_server_group: these VIP:ports, ranges and fwmarks share the pool (instead of address/port or fwmark; protocol for the addresses, family for the fwmarks)" }),
  })
  .meta({ id: "Service" });

export const SshEndpoint = z.strictObject({
  host: z.string().refine(isIpAddressOrHostname, {
    message: "must be an IP address or a DNS name", params: { code: "invalid-hostname" },
  }).meta({ format: "ipvs-host" satisfies SpecFormat }),
  port: range(1, 65535, "port").default(22),
  user: Name.default("root"),
  hostKey: pattern(HOST_KEY).meta({ description: "pinned public host key; connections with another key are refused" }),
  privateKeyPath: FilePath.optional().meta({ description: "client key file (CLI); the agent is used when absent" }),
});

export const VrrpOverride = z.strictObject({
  state: z.enum(["MASTER", "BACKUP"]).optional(),
  priority: int().optional(),
  nopreempt: z.boolean().optional(),
  interface: InterfaceName.optional(),
  unicastSrcIp: IpAddress.optional(),
  virtualRouterId: int().optional(),
  advertInterval: Seconds.optional(),
  authType: z.enum(["PASS", "AH"]).optional(),
  authPassword: z.string().optional(),
});

export const Director = z
  .strictObject({
    name: Name,
    ssh: SshEndpoint.optional(),
    interfaces: z.array(InterfaceName).min(1).meta({ description: "interfaces that exist on the director" }),
    address: IpAddress.optional().meta({ description: "the director's own address on the VRRP link (unicast peers, sync daemon)" }),
    routerId: Name.optional(),
    vrrp: z.record(Name, VrrpOverride).optional().meta({ description: "per-instance overrides for this director" }),
  })
  .meta({ id: "Director" });

/** keepalived's notify scripts of a VRRP instance or a sync group (argv, run on each transition). */
const notifyScripts = {
  notifyMaster: Command.optional().meta({ description: "run on becoming MASTER" }),
  notifyBackup: Command.optional().meta({ description: "run on becoming BACKUP" }),
  notifyFault: Command.optional().meta({ description: "run on entering FAULT" }),
  notifyStop: Command.optional().meta({ description: "run when keepalived stops the instance" }),
  notify: Command.optional().meta({ description: "run on every transition, with the kind, name and new state as arguments" }),
};

export const VrrpInstance = z
  .strictObject({
    name: Name,
    directors: z.array(Name).min(1).optional().meta({ description: "directors running this instance (default: all), in order: the first is the preferred master" }),
    interface: InterfaceName,
    virtualRouterId: int().meta({ description: "1..255, the same on every director" }),
    priority: int().optional().meta({ description: "base priority; the director order derives the rest" }),
    advertInterval: Seconds.default(1),
    vips: z.array(IpPrefix).min(1),
    excludedVips: z.array(IpPrefix).optional(),
    authType: z.enum(["PASS", "AH"]).optional(),
    authPassword: z.string().optional().meta({ description: "secret: rendered into a separate include file, never into keepalived.conf" }),
    unicast: z.boolean().default(false).meta({ description: "unicast peers from the addresses of the instance's other directors" }),
    unicastPeers: z.array(IpAddress).optional(),
    nopreempt: z.boolean().default(false),
    preemptDelay: range(0, 1000, "preemptDelay").optional(),
    trackInterfaces: z.array(z.strictObject({ name: InterfaceName, weight: range(-253, 253, "weight").optional() })).optional(),
    trackScripts: z.array(z.strictObject({ name: Name, weight: range(-253, 253, "weight").optional() })).optional(),
    version: z.union([z.literal(2), z.literal(3)]).optional(),
    garpMasterDelay: range(0, 255, "garpMasterDelay").optional().meta({ description: "seconds after becoming MASTER before the second set of gratuitous ARPs (keepalived: 5; 0 = none)" }),
    ...notifyScripts,
  })
  .meta({ id: "VrrpInstance" });

export const SyncGroup = z
  .strictObject({
    name: Name,
    instances: z.array(Name).meta({ description: "the VRRP instances that fail over together (two or more)" }),
    ...notifyScripts,
  })
  .meta({ id: "SyncGroup" });

export const VrrpScript = z.strictObject({
  name: Name,
  command: Command,
  interval: Seconds.default(2),
  timeout: Seconds.optional(),
  weight: range(-253, 253, "weight").optional(),
  rise: range(1, 1000, "rise").optional(),
  fall: range(1, 1000, "fall").optional(),
});

export const SyncDaemon = z.strictObject({
  interface: InterfaceName,
  instance: Name.optional().meta({ description: "VRRP instance whose state decides master/backup; every director running VRRP must run it (default: each director's first instance)" }),
  syncId: range(0, 255, "syncId").default(0),
  maxlen: range(1, 65507, "maxlen").optional(),
  port: range(1, 65535, "port").optional(),
  ttl: range(1, 255, "ttl").optional(),
  group: IpAddress.optional(),
});

export const Spec = z
  .strictObject({
    $schema: z.string().optional(),
    targetKernel: pattern(KERNEL_VERSION).default("6.1").meta({ description: "kernel version of the directors; decides which schedulers exist" }),
    directors: z.array(Director).min(1),
    services: z.array(Service),
    vrrp: z
      .strictObject({
        instances: z.array(VrrpInstance).default([]),
        scripts: z.array(VrrpScript).default([]),
        syncGroup: Name.optional().meta({ description: "name of the vrrp_sync_group joining the instances a director runs (default SG_IPVS when there are several and syncGroups is absent)" }),
        syncGroups: z.array(SyncGroup).optional().meta({ description: "the sync groups, exactly: instances in none fail over independently ([] = every instance on its own)" }),
      })
      .optional(),
    syncDaemon: SyncDaemon.optional(),
    ha: z
      .strictObject({
        mode: z.enum(["vrrp", "stateless"]).default("vrrp").meta({ description: "stateless: directors behind ECMP, mh scheduling, no sync" }),
      })
      .optional(),
    timeouts: z
      .strictObject({ tcp: range(0, 2147483, "tcp").optional(), tcpFin: range(0, 2147483, "tcpFin").optional(), udp: range(0, 2147483, "udp").optional() })
      .optional(),
    sysctl: z
      .strictObject({
        expireNodestConn: z.boolean().default(true),
        expireQuiescentTemplate: z.boolean().default(true),
        conntrack: z.boolean().default(false),
        connReuseMode: range(0, 2, "connReuseMode").optional(),
        sloppyTcp: z.boolean().optional(),
        sloppySctp: z.boolean().optional(),
        ipForward: z.boolean().default(true),
      })
      .optional(),
    keepalived: z
      .strictObject({
        configDir: FilePath.default("/etc/keepalived"),
        scriptUser: Name.default("root"),
      })
      .optional(),
  })
  .meta({ id: "IpvsSpec", title: "pulumi-ipvs spec" });

/** What a user writes (defaults optional). */
export type SpecInput = z.input<typeof Spec>;
/** A spec after schema parsing: defaults filled in, still in the user's order. */
export type ParsedSpec = z.output<typeof Spec>;
export type ServiceSpec = z.output<typeof Service>;
export type RealServerSpec = z.output<typeof RealServer>;
export type ForwardingSpec = z.output<typeof Forwarding>;
export type HealthCheckSpec = z.output<typeof HealthCheck>;
export type PoolSpec = z.output<typeof Pool>;
export type DirectorSpec = z.output<typeof Director>;
export type VrrpInstanceSpec = z.output<typeof VrrpInstance>;
export type VrrpScriptSpec = z.output<typeof VrrpScript>;
export type SyncGroupSpec = z.output<typeof SyncGroup>;
export type GroupMemberSpec = z.output<typeof GroupMember>;
export type SyncDaemonSpec = z.output<typeof SyncDaemon>;
export type SchedulerName = (typeof SCHEDULERS)[number];
export type SchedulerFlag = (typeof SCHEDULER_FLAGS)[number];
export type Protocol = (typeof PROTOCOLS)[number];
export type Family = (typeof FAMILIES)[number];
export type ForwardingMethod = (typeof FORWARDING_METHODS)[number];
export type TunnelType = (typeof TUNNEL_TYPES)[number];
export type TunnelChecksum = (typeof TUNNEL_CHECKSUMS)[number];
