"""Names of deployments and VNFDs are per tenant (issue 10 finding 9,
docs/SECURITY.md "Names are per tenant"): two tenants each make a VNFD
`fw` and a deployment `db` without learning of the other (no 409, the same
answers as for a name nobody has), each sees and operates its own under
that name on every interface, and an admin tells them apart with
TENANT:NAME (a bare NAME of several tenants is 409 naming them)."""
import json
import os
import sqlite3
import subprocess
import unittest
import urllib.request

from vnfm import Daemon, DaemonTest, VNFDS, pid_alive, wait_for


def vnfd(id, **patch):
    with open(os.path.join(VNFDS, "demo-web.json")) as f:
        doc = json.load(f)
    doc.update(id=id, **patch)
    return doc


class TenantNamesTest(DaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tok = {}
        for t in ("acme", "beta"):
            cls.d.ok("POST", "/v0/tenants", {"id": t})
            cls.tok[t] = cls.d.ok("POST", "/v0/tenants/%s/tokens" % t)["token"]

    def as_(self, tenant, method, path, body=None):
        return self.d.request(method, path, body, token=self.tok[tenant])

    def shape(self, resp):
        """What a caller learns from an answer: status, error and field."""
        status, doc, _ = resp
        return status, (doc or {}).get("error"), (doc or {}).get("field")

    def test_same_names_in_two_tenants(self):
        # acme first: a VNFD fw and a deployment db
        first = {"vnfd": self.shape(self.as_("acme", "POST", "/v0/vnfds", vnfd("fw"))),
                 "dep": self.shape(self.as_("acme", "POST", "/v0/deployments",
                                            {"name": "db", "vnfd": "fw"}))}
        self.assertEqual(first["vnfd"][0], 201, first)
        self.assertEqual(first["dep"][0], 202, first)
        # beta gets exactly the same answers for the same names
        self.assertEqual(self.shape(self.as_("beta", "POST", "/v0/vnfds", vnfd("fw"))),
                         first["vnfd"])
        op = self.as_("beta", "POST", "/v0/deployments", {"name": "db", "vnfd": "fw"})
        self.assertEqual(self.shape(op), first["dep"])
        self.assertEqual(op[1]["deployment"], "db")
        self.assertEqual(self.d.wait_op(op[1]["id"])["state"], "completed")
        # a tenant's own name is still taken for itself
        self.assertEqual(self.shape(self.as_("acme", "POST", "/v0/deployments",
                                             {"name": "db", "vnfd": "fw"})),
                         (409, "conflict", "name"))
        self.assertEqual(self.shape(self.as_("beta", "POST", "/v0/vnfds", vnfd("fw"))),
                         (409, "conflict", "id"))
        for t in ("acme", "beta"):
            dep = wait_for(lambda: (lambda d: d if d["status"] == "active" else None)(
                self.as_(t, "GET", "/v0/deployments/db")[1]), 60, what="db active")
            self.assertEqual((dep["id"], dep["tenant"], dep["vnfd"]), ("db", t, "fw"))
            self.assertEqual([v["name"] for v in dep["vis"]], ["db/web/0"])
            self.assertEqual({v["deployment"] for v in dep["vis"]}, {"db"})
            listed = self.as_(t, "GET", "/v0/deployments")[1]["deployments"]
            self.assertEqual([(x["id"], x["tenant"]) for x in listed], [("db", t)])
            rec = self.as_(t, "GET", "/v0/vnfds/fw")[1]
            self.assertEqual((rec["id"], rec["tenant"]), ("fw", t))
            ops = self.as_(t, "GET", "/v0/operations?deployment=db")[1]["operations"]
            self.assertEqual({(o["deployment"], o["tenant"]) for o in ops}, {("db", t)})
            logs = self.as_(t, "GET", "/v0/logs?deployment=db")[1]
            recs = logs if isinstance(logs, list) else logs.get("logs", logs.get("records", []))
            self.assertTrue(recs)
            self.assertEqual({r.get("tenant") for r in recs}, {t})
            self.assertFalse([r for r in recs if r.get("deployment") not in (None, "db")], recs)
        # the event stream and XML show names too
        for t in ("acme", "beta"):
            req = urllib.request.Request(self.d.url + "/v0/events?after=0&deployment=db",
                                         headers={"Authorization": "Bearer " + self.tok[t]})
            with urllib.request.urlopen(req, timeout=10) as stream:
                line = next(l for l in stream if l.startswith(b"data: "))
            rec = json.loads(line[6:])
            self.assertEqual((rec["deployment"], rec["tenant"]), ("db", t))
            self.assertNotIn(t + ":", line.decode())
        req = urllib.request.Request(self.d.url + "/v0/deployments/db",
                                     headers={"Authorization": "Bearer " + self.tok["acme"],
                                              "Accept": "application/xml"})
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
        self.assertIn("<id>db</id>", text)
        self.assertNotIn("acme:", text)
        # the VIs of the two are apart on the host
        vis = [v for t in ("acme", "beta")
               for v in self.as_(t, "GET", "/v0/deployments/db")[1]["vis"]]
        self.assertEqual(len({v["id"] for v in vis}), 2)
        self.assertEqual(len({v["ip"] for v in vis}), 2)
        # the admin sees both, and must say whose
        listed = self.d.get("/v0/deployments")[1]["deployments"]
        self.assertEqual(sorted((x["id"], x["tenant"]) for x in listed if x["id"] == "db"),
                         [("db", "acme"), ("db", "beta")])
        err = self.d.get("/v0/deployments/db")
        self.assertEqual(err[0], 409, err)
        self.assertIn("acme:db", err[1]["message"])
        self.assertIn("beta:db", err[1]["message"])
        self.assertEqual(self.d.get("/v0/deployments/acme:db")[1]["tenant"], "acme")
        self.assertEqual(self.d.get("/v0/vnfds/beta:fw")[1]["tenant"], "beta")
        self.assertEqual(len(self.d.get("/v0/operations?tenant=beta&deployment=db")[1]
                             ["operations"]), 1)
        # another's TENANT:NAME is as missing as a name nobody has
        self.assertEqual(self.as_("beta", "GET", "/v0/deployments/acme:db")[0], 404)
        self.assertEqual(self.as_("beta", "GET", "/v0/vnfds/acme:fw")[0], 404)
        # metrics tell the two apart by tenant
        text = subprocess.run(["curl", "-s", "-H", "Authorization: Bearer " + self.d.token,
                               self.d.url + "/metrics"], capture_output=True, text=True).stdout
        self.assertNotIn("acme:db", text)
        # each tenant undeploys its own; the other's stays
        op = self.as_("acme", "DELETE", "/v0/deployments/db")
        self.assertEqual(op[0], 202, op)
        self.assertEqual(self.d.wait_op(op[1]["id"])["state"], "completed")
        self.assertEqual(self.as_("acme", "GET", "/v0/deployments/db")[0], 404)
        self.assertEqual(self.as_("beta", "GET", "/v0/deployments/db")[1]["status"], "active")
        self.assertEqual(self.d.get("/v0/deployments/db")[1]["tenant"], "beta")
        self.assertEqual(self.as_("acme", "DELETE", "/v0/vnfds/fw")[0], 204)
        self.assertEqual(self.as_("beta", "GET", "/v0/vnfds/fw")[1]["tenant"], "beta")

    def test_global_vnfd_is_shadowed_by_a_tenants_own(self):
        self.d.ok("POST", "/v0/vnfds", vnfd("shared", description="global"))
        self.assertEqual(self.as_("acme", "POST", "/v0/vnfds",
                                  vnfd("shared", description="acme's"))[0], 201)
        self.assertEqual(self.as_("acme", "GET", "/v0/vnfds/shared")[1]["description"],
                         "acme's")
        self.assertEqual(self.as_("beta", "GET", "/v0/vnfds/shared")[1]["description"],
                         "global")
        mine = [v for v in self.as_("acme", "GET", "/v0/vnfds")[1]["vnfds"]
                if v["id"] == "shared"]
        self.assertEqual(sorted(str(v["tenant"]) for v in mine), ["None", "acme"])
        # to the admin, a bare name is the global one; acme's is acme:shared
        self.assertEqual(self.d.get("/v0/vnfds/shared")[1]["description"], "global")
        self.assertEqual(self.d.delete("/v0/vnfds/shared")[0], 204)
        self.assertEqual(self.as_("acme", "GET", "/v0/vnfds/shared")[1]["description"],
                         "acme's")
        self.assertEqual(self.d.delete("/v0/vnfds/acme:shared")[0], 204)

    def test_cli_and_sol003_use_names(self):
        self.as_("acme", "POST", "/v0/vnfds", vnfd("clifw"))
        self.as_("beta", "POST", "/v0/vnfds", vnfd("clifw"))
        for t in ("acme", "beta"):
            op = self.as_(t, "POST", "/v0/deployments", {"name": "cli", "vnfd": "clifw"})[1]
            self.d.wait_op(op["id"])
            out = self.d.ctl("-o", "json", "deployment", "show", "cli", token=self.tok[t])
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("cli", out.stdout)
            self.assertNotIn("%s:" % t, out.stdout)
            # SOL003: an instance of the tenant's own VNFD, by its name
            status, inst, _ = self.d.request(
                "POST", "/vnflcm/v1/vnf_instances", {"vnfdId": "clifw"}, token=self.tok[t],
                headers={"Version": "1.3.0"})
            self.assertEqual(status, 201, inst)
            self.assertEqual(inst["vnfdId"], "clifw")
            status, got, _ = self.d.request("GET", "/vnflcm/v1/vnf_instances/cli",
                                            token=self.tok[t], headers={"Version": "1.3.0"})
            self.assertEqual((status, got.get("id")), (200, "cli"), got)
            self.assertEqual(self.d.request("DELETE", "/vnflcm/v1/vnf_instances/" + inst["id"],
                                            token=self.tok[t],
                                            headers={"Version": "1.3.0"})[0], 204)


class OldDataDirTest(unittest.TestCase):
    """A data directory from before names were scoped: a tenant's records
    are keyed by their bare names. They keep their keys (no migration):
    the tenant still sees and operates them by name, a kill -9 and restart
    adopts their VIs, its name stays taken for itself only, and another
    tenant makes the same names."""

    def setUp(self):
        if os.environ.get("STORE", "sqlite") != "sqlite":
            self.skipTest("rewrites the SQLite file of an old manager")
        self.d = Daemon().start()
        self.addCleanup(self.d.cleanup)

    def unscope(self, tenant):
        """Rewrites the store as a manager before scoped names wrote it."""
        con = sqlite3.connect(os.path.join(self.d.dir, "vnfm.db"))
        for table in ("vnfds", "deployments", "vis", "ops", "decisions", "logs"):
            cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)
                    if r[2].upper() == "TEXT"]
            con.execute("UPDATE %s SET %s" % (table, ", ".join(
                "%s = replace(%s, '%s:', '')" % (c, c, tenant) for c in cols)))
        con.commit()
        con.close()

    def test_old_records_keep_working(self):
        d = self.d
        d.ok("POST", "/v0/tenants", {"id": "acme"})
        d.ok("POST", "/v0/tenants", {"id": "beta"})
        acme = d.ok("POST", "/v0/tenants/acme/tokens")["token"]
        beta = d.ok("POST", "/v0/tenants/beta/tokens")["token"]
        d.ok("POST", "/v0/vnfds", vnfd("oldfw"), token=acme)
        d.deploy("olddb", "oldfw", token=acme)
        vi = d.get("/v0/deployments/olddb", token=acme)[1]["vis"][0]
        d.kill9()
        self.unscope("acme")
        d.restart()
        # adopted, by its old key, under its name
        dep = d.get("/v0/deployments/olddb", token=acme)[1]
        self.assertEqual((dep["id"], dep["tenant"], dep["vnfd"]), ("olddb", "acme", "oldfw"))
        self.assertEqual((dep["vis"][0]["id"], dep["vis"][0]["pid"]), (vi["id"], vi["pid"]))
        self.assertTrue(pid_alive(vi["pid"]))
        self.assertEqual(d.get("/v0/deployments/olddb", token=beta)[0], 404)
        # taken for acme, free for beta
        self.assertEqual(d.post("/v0/deployments", {"name": "olddb", "vnfd": "oldfw"},
                                token=acme)[0], 409)
        self.assertEqual(d.post("/v0/vnfds", vnfd("oldfw"), token=acme)[0], 409)
        self.assertEqual(d.post("/v0/vnfds", vnfd("oldfw"), token=beta)[0], 201)
        d.deploy("olddb", "oldfw", token=beta)
        self.assertEqual(d.get("/v0/deployments/olddb", token=beta)[1]["tenant"], "beta")
        # acme operates its old one by name
        op = d.ok("POST", "/v0/deployments/olddb/scale", {"vdu": "web", "delta": 1}, token=acme)
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertEqual(len(d.get("/v0/deployments/olddb", token=acme)[1]["vis"]), 2)
        op = d.ok("DELETE", "/v0/deployments/olddb", token=acme)
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertEqual(d.get("/v0/deployments/olddb", token=acme)[0], 404)
        self.assertEqual(d.get("/v0/deployments/olddb", token=beta)[1]["status"], "active")
        d.undeploy_all()


if __name__ == "__main__":
    unittest.main()
