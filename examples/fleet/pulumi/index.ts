/**
 * A fleet: the program of examples/fleet/fleet.yaml, as ONE IpvsCluster. Three sites, each
 * a VRRP pair: the site's instance names its two directors (`vrrp.instances[].directors`),
 * lb1 the preferred master (150), lb2 the backup (140), unicast adverts to the other
 * director of the pair, the sync daemon following the site's instance; the site's services
 * name the same two directors. The pairs share nothing, so the cluster chains each pair on
 * its own (lb2, then lb1) and `pulumi up` rolls the three pairs out side by side (Pulumi's
 * --parallel); a failure in a site stops that site's chain. One IpvsCluster per site, each
 * with its own owner, works as well (examples/pulumi-ha-pair is one such pair).
 */
import * as pulumi from "@pulumi/pulumi";
import { IpvsCluster, forwarding, healthCheck, scheduler, type ServiceArgs } from "../../../components/index.js";

const config = new pulumi.Config();
const privateKey = config.requireSecret("sshPrivateKey");

interface Site {
  name: string;
  /** the two directors: name suffix, address (SSH and the VRRP link), pinned host key */
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

/** `ams-lb1`, `ams-lb2`: the site's directors, the preferred master first */
const namesOf = (site: Site) => site.directors.map(([suffix]) => `${site.name}-${suffix}`);

const services = (site: Site): ServiceArgs[] => [
  {
    name: `${site.name}-web`, directors: namesOf(site), protocol: "tcp", address: site.vip, port: 443, scheduler: scheduler.wlc(),
    pool: { forwarding: forwarding.dr(), servers: site.web, healthChecks: [healthCheck.tcp({ connectTimeout: 2 })] },
  },
  ...(site.dns ? [{
    name: `${site.name}-dns`, directors: namesOf(site), protocol: "udp" as const, address: site.vip, port: 53, scheduler: scheduler.rr(),
    pool: { forwarding: forwarding.dr(), servers: site.dns.map((address) => ({ address })) },
  }] : []),
];

const fleet = new IpvsCluster("fleet", {
  directors: sites.flatMap((site) => site.directors.map(([suffix, address, hostKey]) => ({
    name: `${site.name}-${suffix}`, interfaces: ["eth0", "eth1"], address, ssh: { host: address, hostKey },
  }))),
  ssh: { privateKey },
  vrrp: {
    // one instance per site on its own pair; the sites may all use VRID 51: they share no director
    instances: sites.map((site) => ({
      name: `VI_${site.name.toUpperCase()}`, directors: namesOf(site), interface: "eth1", virtualRouterId: 51,
      vips: [`${site.vip}/32`], unicast: true,
    })),
  },
  // no instance named: each director's sync daemon follows its own site's instance
  syncDaemon: { interface: "eth1", syncId: 51 },
  sysctl: { expireNodestConn: true, expireQuiescentTemplate: true },
  services: sites.flatMap(services),
  owner: "fleet",
});

/** the order the directors roll out in, pair by pair (the pairs themselves side by side) */
export const rolloutOrder = fleet.rolloutOrder;
export const ipvsadmRules = fleet.ipvsadmRules;
/** per site: the rules its directors load (the site's services only) */
const names = sites.flatMap(namesOf);
export const siteRules = Object.fromEntries(sites.map((s) => [s.name, fleet.directors[names.indexOf(namesOf(s)[0]!)]!.ipvsadmRules]));
export const planSummary = fleet.planSummary;
