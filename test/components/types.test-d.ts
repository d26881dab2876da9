/**
 * Compile-time checks of the component types, verified by `tsc --noEmit` (part of npm test):
 * each `@ts-expect-error` line must fail to type-check, or tsc reports the directive as unused.
 * Never executed.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  forwarding, healthCheck, scheduler, type IpvsClusterArgs, type ServiceArgs,
} from "../../components/index.js";

const pool = { servers: [{ address: "192.0.2.11" }] };

export const ok: ServiceArgs[] = [
  { name: "a", protocol: "tcp", address: "203.0.113.1", port: 80, scheduler: scheduler.mh({ fallback: true, port: true }), pool },
  { name: "b", protocol: "udp", address: "203.0.113.1", port: 53, scheduler: scheduler.sh({ port: true }), onePacket: true, pool },
  { name: "c", fwmark: 8, family: "inet6", onePacket: true, scheduler: scheduler.wrr(), pool: { ...pool, forwarding: forwarding.tunnel({ type: "gue", port: 6080, checksum: "remcsum" }) } },
  { name: "d", protocol: "udp", address: "203.0.113.1", port: 5060, persistence: { timeout: 60, engine: "sip" }, pool },
  { name: "e", protocol: "tcp", address: "203.0.113.1", port: 443, pool: { ...pool, forwarding: forwarding.dr(), healthChecks: [healthCheck.https({ path: "/", enableSni: true })] } },
];

// schedulers take only their own flags
// @ts-expect-error wrr has no port flag
scheduler.wrr({ port: true });
// @ts-expect-error misspelled flag
scheduler.sh({ fallbak: true });
// @ts-expect-error flags are booleans
scheduler.mh({ fallback: "yes" });
// @ts-expect-error a scheduler is built by a factory, not named by a string
export const s1: ServiceArgs = { name: "x", protocol: "tcp", address: "203.0.113.1", port: 80, scheduler: "wrr", pool };
// @ts-expect-error raw scheduler flags are not an argument: use scheduler.sh({...})
export const s2: ServiceArgs = { name: "x", protocol: "tcp", address: "203.0.113.1", port: 80, schedulerFlags: ["sh-port"], pool };

// tunnels: gue needs a port; gre takes none and no remcsum; ipip takes no options
// @ts-expect-error gue without a port
forwarding.tunnel({ type: "gue" });
// @ts-expect-error gre has no port
forwarding.tunnel({ type: "gre", port: 6080 });
// @ts-expect-error gre has no remote checksum offload
forwarding.tunnel({ type: "gre", checksum: "remcsum" });
// @ts-expect-error ipip takes no checksum option
forwarding.tunnel({ checksum: "csum" });
// @ts-expect-error unknown tunnel type
forwarding.tunnel({ type: "vxlan" });
// @ts-expect-error nat takes no options
forwarding.nat({ port: 1 });

// services: one-packet scheduling only for UDP and fwmark; SIP persistence only for UDP
// @ts-expect-error -o on TCP
export const s3: ServiceArgs = { name: "x", protocol: "tcp", address: "203.0.113.1", port: 80, onePacket: true, pool };
// @ts-expect-error the SIP engine on TCP
export const s4: ServiceArgs = { name: "x", protocol: "tcp", address: "203.0.113.1", port: 80, persistence: { engine: "sip" }, pool };
// @ts-expect-error a fwmark service has no address
export const s5: ServiceArgs = { name: "x", fwmark: 8, address: "203.0.113.1", pool };
// @ts-expect-error a protocol service needs its port
export const s6: ServiceArgs = { name: "x", protocol: "tcp", address: "203.0.113.1", pool };
// @ts-expect-error unknown protocol
export const s7: ServiceArgs = { name: "x", protocol: "icmp", address: "203.0.113.1", port: 0, pool };

// health checks take their checker's options only
// @ts-expect-error a DNS check needs the name to resolve
healthCheck.dns({});
// @ts-expect-error http takes a path or urls, not both
healthCheck.http({ path: "/", urls: [{ path: "/a" }] });
// @ts-expect-error a TCP check has no path
healthCheck.tcp({ path: "/" });
// @ts-expect-error http needs a path (or urls)
healthCheck.http({});
// @ts-expect-error SNI is for https only
healthCheck.http({ path: "/", enableSni: true });

// secrets and connections: only these are Inputs; structure stays plain
declare const password: pulumi.Output<string>;
declare const host: pulumi.Output<string>;
export const cluster: IpvsClusterArgs = {
  directors: [{ name: "lb1", interfaces: ["eth0"], ssh: { host, hostKey: "ssh-ed25519 AAAA" } }],
  services: [],
  vrrp: { instances: [{ name: "VI_1", interface: "eth0", virtualRouterId: 1, vips: ["203.0.113.1/32"], authPassword: password }] },
  ssh: { privateKey: password },
};
export const noHostKey: IpvsClusterArgs = {
  // @ts-expect-error the host key must be pinned
  directors: [{ name: "lb1", interfaces: ["eth0"], ssh: { host: "198.51.100.1" } }],
  services: [],
};
export const outputService: IpvsClusterArgs = {
  directors: [{ name: "lb1", interfaces: ["eth0"] }],
  // @ts-expect-error addresses decide the rendered files: they are plain values, not Outputs
  services: [{ name: "x", protocol: "tcp", address: host, port: 80, pool }],
};
