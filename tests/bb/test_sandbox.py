"""A tenant is hostile (issue 10, "a tenant token gets root on the host"):
the exploits of the review, each through the real API of a real daemon,
end in a refused request or a permission error inside the VNF or script,
and the manager's files stay out of reach (docs/SECURITY.md "VNFs and
tenant scripts")."""
import os
import unittest

from vnfm import DaemonTest, wait_for
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


def loot(d, victim_day0):
    """A shell that reports its uid, then tries to read the manager's files
    and another tenant's day-0 file and to write to the host."""
    return ("id -u; touch /etc/vnfm-pwned-%s; for f in %s/vnfm.db %s/admin.token %s; do "
            "cat $f >/dev/null && echo STOLE $f; done; cat %s; exit 1"
            % (d.tag, d.dir, d.dir, victim_day0, victim_day0))


class TenantScriptTest(SandboxTest):
    """Custom actions, script probes and rule script actions of a tenant run
    sandboxed as the tenant's own uid."""

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
        self.assertEqual(len(self.d.claims()), len(before) + 3)  # the tenant's, two VIs'
        self.d.wait_op(self.d.ok("DELETE", "/v0/deployments/counted1", token=self.tok)["id"])
        for tok in self.d.get("/v0/tokens")[1]["tokens"]:
            if tok["tenant"] == "short-lived":
                self.d.ok("DELETE", "/v0/tokens/" + tok["id"])
        self.d.ok("DELETE", "/v0/tenants/short-lived")
        self.assertEqual(self.d.claims(), before)


if __name__ == "__main__":
    unittest.main()
