// Two directors on one shared link (eth1, QEMU socket netdev on 127.0.0.1).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { bootDirectors, labStatus, LINK_V4, LINK_V6, requireLabOrSkip, type LabDirector } from "./lab.js";

const started = Date.now();

describe("director lab pair", () => {
  let dirs: LabDirector[] = [];

  before(async () => {
    if (!labStatus().available) return;
    dirs = await bootDirectors(2, { sharedLink: true });
  });

  after(async () => {
    await Promise.all(dirs.map((d) => d.close()));
    console.log(`director lab pair: total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("boots two directors with distinct names and host keys", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const [a, b] = dirs as [LabDirector, LabDirector];
    assert.equal((await a.run("hostname")).trim(), "dir1");
    assert.equal((await b.run("hostname")).trim(), "dir2");
    assert.notEqual(a.hostKey, b.hostKey);
    assert.notEqual(a.sshPort, b.sshPort);
  });

  it("pings across the shared link, IPv4 and IPv6", async (t) => {
    if (!requireLabOrSkip(t)) return;
    const [a, b] = dirs as [LabDirector, LabDirector];
    assert.equal(a.linkV4, LINK_V4(1));
    assert.match(await a.run("ip -4 -o addr show dev eth1"), new RegExp(`${LINK_V4(1).replace(/\./g, "\\.")}/24`));
    await a.run(`ping -c 2 -W 5 ${LINK_V4(2)}`);
    await b.run(`ping -c 2 -W 5 ${LINK_V4(1)}`);
    await a.run(`ping6 -c 2 -W 5 ${LINK_V6(2)}`);
  });
});
