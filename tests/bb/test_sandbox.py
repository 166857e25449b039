"""A tenant is hostile (issue 10, "a tenant token gets root on the host"):
the exploits of the review, each through the real API of a real daemon,
end in a refused request or a permission error inside the VNF or script,
and the manager's files stay out of reach (docs/SECURITY.md "VNFs and
tenant scripts")."""
import json
import os
import shutil
import sqlite3
import tempfile
import unittest

from vnfm import (UIDS, UIDS_BY_TAG, DaemonTest, EXAMPLES_BIN, SCRATCH, VNFDS, http_get,
                  pid_alive, slurp, wait_for)
from test_deploy import demo, script

RANGE = range(1879048192, 1879113728)  # the default --sandbox-uids


class SandboxTest(DaemonTest):

    @classmethod
    def tenant_token(cls, tenant="acme"):
        cls.d.request("POST", "/v0/tenants/" + tenant, {})
        return cls.d.ok("POST", "/v0/tenants/%s/tokens" % tenant, {})["token"]


class OnboardingTest(SandboxTest):
    """What a descriptor may name is checked when it is on-boarded, not
    when it is deployed."""

    def test_reserved_day0_names_are_refused(self):
        tok = self.tenant_token()
        bad = ["day0.json", "./day0.json", "console.log", "./console.log", ".", "..", "sub/",
               "a//b", "x/../../vnfm.db", "/etc/cron.d/x", "a/./b", "line\nbreak", "x" * 256]
        for i, path in enumerate(bad):
            v = demo("day0-bad-%d" % i)
            v["vdus"][0]["day0"].append({"path": path, "template": "x"})
            self.assertError(self.d.post("/v0/vnfds", v, token=tok), 400,
                             field="vdus[0].day0[1].path")
        # a file where another needs a directory is refused too
        v = demo("day0-clash")
        v["vdus"][0]["day0"] += [{"path": "etc", "template": "x"},
                                 {"path": "etc/app.conf", "template": "y"}]
        self.assertError(self.d.post("/v0/vnfds", v, token=tok), 400,
                         field="vdus[0].day0[2].path")
        self.assertEqual(self.d.get("/v0/vnfds", token=tok)[1]["vnfds"], [])
        # what stays allowed: plain relative paths, with directories
        v = demo("day0-good")
        v["vdus"][0]["day0"] += [{"path": "etc/app.conf", "template": "y"},
                                 {"path": "x..y", "template": "z"}]
        self.d.ok("POST", "/v0/vnfds", v, token=tok)
        self.d.ok("DELETE", "/v0/vnfds/day0-good", token=tok)


def loot(d, victim_day0, end="exit 1"):
    """A shell that reports its uid, then tries to read the manager's files
    and another tenant's day-0 file and to write to the host."""
    return ("id -u; touch /etc/vnfm-pwned-%s; for f in %s/vnfm.db %s/admin.token %s; do "
            "cat $f >/dev/null && echo STOLE $f; done; cat %s; %s"
            % (d.tag, d.dir, d.dir, victim_day0, victim_day0, end))


def proc_status(pid):
    """The fields of /proc/PID/status."""
    return dict((k, v.strip()) for k, v in
                (l.split(":", 1) for l in slurp("/proc/%d/status" % pid).splitlines()))


class VictimTest(SandboxTest):
    """A tenant "acme" with a token, and another tenant's deployment with a
    password in its day-0 file, that every test of the class attacks."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tok = cls.tenant_token()
        # another tenant's deployment, with a password in its day-0 file
        cls.d.onboard(demo("victim-vnfd"))
        cls.d.deploy("victim", "victim-vnfd", credentials={"password": "s3cret-pw"})
        [vi] = cls.d.deployment("victim")["vis"]
        cls.victim_day0 = os.path.join(cls.d.dir, "vi", vi["id"], "demo.conf")
        with open(cls.victim_day0) as f:
            assert "s3cret-pw" in f.read()
        cls.victim_pid = vi["pid"]

    def tearDown(self):
        deps = self.d.get("/v0/deployments")[1]["deployments"]
        for dep in deps:
            if dep["id"] != "victim":
                op = self.d.ok("DELETE", "/v0/deployments/" + dep["id"])
                if op:
                    self.d.wait_op(op["id"])

    def assertSandboxed(self, text, uid=None):
        """text is what the loot shell printed: it ran as an unprivileged uid
        of this manager's and got nothing."""
        uids = [int(w) for w in text.replace(":", " ").split() if w.isdigit() and int(w) > 1000]
        self.assertTrue(uids, text)
        self.assertIn(uids[0], RANGE, text)
        self.assertIn(uids[0], self.d.claims(), text)
        if uid is not None:
            self.assertEqual(uids[0], uid, text)
        self.assertNotIn("STOLE", text)
        self.assertNotIn("s3cret-pw", text)
        self.assertIn("No such file or directory", text)
        self.assertIn("Read-only file system", text)
        self.assertFalse(os.path.exists("/etc/vnfm-pwned-" + self.d.tag))
        return uids[0]


class TenantScriptTest(VictimTest):
    """Custom actions, script probes and rule script actions of a tenant run
    sandboxed as the tenant's own uid."""

    def test_custom_action_with_args(self):
        v = demo("evil-action")
        v["retry"] = {"attempts": 1, "backoff_ms": 10}
        v["lifecycle"] = {"post_deployment": [
            {"script": "/bin/sh", "args": ["-c", loot(self.d, self.victim_day0)]}]}
        self.d.onboard(v, token=self.tok)
        op = self.d.deploy("evil1", "evil-action", expect_state="rolled_back", token=self.tok)
        self.assertIn("exited with status 1", op["error"])
        self.assertSandboxed(op["error"])

    def test_script_probe(self):
        v = demo("evil-probe")
        grab = ("n=0; for f in %s/vnfm.db %s/admin.token %s; do cat $f >/dev/null 2>&1 && "
                "n=$((n+1)); done; echo $n" % (self.d.dir, self.d.dir, self.victim_day0))
        v["monitoring"] = {"interval_s": 0.2, "metrics": {
            "uid": {"probe": "script", "script": "/bin/sh", "args": ["-c", "id -u"]},
            "loot": {"probe": "script", "script": "/bin/sh", "args": ["-c", grab]},
            "write": {"probe": "script", "script": "/bin/sh",
                      "args": ["-c", "touch /etc/vnfm-pwned-%s 2>/dev/null; echo $?" % self.d.tag]}}}
        self.d.onboard(v, token=self.tok)
        self.d.deploy("evil2", "evil-probe", token=self.tok)

        def last(metric):
            m = self.d.get("/v0/deployments/evil2/monitoring", token=self.tok)[1]
            vis = m["metrics"].get(metric, {}).get("vis", [])
            return vis and vis[0].get("last") is not None and vis[0]
        uid = int(wait_for(lambda: last("uid"), 20, what="the uid probe")["last"])
        self.assertIn(uid, RANGE)
        self.assertIn(uid, self.d.claims())
        self.assertEqual(wait_for(lambda: last("loot"), 20, what="the loot probe")["last"], 0)
        self.assertEqual(wait_for(lambda: last("write"), 20, what="the write probe")["last"], 1)
        self.assertFalse(os.path.exists("/etc/vnfm-pwned-" + self.d.tag))

    def test_rule_script_action_set_at_run_time(self):
        v = demo("plain")
        self.d.onboard(v, token=self.tok)
        self.d.deploy("evil3", "plain", token=self.tok)
        rules = {"monitoring": {"metrics": {"jobs": {"probe": "push"}}},
                 "rules": [{"name": "pwn", "metric": "jobs", "op": ">", "threshold": 0,
                            "actions": [{"action": "script", "script": "/bin/sh",
                                         "args": ["-c", loot(self.d, self.victim_day0)]}]}]}
        self.d.ok("PUT", "/v0/deployments/evil3/rules", rules, token=self.tok)
        wait_for(lambda: self.d.get("/v0/deployments/evil3/monitoring")[1]["metrics"].get("jobs"),
                 10, what="the new metric")
        self.d.ok("POST", "/v0/deployments/evil3/metrics", {"values": {"jobs": 1}},
                  expect=(202,), token=self.tok)
        dec = wait_for(lambda: [x for x in self.d.get("/v0/decisions?deployment=evil3",
                                                      token=self.tok)[1]["decisions"]
                                if x["state"] != "running"], 20, what="the decision")[0]
        [act] = dec["actions"]
        self.assertEqual(act["state"], "failed", dec)
        self.assertSandboxed(act["error"])

    def test_script_dir_runs_unsandboxed_only_for_an_admin(self):
        who = script(os.path.join(self.d.scripts, "who.sh"), "id -u; exit 1\n")
        os.chmod(who, 0o755)
        for name, token, owner in (("who-tenant", self.tok, None),
                                   ("who-admin", "admin", "acme")):
            v = demo(name)
            v["retry"] = {"attempts": 1, "backoff_ms": 10}
            v["lifecycle"] = {"post_deployment": [{"script": who}]}
            path = "/v0/vnfds" + ("?tenant=" + owner if owner else "")
            self.d.ok("POST", path, v, token=token)
        # the tenant's descriptor: its uid, even for a script in --script-dir
        op = self.d.deploy("who1", "who-tenant", expect_state="rolled_back", token=self.tok)
        tenant_uid = int(op["error"].split(": ")[-1])
        self.assertIn(tenant_uid, self.d.claims())
        # the admin's descriptor, deployed by the tenant: the manager's rights
        op = self.d.deploy("who2", "who-admin", expect_state="rolled_back", token=self.tok)
        self.assertEqual(op["error"].split(": ")[-1].strip(), "0")
        # an admin's global descriptor naming a script outside --script-dir: sandboxed
        v = demo("admin-outside")
        v["retry"] = {"attempts": 1, "backoff_ms": 10}
        v["lifecycle"] = {"post_deployment": [{"script": "/bin/sh", "args": ["-c", "id -u; exit 1"]}]}
        self.d.ok("POST", "/v0/vnfds", v)  # global: every tenant may deploy it
        op = self.d.deploy("who3", "admin-outside", expect_state="rolled_back", token=self.tok)
        self.assertEqual(int(op["error"].split(": ")[-1]), tenant_uid)
        # another tenant's scripts run as another uid
        op = self.d.deploy("who4", "admin-outside", expect_state="rolled_back", tenant="default")
        self.assertNotIn(int(op["error"].split(": ")[-1]), (0, tenant_uid))

    def test_uids_are_claimed_and_freed(self):
        before = self.d.claims()
        self.tenant_token("short-lived")
        tenant = [u for u in self.d.claims() if u not in before]
        self.assertEqual(len(tenant), 1)
        self.d.onboard(demo("counted"), token=self.tok)
        self.d.deploy("counted1", "counted", token=self.tok, instances={"web": 2})
        # the tenant's, two VIs' (compared as sets: a VI of an earlier test of this manager
        # may be freed meanwhile, CI105)
        new = set(self.d.claims()) - set(before)
        self.assertEqual(len(new), 3, new)
        self.d.wait_op(self.d.ok("DELETE", "/v0/deployments/counted1", token=self.tok)["id"])
        for tok in self.d.get("/v0/tokens")[1]["tokens"]:
            if tok["tenant"] == "short-lived":
                self.d.ok("DELETE", "/v0/tokens/" + tok["id"])
        self.d.ok("DELETE", "/v0/tenants/short-lived")
        self.assertEqual(set(self.d.claims()) & new, set())
        self.assertLessEqual(set(self.d.claims()), set(before))

    def test_leftover_claim_freed_at_start_others_kept(self):
        """A claim a crash left without a record (made, then the transaction
        never committed) is freed at the next start-up, found through the
        manager's own index; another manager's claims are left alone."""
        tag = self.d.instance_tag()
        free = [u for u in range(1879113000, 1879113700) if
                not os.path.exists(os.path.join(UIDS, str(u)))][:2]
        ours, theirs = [os.path.join(UIDS, str(u)) for u in free]
        mark = os.path.join(UIDS_BY_TAG, tag, str(free[0]))
        for path, owner in ((ours, tag), (theirs, "zz" + tag[2:])):
            with open(path, "w") as f:
                f.write(owner)
        self.addCleanup(lambda: os.path.exists(theirs) and os.unlink(theirs))
        open(mark, "w").close()
        self.assertIn(free[0], self.d.claims())
        self.d.stop()
        self.d.start()
        self.assertNotIn(free[0], self.d.claims())
        self.assertFalse(os.path.exists(mark))
        self.assertTrue(os.path.exists(theirs))
        # the index shows exactly the manager's claims
        self.assertEqual(sorted(int(n) for n in os.listdir(os.path.join(UIDS_BY_TAG, tag))),
                         sorted(self.d.claims()))


class VnfTest(VictimTest):
    """Every VNF process runs as its VI's own uid, without capabilities
    unless an admin's descriptor asks for them, in its own mount namespace
    where its VI directory is writable, the host read-only, and the
    manager's data directory and the other VIs' directories invisible."""

    def shell_vnf(self, vnfd_id, shell, **vdu):
        """demo whose command runs shell first (its output in out.txt of
        the VI's directory), then serves."""
        return demo(vnfd_id, command=[
            "/bin/sh", "-c", "(%s) > {{day0_dir}}/out.txt 2>&1; exec vnf-demo --listen "
            "{{ip}}:8080 --config {{day0_dir}}/demo.conf" % shell], **vdu)

    def vi_dir(self, vi):
        return os.path.join(self.d.dir, "vi", vi["id"])

    def test_vnf_command_is_sandboxed(self):
        shell = loot(self.d, self.victim_day0, end="") + (
            "echo NET $(ls /sys/class/net) END CG $(ls -A /sys/fs/cgroup 2>/dev/null | wc -l); "
            "kill -9 %d; ls /proc | grep -c '^[0-9]'; ls -A /run/netns | wc -l; echo mine > mine"
            % self.victim_pid)
        self.d.onboard(self.shell_vnf("evil-vnf", shell), token=self.tok)
        self.d.deploy("evil4", "evil-vnf", token=self.tok)
        [vi] = self.d.deployment("evil4")["vis"]
        out = slurp(os.path.join(self.vi_dir(vi), "out.txt"))
        uid = self.assertSandboxed(out)
        # another VNF cannot be signalled, nor seen; no namespace either
        self.assertIn("kill: Operation not permitted", out)
        self.assertTrue(pid_alive(self.victim_pid))
        procs, netns = out.split()[-2:]
        self.assertLessEqual(int(procs), 4, out)  # its two shells, ls and grep
        self.assertEqual(netns, "0", out)
        # /sys is its network namespace's: its own interfaces, not the host's, no cgroups
        ifaces = out.split("NET ", 1)[1].split(" END", 1)[0].split()
        self.assertIn("lo", ifaces)
        self.assertLessEqual(len(ifaces), 3, out)
        self.assertFalse([i for i in ifaces if i.startswith("vh")], out)  # the hosts' ends
        self.assertIn("CG 0", out)
        # what the host sees of it: its uid, no capability, no way to gain one
        st = proc_status(vi["pid"])
        self.assertEqual(st["Uid"].split(), [str(uid)] * 4)
        self.assertEqual(st["Gid"].split(), [str(uid)] * 4)
        self.assertEqual(st["Groups"], "")
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(st[cap], 16), 0, cap)
        self.assertEqual(st["NoNewPrivs"], "1")
        self.assertNotEqual(os.readlink("/proc/%d/ns/mnt" % vi["pid"]),
                            os.readlink("/proc/self/ns/mnt"))
        # its directory and day-0 files are its own; the victim's are another uid's
        vi_dir = self.vi_dir(vi)
        self.assertEqual((os.stat(vi_dir).st_uid, os.stat(vi_dir).st_gid), (uid, uid))
        conf = os.stat(os.path.join(vi_dir, "demo.conf"))
        self.assertEqual((conf.st_uid, conf.st_mode & 0o777), (uid, 0o600))
        self.assertEqual(os.stat(os.path.join(vi_dir, "mine")).st_uid, uid)
        self.assertNotEqual(os.stat(self.victim_day0).st_uid, uid)
        self.assertEqual(http_get("http://%s:8080/" % vi["ip"])[0], 200)

    def test_capabilities_only_from_an_admin(self):
        v = demo("caps", capabilities=["net_raw"])
        self.assertError(self.d.post("/v0/vnfds", v, token=self.tok), 403,
                         field="vdus[0].capabilities")
        self.assertError(self.d.post("/v0/vnfds", demo("caps-bad", capabilities=["root"])), 400,
                         field="vdus[0].capabilities[0]")
        self.d.ok("POST", "/v0/vnfds", v)  # global: the tenant deploys it
        self.d.deploy("caps1", "caps", token=self.tok)
        [vi] = self.d.deployment("caps1")["vis"]
        st = proc_status(vi["pid"])
        for cap in ("CapPrm", "CapEff", "CapBnd", "CapAmb"):
            self.assertEqual(int(st[cap], 16), 1 << 13, cap)  # CAP_NET_RAW, and nothing else
        self.assertNotEqual(st["Uid"].split()[0], "0")

    def test_samples_work(self):
        """nginx and haproxy load balancers (examples/vnfds) in front of a
        vnf-demo, each VNF as its own uid, binding port 80 without a
        capability. (snmpd on 161: test_monitor.)"""
        self.d.onboard(demo("backend"))
        self.d.deploy("backend1", "backend", params={"greeting": "from-the-backend"})
        [be] = self.d.deployment("backend1")["vis"]
        uids = {be["pid"]: proc_status(be["pid"])["Uid"].split()[0]}
        for name in ("nginx-lb", "haproxy-lb"):
            if not shutil.which(name.split("-")[0]):
                continue
            self.d.onboard(name)
            self.d.deploy(name + "1", name, params={"backends": ["%s:8080" % be["ip"]]})
            [lb] = self.d.deployment(name + "1")["vis"]
            status, body = http_get("http://%s/" % lb["ip"])
            self.assertEqual(status, 200)
            self.assertIn("from-the-backend", body)
            uids[lb["pid"]] = proc_status(lb["pid"])["Uid"].split()[0]
        self.assertNotIn("0", uids.values())
        self.assertEqual(len(set(uids.values())), len(uids), uids)  # one uid per VI

    def test_planted_links_are_not_followed(self):
        """The VNF owns its directory: at its first start it replaces its
        console.log, and a directory of its day-0 files, with links to the
        host's files. A heal starts it again: the manager writes through
        neither link, it replaces them."""
        target = os.path.join(SCRATCH, "planted-%s" % self.d.tag)
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "console.log"), "w") as f:
            f.write("original\n")
        try:
            for name, plant in (("log", "ln -sf %s/console.log console.log" % target),
                                ("etc", "rm -rf etc; ln -s %s etc" % target)):
                v = demo("planter-" + name, command=[
                    "/bin/sh", "-c", "[ -e planted ] || { touch planted; %s; }; exec vnf-demo "
                    "--listen {{ip}}:8080 --config {{day0_dir}}/demo.conf" % plant])
                v["vdus"][0]["day0"].append({"path": "etc/app.conf", "template": "written"})
                self.d.onboard(v, token=self.tok)
                self.d.deploy("plant-" + name, "planter-" + name, token=self.tok)
                [vi] = self.d.deployment("plant-" + name)["vis"]
                self.assertTrue(os.path.islink(os.path.join(self.vi_dir(vi), name if name == "etc"
                                                            else "console.log")))
                op = self.d.ok("POST", "/v0/deployments/plant-%s/heal" % name,
                               {"vi": vi["id"]}, token=self.tok)
                op = self.d.wait_op(op["id"])
                self.assertEqual(op["state"], "completed", op)
                [vi] = self.d.deployment("plant-" + name)["vis"]
                self.assertEqual(http_get("http://%s:8080/" % vi["ip"])[0], 200)
                # the links were replaced, not followed; what replaced them is the VNF's
                vi_dir = self.vi_dir(vi)
                for path in ("console.log", "etc", "etc/app.conf"):
                    self.assertFalse(os.path.islink(os.path.join(vi_dir, path)), path)
                uid = int(proc_status(vi["pid"])["Uid"].split()[0])
                self.assertEqual(os.stat(os.path.join(vi_dir, "etc/app.conf")).st_uid, uid)
            self.assertEqual(os.listdir(target), ["console.log"])
            self.assertEqual(slurp(os.path.join(target, "console.log")), "original\n")
        finally:
            shutil.rmtree(target)

    def test_adoption_checks_the_recorded_uid(self):
        """After a kill -9 of the manager the VNF is adopted: same pid, same
        start time, and the uid its record names."""
        self.d.onboard(demo("adopted"), token=self.tok)
        self.d.deploy("adopted1", "adopted", token=self.tok)
        [vi] = self.d.deployment("adopted1")["vis"]
        uid = proc_status(vi["pid"])["Uid"].split()[0]
        self.d.kill9()
        self.d.restart()
        [again] = self.d.deployment("adopted1")["vis"]
        self.assertEqual((again["state"], again["pid"], again["restarts"]),
                         ("running", vi["pid"], vi["restarts"]))
        self.assertEqual(proc_status(vi["pid"])["Uid"].split()[0], uid)
        self.assertIn(int(uid), self.d.claims())
        self.assertEqual(http_get("http://%s:8080/" % vi["ip"])[0], 200)


class ProgramsUnderTmpTest(SandboxTest):
    """A VNF has a /tmp of its own, yet the admin's places of programs
    (--vnf-path) stay in its sight where they lie under the host's /tmp
    (a checkout in /tmp, say); the rest of the host's /tmp does not."""

    @classmethod
    def setUpClass(cls):
        cls.bin = tempfile.mkdtemp(prefix="vnfm-bin-", dir="/tmp")
        shutil.copy(os.path.join(EXAMPLES_BIN, "vnf-demo"), os.path.join(cls.bin, "vnf-tmpdemo"))
        os.chmod(cls.bin, 0o755)
        cls.secret = tempfile.mkdtemp(prefix="vnfm-secret-", dir="/tmp")
        with open(os.path.join(cls.secret, "s"), "w") as f:
            f.write("host-tmp-secret")
        os.chmod(cls.secret, 0o755)
        os.chmod(os.path.join(cls.secret, "s"), 0o644)
        cls.daemon_args = ("--vnf-path", cls.bin + ":" + EXAMPLES_BIN)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.bin)
        shutil.rmtree(cls.secret)

    def test_vnf_path_under_tmp(self):
        self.d.onboard(demo("tmpdemo", command=[
            "/bin/sh", "-c", "cat %s/s > {{day0_dir}}/out.txt 2>&1; exec vnf-tmpdemo --listen "
            "{{ip}}:8080 --config {{day0_dir}}/demo.conf" % self.secret]))
        self.d.deploy("tmpdemo1", "tmpdemo")
        [vi] = self.d.deployment("tmpdemo1")["vis"]
        self.assertEqual(http_get("http://%s:8080/" % vi["ip"])[0], 200)
        out = slurp(os.path.join(self.d.dir, "vi", vi["id"], "out.txt"))
        self.assertIn("No such file or directory", out)
        self.assertNotIn("host-tmp-secret", out)


if __name__ == "__main__":
    unittest.main()
