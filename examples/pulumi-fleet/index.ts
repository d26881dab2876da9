/**
 * A fleet: the program of examples/fleet.yaml. Three sites, each a pair of directors behind
 * an ECMP route (stateless: Maglev hashing with mh-fallback and mh-port, sloppy_tcp, DR).
 * One IpvsCluster per site, each with its own owner (`fleet-ams`, ...): the clusters share
 * nothing, so `pulumi up` rolls the sites out side by side (Pulumi's --parallel), while
 * within a site the director resources form a chain, one director at a time (lb2, then
 * lb1); a failure in a site stops that site's chain. A site with a VRRP pair would add its
 * `vrrp` (and `syncDaemon`) to its own cluster, as examples/pulumi-ha-pair does.
 */
import * as pulumi from "@pulumi/pulumi";
import { IpvsCluster, forwarding, healthCheck, scheduler } from "../../components/index.js";

const config = new pulumi.Config();
const privateKey = config.requireSecret("sshPrivateKey");

interface Site {
  name: string;
  /** the two directors: name suffix, SSH address, pinned host key */
  directors: [string, string, string][];
  vip: string;
  web: { address: string; weight?: number }[];
  /** an applier-owned UDP pool (no health checks) */
  dns?: string[];
}

const sites: Site[] = [
  {
    name: "ams", vip: "203.0.113.10",
    directors: [
      ["lb1", "198.51.100.11", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG4ZKQWr80SnWgIPlAjf65JTnjIRqTC5mTyZ0+Q8WrGR"],
      ["lb2", "198.51.100.12", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTzvUWuUB/pKGjF8gm93WR4Wya/OUU1lB3QqX99itRY"],
    ],
    web: [{ address: "192.0.2.11" }, { address: "192.0.2.12" }],
  },
  {
    name: "fra", vip: "203.0.113.20",
    directors: [
      ["lb1", "198.51.100.21", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMQ/FkA8mBaBbNKKiHD1qRw94rp3rsZTrTNLsBjuYR6j"],
      ["lb2", "198.51.100.22", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGGsKzIE6xYGRB1uIU6XzErzOzunn+a8fErqlljIzIzk"],
    ],
    web: [{ address: "192.0.2.21" }, { address: "192.0.2.22" }, { address: "192.0.2.23", weight: 2 }],
  },
  {
    name: "lon", vip: "203.0.113.30",
    directors: [
      ["lb1", "198.51.100.31", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJgQcCQT+dbG3kD2Er37R+xR6PDbInnDXB4Z/aaZWvf1"],
      ["lb2", "198.51.100.32", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGM/GFAXMT/TIpTguPH99k6fKrXHlaWODhmP5kRtPiMw"],
    ],
    web: [{ address: "192.0.2.31" }, { address: "192.0.2.32" }],
    dns: ["192.0.2.35", "192.0.2.36"],
  },
];

const clusters = sites.map((site) => new IpvsCluster(`fleet-${site.name}`, {
  directors: site.directors.map(([suffix, host, hostKey]) => ({
    name: `${site.name}-${suffix}`, interfaces: ["eth0", "eth1"], ssh: { host, hostKey },
  })),
  ssh: { privateKey },
  ha: { mode: "stateless" },
  sysctl: { sloppyTcp: true, expireNodestConn: true, expireQuiescentTemplate: true },
  services: [
    {
      name: `${site.name}-web`, protocol: "tcp", address: site.vip, port: 443, scheduler: scheduler.mh({ fallback: true, port: true }),
      pool: {
        forwarding: forwarding.dr(),
        inhibitOnFailure: true,
        servers: site.web,
        healthChecks: [healthCheck.tcp({ connectTimeout: 2 })],
      },
    },
    ...(site.dns ? [{
      name: `${site.name}-dns`, protocol: "udp" as const, address: site.vip, port: 53, scheduler: scheduler.mh({ fallback: true, port: true }),
      pool: { forwarding: forwarding.dr(), servers: site.dns.map((address) => ({ address })) },
    }] : []),
  ],
  owner: `fleet-${site.name}`,
}));

/** per site: the order its two directors roll out in */
export const rolloutOrders = Object.fromEntries(sites.map((s, i) => [s.name, clusters[i]!.rolloutOrder]));
export const ipvsadmRules = Object.fromEntries(sites.map((s, i) => [s.name, clusters[i]!.ipvsadmRules]));
export const planSummary = pulumi.all(clusters.map((c) => c.planSummary)).apply((texts) => texts.join(""));
