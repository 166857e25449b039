"""Per-manager overrides of a site's manager policy (docs/FEDERATION.md "Per-manager
overrides", issue 12 "overridable per manager"): GET /v0/managers/{id}/policy shows the
overrides, the site's policy and the policy the manager is judged with; `vnfmctl manager
policy` shows and changes them (--set, --unset, --clear, -o json); a new policy of the
site that an override would no longer make sense with is refused, naming the manager and
the field. Real daemons: a cloud, a branch (simulated VIs)."""
import json
import unittest

from test_elastic import VNFS_ONLY
from test_fed import OneSimBranch


class ManagerPolicyTest(OneSimBranch):
    def ctl(self, *args):
        return self.cloud.ctl(*args)

    def ctl_json(self, *args):
        r = self.ctl("-o", "json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_a_no_site_policy(self):
        status, doc, _ = self.cloud.request("GET", "/v0/managers/%s/policy" % self.mgr)
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["manager"], doc["site"]), (self.mgr, "b1"))
        self.assertIsNone(doc.get("policy"))
        self.assertIsNone(doc.get("site_policy"))
        self.assertIsNone(doc.get("effective"))
        r = self.ctl("manager", "policy", self.mgr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("site policy: none", r.stdout)
        r = self.ctl("manager", "policy", self.mgr, "--set", "overload=2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("has no manager policy to override", r.stderr)
        self.assertEqual(self.cloud.request("GET", "/v0/managers/nobody/policy")[0], 404)
        self.assertEqual(self.ctl("manager", "policy", "nobody").returncode, 1)

    def test_b_set_show_unset_clear(self):
        site = {"overload": 10, "underload": 1, "for_reports": 2, "cooldown_s": 0,
                "weights": VNFS_ONLY}
        self.assertEqual(self.cloud.request("PUT", "/v0/sites/b1/managers", site)[0], 200)
        doc = self.ctl_json("manager", "policy", self.mgr, "--set", "overload=20",
                            "--set", "for_s=30", "--set", "lifecycle=subtract")
        self.assertEqual(doc["policy"], {"overload": 20, "for_s": 30, "lifecycle": "subtract"})
        self.assertEqual(doc["site_policy"]["overload"], 10)
        eff = doc["effective"]
        self.assertEqual((eff["overload"], eff["underload"], eff["for_s"], eff["lifecycle"]),
                         (20, 1, 30, "subtract"))
        self.assertNotIn("for_reports", eff)  # the override's for_s replaces the site's
        # what GET /v0/managers shows is what was set
        self.assertEqual(self.cloud.get("/v0/managers/" + self.mgr)[1]["policy"], doc["policy"])
        # the table: each member with its override, the site's and the effective value
        r = self.ctl("manager", "policy", self.mgr)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines()[3:] if l.strip()}
        self.assertEqual(rows["MEMBER"], ["OVERRIDE", "SITE", "EFFECTIVE"])
        self.assertEqual(rows["overload"], ["20", "10", "20"])
        self.assertEqual(rows["underload"], ["-", "1", "1"])
        # --unset: the site's member applies again; the rest kept
        doc = self.ctl_json("manager", "policy", self.mgr, "--unset", "for_s")
        self.assertEqual(doc["policy"], {"overload": 20, "lifecycle": "subtract"})
        self.assertEqual(doc["effective"]["for_reports"], 2)
        # an override that makes no sense: refused with the field, nothing changed
        r = self.ctl("manager", "policy", self.mgr, "--set", "underload=30")
        self.assertEqual(r.returncode, 1)
        self.assertIn("underload", r.stderr)
        r = self.ctl("manager", "policy", self.mgr, "--set", "max=3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("max", r.stderr)
        r = self.ctl("manager", "policy", self.mgr, "--set", "overload")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'overload' is not KEY=VALUE (see 'vnfmctl manager --help')", r.stderr)
        self.assertEqual(self.ctl_json("manager", "policy", self.mgr)["policy"],
                         {"overload": 20, "lifecycle": "subtract"})
        # --clear, then --set in the same call
        doc = self.ctl_json("manager", "policy", self.mgr, "--clear", "--set", "cooldown_s=5")
        self.assertEqual(doc["policy"], {"cooldown_s": 5})
        doc = self.ctl_json("manager", "policy", self.mgr, "--clear")
        self.assertIsNone(doc.get("policy"))
        self.assertEqual(doc["effective"]["overload"], 10)
        self.assertNotIn("policy", self.cloud.get("/v0/managers/" + self.mgr)[1])

    def test_c_site_policy_rechecks_overrides(self):
        site = {"overload": 10, "underload": 1, "cooldown_s": 0, "weights": VNFS_ONLY}
        self.assertEqual(self.cloud.request("PUT", "/v0/sites/b1/managers", site)[0], 200)
        doc = self.ctl_json("manager", "policy", self.mgr, "--clear", "--set", "underload=5")
        self.assertEqual(doc["policy"], {"underload": 5})
        # the site's overload 4 would put the manager's underload 5 above it: refused,
        # naming the manager and the field; the site keeps its policy
        status, doc, _ = self.cloud.request("PUT", "/v0/sites/b1/managers",
                                            dict(site, overload=4))
        self.assertEqual(status, 409, doc)
        self.assertEqual((doc["error"], doc["object"], doc["field"]),
                         ("conflict", self.mgr, "underload"), doc)
        self.assertIn("the override of manager %s" % self.mgr, doc["message"])
        self.assertIn("underload (5) must be below overload (4)", doc["message"])
        self.assertEqual(self.cloud.get("/v0/sites/b1/managers")[1]["policy"]["overload"], 10)
        r = self.ctl("site", "managers", "b1", "--set", "overload=4")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--clear", r.stderr)
        # a site policy the override still makes sense with is taken
        self.assertEqual(self.cloud.request("PUT", "/v0/sites/b1/managers",
                                            dict(site, overload=6))[0], 200)
        # once the override is cleared, the site may go below it
        self.ctl_json("manager", "policy", self.mgr, "--clear")
        self.assertEqual(self.cloud.request("PUT", "/v0/sites/b1/managers",
                                            dict(site, overload=4))[0], 200)


if __name__ == "__main__":
    unittest.main()
