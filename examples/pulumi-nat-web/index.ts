/**
 * One NAT director. keepalived owns the web pool (it has a health check) and the applier
 * owns the metrics pool (no check): `pulumi preview --diff` shows the plan against the live
 * kernel (one property per change, keepalived.conf as a line diff), `pulumi up` applies it
 * without dropping connections (the director resource: docs/component-library.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { IpvsCluster, forwarding, healthCheck, scheduler } from "../../components/index.js";

const config = new pulumi.Config();

const web = new IpvsCluster("nat-web", {
  directors: [{
    name: "lb1",
    interfaces: ["eth0", "eth1"],
    ssh: {
      host: "198.51.100.11",
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF5dX7s8aBrYgYcPyJLDiWYp61WHFUh5pV9soMUiLdB",
      privateKey: config.requireSecret("sshPrivateKey"),
    },
  }],
  services: [
    {
      name: "web", protocol: "tcp", address: "203.0.113.10", port: 80, scheduler: scheduler.wlc(),
      pool: {
        forwarding: forwarding.nat(),
        delayLoop: 6,
        servers: [
          { address: "192.0.2.11", port: 8080, weight: 10 },
          { address: "192.0.2.12", port: 8080, weight: 10 },
          { address: "192.0.2.13", port: 8080, weight: 5, upperThreshold: 2000, lowerThreshold: 1500 },
        ],
        healthChecks: [healthCheck.http({ path: "/healthz", statusCode: [200], connectTimeout: 3, retry: 3, delayBeforeRetry: 2 })],
        sorryServer: { address: "192.0.2.99", port: 8080 },
        inhibitOnFailure: true,
      },
    },
    {
      name: "metrics", protocol: "tcp", address: "203.0.113.10", port: 9100, scheduler: scheduler.rr(),
      pool: {
        forwarding: forwarding.nat(),
        servers: [{ address: "192.0.2.11", port: 9100 }, { address: "192.0.2.12", port: 9100 }],
      },
    },
  ],
  owner: "nat-web",
  drainTimeoutSeconds: 60,
});

/** the whole table, as the director will hold it */
export const ipvsadmRules = web.ipvsadmRules;
export const keepalivedConf = web.directors[0]!.keepalivedConf;
export const planSummary = web.planSummary;
