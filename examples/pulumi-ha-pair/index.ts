/**
 * An HA pair: lb1 is the preferred VRRP master, lb2 the backup; the IPVS sync daemon copies
 * connection state so established connections survive a failover. The VRRP password comes
 * from a config secret and lands only in a secret include file. `pulumi up` applies each
 * director's plan (its director resource: docs/component-library.md) to lb2 first and lb1
 * (carrying the traffic) last; a failure on lb2 stops before lb1.
 */
import * as pulumi from "@pulumi/pulumi";
import { IpvsCluster, forwarding, healthCheck, scheduler } from "../../components/index.js";

const config = new pulumi.Config();

const edge = new IpvsCluster("edge", {
  directors: [
    {
      name: "lb1", interfaces: ["eth0", "eth1"], address: "198.51.100.11",
      ssh: { host: "198.51.100.11", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB" },
    },
    {
      name: "lb2", interfaces: ["eth0", "eth1"], address: "198.51.100.12",
      // the host may come from another resource (a VM's address); the host key stays pinned
      ssh: { host: config.get("lb2Host") ?? "198.51.100.12", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICSB+3nLXHdkc6OFyk/K4W9l1KAgZnXWu0bGdZqw/MQZ" },
    },
  ],
  ssh: { privateKey: config.requireSecret("sshPrivateKey") },
  vrrp: {
    instances: [{
      name: "VI_WEB", interface: "eth1", virtualRouterId: 51, priority: 150, vips: ["203.0.113.100/32"],
      authType: "PASS", authPassword: config.requireSecret("vrrpPassword"), unicast: true,
      trackInterfaces: [{ name: "eth0" }], trackScripts: [{ name: "chk_sshd" }],
    }],
    scripts: [{ name: "chk_sshd", command: ["/usr/bin/pgrep", "-x", "sshd"], interval: 2, fall: 2, rise: 2 }],
  },
  syncDaemon: { interface: "eth1", instance: "VI_WEB", syncId: 51 },
  services: [
    {
      name: "web", protocol: "tcp", address: "203.0.113.100", port: 80, scheduler: scheduler.wrr(),
      pool: {
        forwarding: forwarding.dr(),
        servers: [{ address: "203.0.113.111", weight: 3 }, { address: "203.0.113.112", weight: 1 }],
        healthChecks: [healthCheck.http({ path: "/", statusCode: [200] })],
      },
    },
    {
      // Maglev hashing over GUE tunnels: consistent choices, checksum offload on the real servers
      name: "quic", protocol: "udp", address: "203.0.113.100", port: 443, scheduler: scheduler.mh({ fallback: true, port: true }),
      pool: {
        forwarding: forwarding.tunnel({ type: "gue", port: 6080, checksum: "remcsum" }),
        servers: [{ address: "198.51.100.21" }, { address: "198.51.100.22" }],
      },
    },
  ],
  owner: "edge",
});

export const rolloutOrder = edge.rolloutOrder;
export const ipvsadmRules = edge.ipvsadmRules;
export const planSummary = edge.planSummary;
/** secret: shown as [secret] unless `pulumi stack output --show-secrets` */
export const vrrpIncludes = edge.directors.map((d) => d.secretFiles);
