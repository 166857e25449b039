"""A tenant is hostile (issue 10, "a tenant token gets root on the host"):
the exploits of the review, each through the real API of a real daemon,
end in a refused request or a permission error inside the VNF or script,
and the manager's files stay out of reach (docs/SECURITY.md "VNFs and
tenant scripts")."""
import copy
import unittest

from vnfm import DaemonTest
from test_deploy import demo


class OnboardingTest(DaemonTest):
    """What a descriptor may name is checked when it is on-boarded, not
    when it is deployed."""

    def tenant_token(self, tenant="acme"):
        self.d.request("POST", "/v0/tenants/" + tenant, {})
        return self.d.ok("POST", "/v0/tenants/%s/tokens" % tenant, {})["token"]

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


if __name__ == "__main__":
    unittest.main()
