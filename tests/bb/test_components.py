"""The manager's components (FIG. 2C, F27, issue 14): its worker pools, each
sized by its own load, every resize an event, shown by GET
/v0/vnfm/components. The load is real: the fault injector blocks every
provisioning worker with jobs that sleep."""
import unittest

from vnfm import DaemonTest, wait_for


class ComponentsTest(DaemonTest):
    daemon_args = ("--workers", "4", "--workers-min", "1", "--enable-fault-injection")

    def comps(self):
        return {c["name"]: c for c in self.d.ok("GET", "/v0/vnfm/components")["components"]}

    def resizes(self, component):
        logs = self.d.ok("GET", "/v0/logs?event=component-resized&object=" + component)["logs"]
        return [(e["from"], e["to"]) for e in logs]

    def test_pools_are_sized_by_their_own_load(self):
        c = self.comps()
        self.assertEqual(set(c), {"provisioning", "configuration", "monitoring"})
        prov = c["provisioning"]
        self.assertEqual((prov["min"], prov["max"], prov["sized_by"]), (1, 4, "loop"))
        self.assertEqual(c["monitoring"]["sized_by"], "own thread")
        # idle, it gives its workers back one a second, down to its min
        wait_for(lambda: len(self.resizes("provisioning")) == 3, 20, 0.2, "shrunk to 1")
        self.assertEqual(self.resizes("provisioning"), [(4, 3), (3, 2), (2, 1)])
        wait_for(lambda: self.comps()["provisioning"]["threads"] == 1, 5, 0.1, "one worker")
        self.assertEqual(self.comps()["provisioning"]["last_resize"]["to"], 1)
        # every worker taken: a job that would wait gets a new worker at once, up to the max;
        # the stall keeps one job waiting beyond it
        self.d.ok("POST", "/v0/debug/faults", {"fault": "vim-stall", "seconds": 4})
        busy = self.comps()["provisioning"]
        # (the site's own jobs, such as refilling warm VIs, may wait behind the stall too)
        self.assertEqual(busy["threads"], 4, busy)
        self.assertGreaterEqual(busy["queued"], 1, busy)
        wait_for(lambda: (1, 4) in self.resizes("provisioning"), 5, 0.2, "the growth logged")
        # and back down once the work is done
        wait_for(lambda: self.resizes("provisioning")[-1] == (2, 1), 30, 0.2, "shrunk again")
        self.assertGreaterEqual(self.comps()["provisioning"]["jobs"], 5)
        # and vnfmctl's table of them
        shown = self.d.ctl("components")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertRegex(shown.stdout, r"(?m)^NAME +THREADS +MIN +MAX +BUSY +QUEUED +JOBS +"
                         r"RESIZES +SIZED BY$")
        self.assertRegex(shown.stdout, r"(?m)^provisioning +1 +1 +4 +0 +0 +\d+ +\d+ +loop$")

    def test_admin_only(self):
        tok = self.d.ok("POST", "/v0/tenants/default/tokens")["token"]
        self.assertEqual(self.d.get("/v0/vnfm/components", token=tok)[0], 403)


if __name__ == "__main__":
    unittest.main()
