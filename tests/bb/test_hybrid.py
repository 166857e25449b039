"""make hybrid / make hybrid-stop (scripts/hybrid, docs/FEDERATION.md "Trying
it: make hybrid"): the script itself, in a state dir, on a port, an address
block and with name prefixes of the test's own (HYBRID_* overrides), on the
binaries under test. The cloud's estate view must show three branches, each
with its manager active and its sample VNF active and answering; stop must
leave nothing behind: no process, namespace, link, route, cgroup, uid claim
or state directory. Each WAN link carries its frames 3 ms later each way
(HYBRID_WAN_DELAY_MS: examples/wan-delay in a namespace between two veth
pairs), which the cloud's view of every branch's WAN shows."""
import glob
import json
import os
import random
import shutil
import ssl
import subprocess
import tempfile
import unittest
import urllib.request

from vnfm import BUILD, ROOT, UIDS, cmdline, free_port, http_get

SCRIPT = os.path.join(ROOT, "scripts", "hybrid")
SITES = ("paris", "berlin", "madrid")
WAN_DELAY_MS = 3


def free_net():
    """Two octets 10.N no address or route of the host uses (the script takes NET.0.0/16)."""
    used = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    used += subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    while True:
        net = "10.%d" % random.randint(200, 249)
        if net + "." not in used:
            return net


class HybridTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vnfm-hybrid-")
        os.rmdir(self.dir)  # the script makes it
        self.port, self.net = free_port(), free_net()
        self.prefix = "ht%d" % random.randint(0, 9999)
        self.logs = tempfile.mkdtemp(prefix="vnfm-hybrid-logs-")
        self.env = dict(os.environ, HYBRID_DIR=self.dir, HYBRID_PORT=str(self.port),
                        HYBRID_NET=self.net, HYBRID_PREFIX=self.prefix, HYBRID_BUILD=BUILD,
                        HYBRID_LOGS=self.logs, HYBRID_WAN_DELAY_MS=str(WAN_DELAY_MS))

    def tearDown(self):
        if os.path.isdir(self.dir):  # a failed test: stop removes what it can
            self.hybrid("stop")
            shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)

    def check_logs(self):
        """The managers stopped cleanly: no sanitizer report in their logs."""
        names = sorted(os.listdir(self.logs))
        self.assertEqual(names, sorted(["cloud.log"] + [s + ".log" for s in SITES]))
        for name in names:
            with open(os.path.join(self.logs, name)) as f:
                text = f.read()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                self.assertNotIn(marker, text, "%s:\n%s" % (name, text[-5000:]))
            self.assertIn("stopping (VNFs keep running)", text, name)

    def hybrid(self, what):
        return subprocess.run([SCRIPT, what], env=self.env, capture_output=True, text=True,
                              timeout=600)

    def cloud(self, path):
        with open(os.path.join(self.dir, "cloud", "admin.token")) as f:
            token = f.read().strip()
        req = urllib.request.Request("https://127.0.0.1:%d%s" % (self.port, path),
                                     headers={"Authorization": "Bearer " + token})
        ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "pki", "ca.pem"))
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return json.loads(r.read().decode())

    def leftovers(self, tags):
        """What of this estate is on the host."""
        left = []
        out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        left += [l.split(":")[1].strip() for l in out.splitlines()
                 if l.split(":")[1].strip().startswith(self.prefix) or
                 any("vb%s" % t in l for t in tags)]
        left += [n for n in os.listdir("/run/netns") if n.startswith(self.prefix + "-") or
                 any(n.startswith("vnfm-%s-" % t) for t in tags)]
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
        left += [l for l in routes.splitlines() if l.startswith(self.net + ".")]
        for t in tags:
            left += glob.glob("/sys/fs/cgroup/*/vnfm/%s" % t) + glob.glob("/sys/fs/cgroup/vnfm/" + t)
        for name in os.listdir(UIDS) if os.path.isdir(UIDS) else []:
            try:
                with open(os.path.join(UIDS, name)) as f:
                    if f.read() in tags:
                        left.append(UIDS + "/" + name)
            except OSError:
                pass
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        left += [l for l in ps.splitlines() if self.dir in l]
        if os.path.exists(self.dir):
            left.append(self.dir)
        return left

    def test_start_and_stop(self):
        p = self.hybrid("start")
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        # what to try next names the cloud, its CA and token
        self.assertIn("export VNFM_URL=https://127.0.0.1:%d VNFM_CA=%s/pki/ca.pem" %
                      (self.port, self.dir), p.stdout)
        self.assertIn("make hybrid-stop", p.stdout)
        managers = {m["site"]: m for m in self.cloud("/v0/managers")["managers"]}
        self.assertEqual(sorted(managers), sorted(SITES))
        self.assertTrue(all(m["state"] == "active" for m in managers.values()), managers)
        sites = {s["id"]: s for s in self.cloud("/v0/sites")["sites"]}
        caps = [sites[s]["capacity"]["vcpu"] for s in SITES]
        self.assertEqual(len(set(caps)), 3, caps)  # each branch its own capacity
        self.assertTrue(all(sites[s]["kind"] == "branch" for s in SITES))
        deps = {d["site"]: d for d in self.cloud("/v0/deployments")["deployments"]}
        for k, site in enumerate(SITES, 1):
            d = deps[site]
            self.assertEqual((d["status"], d["manager"]), ("active", managers[site]["id"]))
            [vi] = self.cloud("/v0/deployments/" + d["id"])["vis"]
            # each branch its own subnet, reached from the host over its WAN link
            self.assertTrue(vi["ip"].startswith("%s.%d." % (self.net, k)), vi)
            status, body = http_get("http://%s:8080/" % vi["ip"], timeout=5)
            self.assertEqual(status, 200)
            self.assertIn("hello from " + site, body)
            # the branch's reports went over its delayed link: a handshake is a round trip
            wan = self.cloud("/v0/sites/%s/pool" % site)["load"]["wan"]
            self.assertGreaterEqual(wan["latency_ms"], 2 * WAN_DELAY_MS, (site, wan))
        # every join used a token, once
        toks = self.cloud("/v0/join-tokens")["join_tokens"]
        self.assertEqual(sorted(t["site"] for t in toks if "used" in t), sorted(SITES))
        # run again, it finds everything running and changes nothing
        p = self.hybrid("start")
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        self.assertEqual(len(self.cloud("/v0/managers")["managers"]), 3)
        self.assertEqual(sorted(d["id"] for d in self.cloud("/v0/deployments")["deployments"]),
                         sorted(d["id"] for d in deps.values()))
        tags = [m["tag"] for m in managers.values()]
        tags.append(self.cloud("/v0/version")["instance"])
        lines = []  # the WAN delay lines' processes
        for k in (1, 2, 3):
            with open(os.path.join(self.dir, "wan%d.pid" % k)) as f:
                lines.append(int(f.read()))
        p = self.hybrid("stop")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.leftovers(tags), [])
        self.assertEqual([pid for pid in lines if "wan-delay" in cmdline(pid)], [])
        self.check_logs()


if __name__ == "__main__":
    unittest.main()
