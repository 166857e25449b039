"""vnfmctl as a user runs it: help, tables and -o json, --wait showing the
stages as they happen, one-line errors and the documented exit codes."""
import json
import os
import subprocess
import tempfile
import unittest

from vnfm import VNFMCTL, DaemonTest, VNFDS
from test_deploy import demo
from test_sol003 import sol_vnfd


class CliTest(DaemonTest):

    def ctl(self, *args, **kw):
        return self.d.ctl(*args, **kw)

    def test_help_and_usage_errors(self):
        r = self.ctl("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("deploy NAME --vnfd ID", r.stdout)
        self.assertIn("Exit status", r.stdout)
        r = self.ctl("help", "scale")
        self.assertIn("Usage: vnfmctl scale", r.stdout)
        self.assertIn("--delta", r.stdout)
        self.assertEqual(self.ctl("deploy", "--help").returncode, 0)
        # every command's help reads in a terminal: no line over 84 columns
        cmds = set()
        for line in self.ctl("--help").stdout.split("\nCommands:\n")[1].split("\n\n")[0] \
                .splitlines():
            if line.startswith("  ") and not line.startswith("   "):  # NAME  description
                words = line[2:].split("  ")[0].split()
                cmds.add(" ".join(w for w in words[:2] if w.replace("-", "").isalpha()
                                  and w.islower()))
        self.assertGreater(len(cmds), 40, cmds)
        for cmd in sorted(cmds):
            r = self.ctl(*cmd.split(), "--help")
            self.assertEqual(r.returncode, 0, (cmd, r.stderr))
            long = [l for l in r.stdout.splitlines() if len(l) > 84]
            self.assertEqual(long, [], cmd)
        for bad in (["frobnicate"], ["deploy", "x"], ["tenant", "show"],
                    ["scale", "x", "--vdu", "web"], ["tenant", "list", "--colour", "red"]):
            r = self.ctl(*bad)
            self.assertEqual(r.returncode, 2, (bad, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertTrue(r.stderr.startswith("vnfmctl: "), r.stderr)

    def test_cannot_connect_and_bad_token(self):
        r = subprocess.run([VNFMCTL, "--url", "http://127.0.0.1:1", "health"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 3)
        self.assertIn("http://127.0.0.1:1", r.stderr)
        r = self.ctl("tenant", "list", token="nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("invalid token", r.stderr)

    def test_tables_and_json(self):
        r = self.ctl("tenant", "create", "cli-t", "--name", "CLI tenant")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("tenant", "list")
        self.assertEqual(r.stdout.splitlines()[0].split(), ["ID", "NAME", "ENABLED",
                                                             "DESCRIPTION"])
        self.assertIn("cli-t", r.stdout)
        doc = json.loads(self.ctl("-o", "json", "tenant", "show", "cli-t").stdout)
        self.assertEqual(doc["name"], "CLI tenant")
        r = self.ctl("tenant", "create", "cli-t")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already exists", r.stderr)
        self.assertIn("[HTTP 409]", r.stderr)
        tok = self.ctl("-o", "json", "token", "create", "cli-t")
        secret = json.loads(tok.stdout)["token"]
        self.assertEqual(json.loads(self.ctl("-o", "json", "tenant", "list",
                                             token=secret).stdout)["tenants"][0]["id"], "cli-t")
        r = self.ctl("health")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("2000"))

    def test_onboard_inlines_template_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            v = demo("cli-files")
            v["vdus"][0]["day0"] = [{"path": "demo.conf", "template_file": "demo.conf.tmpl"}]
            with open(os.path.join(tmp, "v.json"), "w") as f:
                json.dump(v, f)
            with open(os.path.join(tmp, "demo.conf.tmpl"), "w") as f:
                f.write("greeting={{params.greeting}}\n")
            r = self.ctl("vnfd", "onboard", os.path.join(tmp, "v.json"))
            self.assertEqual(r.returncode, 0, r.stderr)
        desc = self.d.get("/v0/vnfds/cli-files")[1]["descriptor"]
        self.assertEqual(desc["vdus"][0]["day0"][0]["template"], "greeting={{params.greeting}}\n")
        r = self.ctl("vnfd", "onboard", "/nonexistent.json")
        self.assertEqual(r.returncode, 2)

    def test_deploy_wait_shows_stages_and_exit_codes(self):
        self.ctl("vnfd", "onboard", os.path.join(VNFDS, "demo-web.json"))
        r = self.ctl("deploy", "cli1", "--vnfd", "demo-web", "--param", "greeting=salut",
                     "--param", "threads=1", "--wait", "--txn-id", "t-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stderr.splitlines()
        # "[ 0.01s] vi_deployment     started": one line per stage transition, in order
        order = [" ".join(l.split("] ", 1)[1].split()) for l in lines
                 if l.split("] ", 1)[1][:1].isalpha() and not l.split("] ", 1)[1].startswith("operation")]
        self.assertEqual(order,
                         ["vi_deployment started", "vi_deployment done", "pre_deployment started",
                          "pre_deployment done", "deployment started", "deployment done",
                          "post_deployment started", "post_deployment done"])
        self.assertTrue(any("cli1/web/0: deployment done (start, pid" in l for l in lines), lines)
        self.assertIn("operation completed", lines[-1])
        self.assertIn("state:                 completed", r.stdout)
        self.assertIn("client_transaction_id: t-1", r.stdout)
        show = self.ctl("deployment", "show", "cli1").stdout
        self.assertIn("cli1/web/0", show)
        self.assertIn("running", show)
        dep = json.loads(self.ctl("-o", "json", "deployment", "show", "cli1").stdout)
        self.assertEqual(dep["params"], {"greeting": "salut", "threads": 1})
        r = self.ctl("scale", "cli1", "--vdu", "web", "--delta", "1", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.d.deployment("cli1")["vis"]), 2)
        r = self.ctl("scale", "cli1", "--vdu", "web", "--count", "9")
        self.assertEqual(r.returncode, 1)
        self.assertIn("(field: count)", r.stderr)
        r = self.ctl("heal", "cli1", "--vi", "cli1/web/1", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        ops = json.loads(self.ctl("-o", "json", "op", "list", "--deployment", "cli1").stdout)
        self.assertEqual([o["type"] for o in ops["operations"]], ["heal", "scale", "deploy"])
        r = self.ctl("logs", "--object", "cli1", "--event", "operation")
        self.assertIn("deploy of cli1 completed", r.stdout)
        r = self.ctl("undeploy", "cli1", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("deployment", "show", "cli1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)

    def test_failed_operation_exits_1(self):
        self.d.onboard(demo("cli-broken", command=["vnf-demo", "--bogus"]))
        r = self.ctl("deploy", "clibad", "--vnfd", "cli-broken", "--wait")
        self.assertEqual(r.returncode, 1)
        self.assertIn("rolled_back", r.stderr)
        self.assertIn("rolling back", r.stderr)
        r = self.ctl("deploy", "clibad2", "--vnfd", "no-such-vnfd")
        self.assertEqual(r.returncode, 1)
        self.assertIn("(field: vnfd)", r.stderr)
        self.ctl("undeploy", "clibad", "--wait")

    def test_sol003_shaped_tasks(self):
        """operate, scale-to-level, change-flavour and modify: SOL003 tasks on a
        deployment, followed as any operation, -o json, usage errors."""
        self.d.onboard(sol_vnfd("cli-sol"))
        r = self.ctl("deploy", "clisol", "--vnfd", "cli-sol", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        [vi] = self.d.deployment("clisol")["vis"]
        # operate: stopped, kept; stopped again is refused; started again
        r = self.ctl("operate", "clisol", "--state", "stopped", "--forceful", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("operation completed", r.stderr.splitlines()[-1])
        self.assertIn("type:                  operate", r.stdout)
        dep = self.d.deployment("clisol")
        self.assertEqual((dep["status"], [v["state"] for v in dep["vis"]]), ("stopped", ["stopped"]))
        r = self.ctl("operate", "clisol", "--state", "stopped")
        self.assertEqual(r.returncode, 1)
        self.assertIn("[HTTP 409]", r.stderr)
        self.assertIn("changeStateTo", r.stderr)
        r = self.ctl("-o", "json", "deployment", "operate", "clisol", "--state", "started",
                     "--vi", vi["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        op = json.loads(r.stdout)
        self.assertEqual((op["type"], op["deployment"]), ("operate", "clisol"))
        r = self.ctl("op", "wait", op["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.deployment("clisol")["vis"][0]["state"], "running")
        # scale to level: by aspect; a level the flavour lacks names the field
        r = self.ctl("scale-to-level", "clisol", "--aspect", "web=2", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.d.deployment("clisol")["vis"]), 3)
        r = self.ctl("scale-to-level", "clisol", "--level", "four")
        self.assertEqual(r.returncode, 1)
        self.assertIn("instantiationLevelId", r.stderr)
        # change flavour: the flavour's level, the flavour on the record
        r = self.ctl("change-flavour", "clisol", "--flavour", "large", "--level", "two", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        dep = self.d.deployment("clisol")
        self.assertEqual((dep["flavour"], len(dep["vis"])), ("large", 2))
        r = self.ctl("scale-to-level", "clisol", "--level", "four", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.d.deployment("clisol")["vis"]), 4)
        # modify: name and metadata, merged
        r = self.ctl("modify", "clisol", "--name", "web front", "--metadata", "rack=r7",
                     "--metadata", "slots=4", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("modify", "clisol", "--metadata", "rack=null", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = self.d.deployment("clisol")["sol003"]
        self.assertEqual((info["vnfInstanceName"], info["metadata"]), ("web front", {"slots": 4}))
        # usage errors: exit 2, nothing sent
        for args in (("operate", "clisol"), ("operate", "clisol", "--state", "paused"),
                     ("operate", "clisol", "--state", "started", "--forceful"),
                     ("scale-to-level", "clisol"),
                     ("scale-to-level", "clisol", "--level", "two", "--aspect", "web=1"),
                     ("scale-to-level", "clisol", "--aspect", "web"),
                     ("change-flavour", "clisol"), ("modify", "clisol"),
                     ("modify", "clisol", "--metadata", "rack")):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
        self.assertEqual(len(self.d.deployment("clisol")["vis"]), 4)
        r = self.ctl("operate", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("Exit status", r.stdout)
        self.ctl("undeploy", "clisol", "--wait")


if __name__ == "__main__":
    unittest.main()
