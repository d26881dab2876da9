/**
 * The structural comparator: aliases, keepalived's defaults, address forms, order and
 * setting placement do not count as differences; real differences and unexplained keywords
 * do, and ignored nodes (what an import reported) are left out.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compareKeepalivedConfs } from "../../src/import/compare-keepalived-conf.js";
import { parseKeepalivedConf, type ConfNode } from "../../src/import/parse-keepalived-conf.js";

const tree = (text: string): ConfNode[] => {
  const r = parseKeepalivedConf(text, "x.conf");
  assert.deepEqual(r.issues, []);
  return r.nodes;
};
const diff = (a: string, b: string, ignore?: Set<ConfNode>) => compareKeepalivedConfs(tree(a), tree(b), ignore ? { ignore } : {});

const ORIGINAL = `
global_defs {
  router_id lb1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    203.0.113.1
    2001:DB8:0::1
  }
}
virtual_server 203.0.113.10 80 {
  lb_algo rr
  protocol TCP
  connect_timeout 3
  real_server 192.0.2.2 8080 {
    TCP_CHECK {
      nb_get_retry 2
    }
  }
  real_server 192.0.2.1 8080 {
    weight 1
    TCP_CHECK {
      nb_get_retry 2
    }
  }
}
`;

const RENDERED = `
global_defs {
  router_id lb1
  enable_script_security
  script_user root
  reload_check_config
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    2001:db8::1/128 dev eth0
    203.0.113.1/32 dev eth0
  }
}
virtual_server 203.0.113.10 80 {
  delay_loop 60
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 192.0.2.1 8080 {
    weight 1
    TCP_CHECK {
      connect_timeout 3
      retry 2
    }
  }
  real_server 192.0.2.2 8080 {
    weight 1
    TCP_CHECK {
      connect_timeout 3
      retry 2
    }
  }
}
`;

describe("compareKeepalivedConfs", () => {
  test("aliases, defaults, address forms, order and timer placement are not differences", () => {
    assert.deepEqual(diff(ORIGINAL, RENDERED), []);
  });

  test("a real difference is named by its place", () => {
    const changed = RENDERED.replace("  real_server 192.0.2.2 8080 {\n    weight 1", "  real_server 192.0.2.2 8080 {\n    weight 3");
    assert.deepEqual(diff(ORIGINAL, changed), ["virtual_server tcp/203.0.113.10:80 > real_server 192.0.2.2:8080 > weight: 1 != 3"]);
    const state = RENDERED.replace("state BACKUP", "state MASTER");
    assert.deepEqual(diff(ORIGINAL, state), ["vrrp_instance VI_1 > state: BACKUP != MASTER"]);
    const port = RENDERED.replace("      retry 2\n    }\n  }\n}", "      retry 2\n      connect_port 81\n    }\n  }\n}");
    assert.equal(diff(ORIGINAL, port).length, 1);
    assert.match(diff(ORIGINAL, port)[0]!, /real_server 192\.0\.2\.2:8080 > checkers: .*connect_port=8080.* != .*connect_port=81/);
  });

  test("keywords neither side explains are differences unless ignored", () => {
    const original = `${ORIGINAL}static_routes {\n  192.0.2.0/24 dev eth0\n}\n`;
    const d = diff(original, RENDERED);
    assert.deepEqual(d, ["unexplained top level > static_routes (x.conf:29): static_routes != (absent)"]);
    const nodes = tree(original);
    const ignore = new Set(nodes.filter((n) => n.keyword === "static_routes"));
    assert.deepEqual(compareKeepalivedConfs(nodes, tree(RENDERED), { ignore }), []);
  });

  test("keepalived's VRRP rules: 255 makes a MASTER, AH and MASTER clear an initial MASTER and nopreempt", () => {
    const vrrp = (body: string) => `vrrp_instance V {\n  interface eth0\n  virtual_router_id 1\n${body}\n  virtual_ipaddress {\n    203.0.113.1\n  }\n}\n`;
    assert.deepEqual(diff(vrrp("  priority 255"), vrrp("  state MASTER")), []);
    assert.deepEqual(diff(vrrp("  state MASTER\n  priority 100\n  nopreempt"), vrrp("  state MASTER\n  priority 100")), []);
    assert.deepEqual(diff(vrrp("  state MASTER\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass x\n  }"), vrrp("  state BACKUP\n  priority 100\n  authentication {\n    auth_type AH\n    auth_pass x\n  }")), []);
  });

  test("a virtual_server group compares equal to its services written out", () => {
    const group = `virtual_server_group G {\n  203.0.113.1 80\n  fwmark 3\n}\nvirtual_server group G {\n  protocol TCP\n  real_server 192.0.2.1 80 {\n    weight 2\n  }\n}\n`;
    const separate = `virtual_server 203.0.113.1 80 {\n  protocol TCP\n  real_server 192.0.2.1 80 {\n    weight 2\n  }\n}\nvirtual_server fwmark 3 {\n  ip_family inet\n  real_server 192.0.2.1 80 {\n    weight 2\n  }\n}\n`;
    assert.deepEqual(diff(group, separate), []);
  });

  test("DR and fwmark ports follow keepalived: DR servers take the service port", () => {
    const a = "virtual_server 203.0.113.1 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 192.0.2.1 8080 {\n  }\n}\n";
    const b = "virtual_server 203.0.113.1 80 {\n  protocol TCP\n  lvs_method DR\n  real_server 192.0.2.1 80 {\n    weight 1\n  }\n}\n";
    assert.deepEqual(diff(a, b), []);
  });
});
