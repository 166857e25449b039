"""Scheduled operations (lcm/schedule.h, docs/API.md "Scheduled operations"):
an operation with a start time, kept in the store, listed, shown and
cancelled by its tenant only, refused with the field named when the input
is bad (nothing stored), started at its time as a normal operation that
names its schedule, and carried over a kill -9 of the manager: one whose
time passed while the manager was down starts at once (if_missed: run,
the default) or is marked missed (if_missed: skip). Real daemon, real
VNFs; the times are a few seconds."""
import time

from vnfm import DaemonTest, wait_for
from test_deploy import demo
from test_openapi import load_spec, validate

PATH = "/v0/scheduled-operations"


class ScheduleTest(DaemonTest):
    daemon_args = ("--schedules-per-tenant", "5")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.d
        cls.tok = {}
        for t in ("sch-a", "sch-b", "sch-c"):
            d.ok("POST", "/v0/tenants", {"id": t})
            cls.tok[t] = d.ok("POST", "/v0/tenants/%s/tokens" % t)["token"]
        d.onboard(demo("sch-demo"))

    def listed(self, token="admin", query=""):
        return self.d.ok("GET", PATH + query, token=token)["scheduled_operations"]

    def wait_state(self, sid, state, timeout=30):
        return wait_for(lambda: (lambda s: s if s["state"] == state else None)(
            self.d.get(PATH + "/" + sid)[1]), timeout, 0.05, "%s to be %s" % (sid, state))

    def test_runs_at_its_time_for_its_tenant_only(self):
        a, b = self.tok["sch-a"], self.tok["sch-b"]
        self.d.deploy("sa1", "sch-demo", token=a)
        before = time.time()
        s = self.d.ok("POST", PATH, {"deployment": "sa1", "operation": "scale",
                                     "params": {"vdu": "web", "delta": 1}, "in_s": 2},
                      expect=(201,), token=a)
        self.assertEqual((s["state"], s["operation"], s["tenant"]),
                         ("scheduled", "scale", "sch-a"))
        self.assertTrue(s["deployment"].endswith("sa1"), s)
        # its tenant sees it; the other tenant neither sees nor touches it
        self.assertEqual([x["id"] for x in self.listed(a, "?deployment=sa1")], [s["id"]])
        self.assertEqual(self.listed(b, "?deployment=sa1"), [])
        self.assertNotIn(s["id"], [x["id"] for x in self.listed(b)])
        self.assertEqual(self.d.get(PATH + "/" + s["id"], token=b)[0], 404)
        self.assertEqual(self.d.delete(PATH + "/" + s["id"], token=b)[0], 404)
        self.assertEqual(self.d.get(PATH + "/" + s["id"])[0], 200)  # the admin sees all
        # nothing starts before its time
        self.assertEqual(len(self.d.deployment("sa1")["vis"]), 1)
        done = self.wait_state(s["id"], "started")
        self.assertGreaterEqual(time.time() - before, 1.9)
        op = self.d.wait_op(done["operation_id"])
        self.assertEqual((op["type"], op["state"], op["scheduled_operation"]),
                         ("scale", "completed", s["id"]))
        self.assertEqual(len(self.d.deployment("sa1")["vis"]), 2)
        # the answers are those docs/api/openapi.yaml describes
        spec = load_spec()
        for doc, schema in ((s, "ScheduledOperation"), (done, "ScheduledOperation"),
                            (op, "Operation")):
            self.assertEqual(validate(spec, doc, {"$ref": "#/components/schemas/" + schema}), [])
        # a started one cannot be cancelled
        self.assertError(self.d.delete(PATH + "/" + s["id"], token=a), 409, "conflict")

    def test_cancel(self):
        a = self.tok["sch-a"]
        self.d.deploy("sa2", "sch-demo", token=a)
        vi = self.d.deployment("sa2")["vis"][0]["name"]
        s = self.d.ok("POST", PATH, {"deployment": "sa2", "operation": "heal",
                                     "params": {"vi": vi}, "in_s": 2},
                      expect=(201,), token=a)
        pid = self.d.deployment("sa2")["vis"][0]["pid"]
        gone = self.d.ok("DELETE", PATH + "/" + s["id"], token=a)
        self.assertEqual(gone["state"], "cancelled")
        time.sleep(3)
        self.assertEqual(self.d.get(PATH + "/" + s["id"])[1]["state"], "cancelled")
        self.assertEqual(self.d.get("/v0/operations?deployment=sa2&type=heal")[1]["operations"],
                         [])
        self.assertEqual(self.d.deployment("sa2")["vis"][0]["pid"], pid)

    def test_bounded_per_tenant(self):
        """A tenant may have --schedules-per-tenant waiting (5 here): one more is
        refused with the field named, nothing stored; another tenant is not held
        back; a cancel makes room. A nearer one made after a later one runs at its
        own time."""
        c, b = self.tok["sch-c"], self.tok["sch-b"]
        self.d.deploy("sc1", "sch-demo", token=c)
        made = [self.d.ok("POST", PATH, {"deployment": "sc1", "operation": "heal",
                                         "in_s": 600 + i}, expect=(201,), token=c)
                for i in range(5)]
        self.assertError(self.d.post(PATH, {"deployment": "sc1", "operation": "heal",
                                            "in_s": 600}, token=c),
                         409, "insufficient-capacity", field="deployment")
        self.assertEqual(len(self.listed(c, "?state=scheduled")), 5)
        self.d.deploy("sb9", "sch-demo", token=b)
        other = self.d.ok("POST", PATH, {"deployment": "sb9", "operation": "heal",
                                         "in_s": 600}, expect=(201,), token=b)
        self.d.ok("DELETE", PATH + "/" + other["id"], token=b)
        self.d.ok("DELETE", PATH + "/" + made[0]["id"], token=c)
        vi = self.d.deployment("sc1")["vis"][0]["name"]
        near = self.d.ok("POST", PATH, {"deployment": "sc1", "operation": "heal",
                                        "params": {"vi": vi}, "in_s": 1.5},
                         expect=(201,), token=c)
        ran = self.wait_state(near["id"], "started", timeout=15)
        self.assertLess(ran["late_ms"], 3000, ran)
        for s in made[1:]:
            self.d.ok("DELETE", PATH + "/" + s["id"], token=c)

    def test_refused_at_its_time(self):
        """The deployment is gone when its time comes: failed, with the reason."""
        a = self.tok["sch-a"]
        self.d.deploy("sa3", "sch-demo", token=a)
        s = self.d.ok("POST", PATH, {"deployment": "sa3", "operation": "heal", "in_s": 1.5},
                      expect=(201,), token=a)
        self.d.undeploy_all()
        failed = self.wait_state(s["id"], "failed")
        self.assertTrue(failed["error"]["message"])

    def test_bad_input(self):
        a = self.tok["sch-a"]
        self.d.deploy("sa4", "sch-demo", token=a)
        self.d.deploy("sb4", "sch-demo", token=self.tok["sch-b"])
        good = {"deployment": "sa4", "operation": "scale", "params": {"vdu": "web", "delta": 1},
                "in_s": 5}
        cases = [
            ({"operation": "explode"}, "operation"),
            ({"operation": None}, "operation"),
            ({"deployment": "nope"}, "deployment"),
            ({"deployment": "sb4"}, "deployment"),  # another tenant's
            ({"in_s": None}, "at"),
            ({"at": "2020-01-01T00:00:00Z", "in_s": None}, "at"),
            ({"at": "tomorrow", "in_s": None}, "at"),
            ({"at": "2099-01-01T00:00:00Z"}, "at"),  # both
            ({"in_s": -1}, "in_s"),
            ({"params": {"vdu": "web", "delta": "x"}}, "params.delta"),
            ({"params": {"vdu": "db", "delta": 1}}, "params.vdu"),
            ({"params": {"delta": 1}}, "params.vdu"),
            ({"params": {"vdu": "web", "nope": 1}}, "params.nope"),
            ({"if_missed": "maybe"}, "if_missed"),
            ({"extra": 1}, "extra"),
        ]
        for patch, field in cases:
            body = dict(good)
            for k, v in patch.items():
                if v is None:
                    body.pop(k, None)
                else:
                    body[k] = v
            with self.subTest(patch=patch):
                self.assertError(self.d.post(PATH, body, token=a), 400, field=field)
        self.assertEqual(self.listed(a, "?deployment=sa4"), [])

    def test_kill9_and_restart(self):
        a = self.tok["sch-a"]
        self.d.deploy("sa5", "sch-demo", token=a)
        later = self.d.ok("POST", PATH, {"deployment": "sa5", "operation": "scale",
                                         "params": {"vdu": "web", "count": 2}, "in_s": 6},
                          expect=(201,), token=a)
        vi = self.d.deployment("sa5")["vis"][0]["name"]
        missed_run = self.d.ok("POST", PATH, {"deployment": "sa5", "operation": "heal",
                                              "params": {"vi": vi}, "in_s": 1},
                               expect=(201,), token=a)
        skipped = self.d.ok("POST", PATH, {"deployment": "sa5", "operation": "heal",
                                           "in_s": 1, "if_missed": "skip"},
                            expect=(201,), token=a)
        self.d.kill9()
        time.sleep(1.5)  # the two short ones pass while the manager is down
        self.d.restart()
        self.assertEqual(self.wait_state(skipped["id"], "missed")["state"], "missed")
        ran = self.wait_state(missed_run["id"], "started")
        self.assertGreater(ran["late_ms"], 0)
        self.assertEqual(self.d.wait_op(ran["operation_id"])["state"], "completed")
        # the later one survived and starts at its time
        self.assertEqual(self.d.get(PATH + "/" + later["id"])[1]["state"], "scheduled")
        done = self.wait_state(later["id"], "started")
        self.assertEqual(self.d.wait_op(done["operation_id"])["state"], "completed")
        self.assertEqual(len(self.d.deployment("sa5")["vis"]), 2)

    def test_cli(self):
        import json
        a = self.tok["sch-a"]
        self.d.deploy("sa6", "sch-demo", token=a)
        r = self.d.ctl("schedule", "create", "sa6", "--op", "scale", "--param", "vdu=web",
                       "--param", "delta=1", "--in", "60", "-o", "json", token=a)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual((s["params"], s["state"]), ({"vdu": "web", "delta": 1}, "scheduled"))
        r = self.d.ctl("schedule", "list", "--deployment", "sa6", "-o", "json", token=a)
        self.assertEqual([x["id"] for x in json.loads(r.stdout)["scheduled_operations"]],
                         [s["id"]])
        r = self.d.ctl("schedule", "list", "--deployment", "sa6", token=a)
        self.assertIn(s["id"], r.stdout)
        r = self.d.ctl("schedule", "cancel", s["id"], "-o", "json", token=self.tok["sch-b"])
        self.assertEqual(r.returncode, 1)
        r = self.d.ctl("schedule", "cancel", s["id"], "-o", "json", token=a)
        self.assertEqual((r.returncode, json.loads(r.stdout)["state"]), (0, "cancelled"), r.stderr)
        r = self.d.ctl("schedule", "create", "sa6", "--op", "scale", token=a)
        self.assertEqual(r.returncode, 2)
        r = self.d.ctl("schedule", "create", "sa6", "--op", "scale", "--param", "vdu=db",
                       "--in", "5", token=a)
        self.assertEqual(r.returncode, 1)
        self.assertIn("params.vdu", r.stderr)
        r = self.d.ctl("schedule", "create", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--if-missed", r.stdout + r.stderr)
