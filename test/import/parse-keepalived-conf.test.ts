/**
 * The keepalived.conf reader: tokens, quotes, comments, blocks in every layout keepalived
 * accepts, includes (relative, nested, globs, missing, cyclic), line numbers, and the
 * constructs it reports instead of following (@conditional lines, $parameters, braces).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { findingKey } from "../../src/import/import-findings.js";
import { parseKeepalivedConf, statementText, type ConfNode } from "../../src/import/parse-keepalived-conf.js";

/** `keyword args` per node, children indented, for compact assertions. */
function outline(nodes: readonly ConfNode[], depth = 0): string[] {
  return nodes.flatMap((n) => [`${"  ".repeat(depth)}${statementText(n)}${n.children ? " {" : ""}`, ...(n.children ? outline(n.children, depth + 1) : [])]);
}

function at(n: ConfNode | undefined): string {
  assert.ok(n, "node missing");
  return `${n.location.file}:${n.location.line}:${n.location.column}`;
}

describe("tokens and comments", () => {
  test("# and ! start a comment anywhere outside quotes; \\# and \\! are literal", () => {
    const r = parseKeepalivedConf(
      [
        "! a comment line",
        "# another",
        "global_defs {   # trailing comment",
        "  router_id lb1 ! trailing bang",
        '  notification_email_from "a#b!c"',
        "  smtp_helo_name x\\#y\\!z",
        "}",
      ].join("\n"),
      "k.conf",
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(outline(r.nodes), [
      "global_defs {",
      "  router_id lb1",
      '  notification_email_from "a#b!c"',
      "  smtp_helo_name x#y!z",
    ]);
  });

  test("a quoted string is one argument, its quotes remembered", () => {
    const r = parseKeepalivedConf('vrrp_script s {\n  script "/usr/bin/check --port 80"\n}\n', "k.conf");
    const script = r.nodes[0]!.children![0]!;
    assert.deepEqual(script.args, ["/usr/bin/check --port 80"]);
    assert.deepEqual(script.quoted, [true]);
  });

  test("an unterminated quote takes the rest of the line and is reported", () => {
    const r = parseKeepalivedConf('a {\n  script "/bin/x arg\n}\n', "k.conf");
    assert.deepEqual(r.nodes[0]!.children![0]!.args, ["/bin/x arg"]);
    assert.deepEqual(r.issues.map((i) => findingKey(i)), ['"@2']);
  });
});

describe("blocks", () => {
  test("nested blocks, with and without spaces, one-line blocks and '{' on the next line", () => {
    const r = parseKeepalivedConf(
      [
        "virtual_server 192.0.2.10 80{",
        "  real_server 192.0.2.21 80 { weight 2 }",
        "  real_server 192.0.2.22 80",
        "  {",
        "    TCP_CHECK {",
        "      connect_timeout 3",
        "    }",
        "  }",
        "}",
        "vrrp_instance VI_1 { virtual_ipaddress { 203.0.113.1 } }",
      ].join("\n"),
      "k.conf",
    );
    assert.deepEqual(r.issues, []);
    assert.deepEqual(outline(r.nodes), [
      "virtual_server 192.0.2.10 80 {",
      "  real_server 192.0.2.21 80 {",
      "    weight 2",
      "  real_server 192.0.2.22 80 {",
      "    TCP_CHECK {",
      "      connect_timeout 3",
      "vrrp_instance VI_1 {",
      "  virtual_ipaddress {",
      "    203.0.113.1",
    ]);
  });

  test("every node has its file, line and column", () => {
    const r = parseKeepalivedConf("global_defs {\n\n    router_id lb1\n}\n", "/etc/keepalived/keepalived.conf");
    assert.equal(at(r.nodes[0]), "/etc/keepalived/keepalived.conf:1:1");
    assert.equal(at(r.nodes[0]!.children![0]), "/etc/keepalived/keepalived.conf:3:5");
    assert.equal(r.nodes[0]!.children![0]!.location.lineText, "    router_id lb1");
  });

  test("an extra '}' and a missing '}' are reported, not thrown", () => {
    const extra = parseKeepalivedConf("a {\n}\n}\n", "k.conf");
    assert.deepEqual(extra.issues.map((i) => findingKey(i)), ["}@3"]);
    const missing = parseKeepalivedConf("a {\n  b {\n    c 1\n", "k.conf");
    assert.deepEqual(missing.issues.map((i) => findingKey(i)).sort(), ["a@1", "b@2"]);
    assert.deepEqual(outline(missing.nodes), ["a {", "  b {", "    c 1"]);
  });

  test("a '{' without a keyword: its block is reported and skipped", () => {
    const r = parseKeepalivedConf("{\n  x 1\n}\ny 2\n", "k.conf");
    assert.deepEqual(outline(r.nodes), ["y 2"]);
    assert.deepEqual(r.issues.map((i) => findingKey(i)), ["{@1"]);
  });
});

describe("includes", () => {
  const files: Record<string, string> = {
    "/etc/keepalived/keepalived.conf": "global_defs {\n  router_id lb1\n}\ninclude conf.d/*.conf\ninclude /etc/keepalived/vrrp.conf\n",
    "/etc/keepalived/conf.d/a.conf": "virtual_server 192.0.2.10 80 {\n  include servers/web.inc\n}\n",
    "/etc/keepalived/conf.d/servers/web.inc": "real_server 192.0.2.21 80 {\n  weight 1\n}\n",
    "/etc/keepalived/conf.d/b.conf": "virtual_server 192.0.2.11 53 {\n}\n",
    "/etc/keepalived/vrrp.conf": "\n\nvrrp_instance VI_1 {\n}\n",
  };
  const sources = {
    readInclude: (p: string) => files[p],
    expandGlob: (pattern: string) => {
      const re = new RegExp(`^${pattern.replace(/[.]/g, "\\.").replace(/\*/g, "[^/]*")}$`);
      return Object.keys(files).filter((f) => re.test(f)).sort();
    },
  };

  test("are spliced in place, relative to the including file, globs in order, blocks spanning files", () => {
    const r = parseKeepalivedConf(files["/etc/keepalived/keepalived.conf"]!, "/etc/keepalived/keepalived.conf", sources);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(outline(r.nodes), [
      "global_defs {",
      "  router_id lb1",
      "virtual_server 192.0.2.10 80 {",
      "  real_server 192.0.2.21 80 {",
      "    weight 1",
      "virtual_server 192.0.2.11 53 {",
      "vrrp_instance VI_1 {",
    ]);
    assert.equal(at(r.nodes[1]!.children![0]), "/etc/keepalived/conf.d/servers/web.inc:1:1");
    assert.equal(at(r.nodes[3]), "/etc/keepalived/vrrp.conf:3:1");
    assert.deepEqual(r.files, [
      "/etc/keepalived/keepalived.conf", "/etc/keepalived/conf.d/a.conf", "/etc/keepalived/conf.d/servers/web.inc",
      "/etc/keepalived/conf.d/b.conf", "/etc/keepalived/vrrp.conf",
    ]);
  });

  test("relative main files resolve includes relatively too", () => {
    const seen: string[] = [];
    parseKeepalivedConf("include x.conf\n", "conf/keepalived.conf", { readInclude: (p) => (seen.push(p), "") });
    assert.deepEqual(seen, ["conf/x.conf"]);
  });

  test("missing files, unmatched globs, globs without a way to expand them and cycles are reported", () => {
    const loop = { "/a.conf": "include b.conf\n", "/b.conf": "include /a.conf\nx 1\n" } as Record<string, string>;
    const r = parseKeepalivedConf(loop["/a.conf"]!, "/a.conf", { readInclude: (p) => loop[p] });
    assert.deepEqual(outline(r.nodes), ["x 1"]);
    assert.deepEqual(r.issues.map((i) => `${i.location!.file}:${findingKey(i)}`), ["/b.conf:include@1"]);
    assert.match(r.issues[0]!.message, /includes itself/);

    const missing = parseKeepalivedConf("include nope.conf\ninclude d/*.conf\n", "/k.conf", { readInclude: () => undefined });
    assert.deepEqual(missing.issues.map((i) => findingKey(i)), ["include@1", "include@2"]);
    assert.match(missing.issues[0]!.message, /cannot read \/nope\.conf/);
    assert.match(missing.issues[1]!.message, /no way to expand globs/);
    const none = parseKeepalivedConf("include d/*.conf\n", "/k.conf", { expandGlob: () => [] });
    assert.match(none.issues[0]!.message, /no file matches/);
  });
});

describe("constructs reported instead of followed", () => {
  test("@conditional lines, $parameter definitions (also multi-line) and references, ~SEQ", () => {
    const r = parseKeepalivedConf(
      [
        "$IF=eth0", // 1
        "$LIST=a \\", // 2
        "  b \\", // 3
        "  c", // 4
        "@high net_namespace high", // 5
        "@^low x 1", // 6
        "vrrp_instance VI_1 {", // 7
        "  interface $IF", // 8
        "  real_server ${IP} 80 {", // 9
        "    weight 1", // 10
        "  }", // 11
        "  priority 100", // 12
        "}", // 13
        "~SEQ(i, 1, 3) x $i", // 14
      ].join("\n"),
      "k.conf",
    );
    assert.deepEqual(r.issues.map((i) => findingKey(i)), ["$IF@1", "$LIST@2", "@high@5", "@^low@6", "$IF@8", "$IP@9", "~SEQ@14"]);
    assert.deepEqual(outline(r.nodes), ["vrrp_instance VI_1 {", "  priority 100"]);
    for (const i of r.issues) {
      assert.equal(i.code, "unsupported-construct");
      assert.equal(i.severity, "warning");
    }
  });
});
