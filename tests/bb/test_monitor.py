"""Monitoring, rules and actions as an operator sees them: real VNFs under
real load from wrk grow and shrink, a VNF killed with kill -9 comes back by
itself with exactly one heal, an SNMP agent VNF (a real snmpd) is probed,
script and push metrics feed rules whose actions run chained and call a
real webhook, rules change at run time without touching the VNF, and scale
up/down changes the cgroup limits of a running VI."""
import datetime
import glob
import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from vnfm import DaemonTest, Webhook, http_get, pid_alive, wait_for
from test_deploy import demo

INTERVAL = 0.5


def monitored(vnfd_id, metrics, rules, **vdu_patch):
    v = demo(vnfd_id, **vdu_patch)
    v["monitoring"] = {"interval_s": INTERVAL, "metrics": metrics}
    v["rules"] = rules
    return v


def cgroup_file(tag, vi, v1_name, v2_name):
    for path in (glob.glob("/sys/fs/cgroup/*/vnfm/%s/%s/%s" % (tag, vi, v1_name)) +
                 glob.glob("/sys/fs/cgroup/vnfm/%s/%s/%s" % (tag, vi, v2_name))):
        with open(path) as f:
            return f.read().strip()
    raise AssertionError("no cgroup file %s for VI %s" % (v1_name, vi))


class MonitorTest(DaemonTest):

    def view(self, dep):
        return self.d.get("/v0/deployments/%s/monitoring" % dep)[1]

    def series(self, dep, metric):
        return self.view(dep)["metrics"].get(metric, {}).get("vis", [])

    def vis(self, dep):
        return self.d.deployment(dep)["vis"]

    def ops(self, dep, type_=None):
        ops = self.d.get("/v0/operations?deployment=%s" % dep)[1]["operations"]
        return [o for o in ops if type_ is None or o["type"] == type_]

    def decisions(self, dep):
        return self.d.get("/v0/decisions?deployment=%s" % dep)[1]["decisions"]

    def quiet(self, dep):
        """Disables the rules, so that the test's end is not raced by them."""
        self.d.ok("PUT", "/v0/deployments/%s/rules" % dep, {"rules": []})

    def test_load_scales_out_and_back_in(self):
        rules = [
            {"name": "busy", "metric": "rps", "op": ">", "threshold": 200, "occurrences": 2,
             "stage": "overloaded", "cooldown_s": 1, "actions": [{"action": "scale_out"}]},
            {"name": "idle", "metric": "rps", "op": "<", "threshold": 20, "occurrences": 3,
             "stage": "underloaded", "cooldown_s": 1, "actions": [{"action": "scale_in"}]}]
        self.d.onboard(monitored("mon-load", {
            "rps": {"probe": "http", "port": 8080, "path": "/stats",
                    "json": "requests_per_s_1s", "aggregate": "max"}}, rules,
            scaling={"min": 1, "max": 3}))
        self.d.deploy("load1", "mon-load")
        [first] = self.vis("load1")
        wrk = subprocess.Popen(["wrk", "-t1", "-c4", "-d60s", "http://%s:8080/" % first["ip"]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def grown():
            dep = self.d.deployment("load1")
            return len(dep["vis"]) >= 2 and not dep["operation"] and dep
        try:
            dep = wait_for(grown, 30, what="a scale-out under load")
        finally:
            wrk.kill()
            wrk.wait()
        new = [v for v in dep["vis"] if v["id"] != first["id"]]
        self.assertTrue(all(http_get("http://%s:8080/" % v["ip"])[0] == 200 for v in new))
        scale_ops = self.ops("load1", "scale")
        self.assertTrue(scale_ops and all(o["automatic"] for o in scale_ops))
        self.assertTrue(all(o.get("decision", "").startswith("dc-") for o in scale_ops))
        fired = [d for d in self.decisions("load1") if d["rule"] == "busy"]
        self.assertTrue(fired)
        self.assertEqual(fired[-1]["stage"], "overloaded")
        self.assertGreater(fired[-1]["inputs"]["value"], 200)
        self.assertIn("rps last > 200", fired[-1]["reason"])
        # the load is gone: back to the minimum, the first VI kept
        wait_for(lambda: [v["id"] for v in self.vis("load1")] == [first["id"]], 40,
                 what="scale-in to the minimum")
        self.assertTrue(any(d["rule"] == "idle" for d in self.decisions("load1")))
        self.quiet("load1")

    def test_killed_vnf_heals_once(self):
        rules = [
            {"name": "down", "metric": "health.up", "op": "==", "threshold": 0, "occurrences": 2,
             "stage": "vnf_failure", "actions": [{"action": "heal", "policy": "reboot"}]},
            {"name": "died", "metric": "process.up", "op": "==", "threshold": 0,
             "stage": "vnf_failure", "actions": [{"action": "heal"}]}]
        v = monitored("mon-heal", {"health": {"probe": "tcp", "port": 8080, "timeout_ms": 300}},
                      rules)
        v["restart"] = {"policy": "never"}  # the rules heal it, not its exit watch (test_heal)
        self.d.onboard(v)
        self.d.deploy("heal1", "mon-heal")
        [vi] = self.vis("heal1")
        wait_for(lambda: self.series("heal1", "health") and
                 self.series("heal1", "health")[0]["up"], 10, what="a first probe")
        killed = time.time()
        os.kill(vi["pid"], 9)
        heal = wait_for(lambda: self.ops("heal1", "heal"), 10, what="a heal operation")[0]
        started = datetime.datetime.fromisoformat(heal["created"].replace("Z", "+00:00"))
        self.assertLess(started.timestamp() - killed, 3 * INTERVAL)
        self.assertTrue(heal["automatic"])
        op = self.d.wait_op(heal["id"])
        self.assertEqual(op["state"], "completed")
        [again] = self.vis("heal1")
        self.assertNotEqual(again["pid"], vi["pid"])
        self.assertEqual(again["restarts"], 1)
        self.assertEqual(http_get("http://%s:8080/" % again["ip"])[0], 200)
        # both rules saw the failure; storm control made it one heal
        time.sleep(4 * INTERVAL)
        self.assertEqual(len(self.ops("heal1", "heal")), 1)
        decided = self.decisions("heal1")
        self.assertEqual(len(decided), 1, decided)
        self.assertEqual(decided[0]["state"], "completed")
        self.assertEqual(decided[0]["actions"][0]["operation"], heal["id"])
        log = self.d.get("/v0/logs?category=policy&object=heal1")[1]["logs"]
        self.assertTrue(any(r["event"] == "alarm" and r["result"] == "cleared" for r in log))
        # an NFVO sees the heal as an automatic SOL003 operation occurrence
        status, occs, _ = self.d.request("GET", "/vnflcm/v1/vnf_lcm_op_occs",
                                         headers={"Version": "1.3.0"})
        self.assertEqual(status, 200, occs)
        [occ] = [o for o in occs if o["id"] == heal["id"]]
        self.assertEqual((occ["operation"], occ["isAutomaticInvocation"],
                          occ["operationState"]), ("HEAL", True, "COMPLETED"))
        # the same through the CLI
        r = self.d.ctl("decisions", "--deployment", "heal1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(decided[0]["id"], r.stdout)
        r = self.d.ctl("decision", "show", decided[0]["id"])
        self.assertIn(heal["id"], r.stdout)
        r = self.d.ctl("monitoring", "heal1")
        self.assertEqual(r.stdout.splitlines()[0].split()[:4], ["METRIC", "PROBE", "VI", "UP"])
        self.assertIn("heal1/web/0", r.stdout)

    @unittest.skipUnless(shutil.which("snmpd"), "snmpd is not installed")
    def test_snmp_probe_of_a_real_agent(self):
        vnfd = {"id": "snmp-agent", "vdus": [{
            "id": "agent", "vcpu": 0.2, "memory_mb": 64,
            "command": ["snmpd", "-f", "-Lo", "-C", "-c", "{{day0_dir}}/snmpd.conf",
                        "-p", "{{day0_dir}}/snmpd.pid", "udp:{{ip}}:161"],
            "day0": [{"path": "snmpd.conf",
                      "template": "rocommunity vnfmtest\nsysName {{vi.name}}\n"}]}],
            "monitoring": {"interval_s": INTERVAL, "metrics": {
                "load": {"probe": "snmp", "oid": ".1.3.6.1.4.1.2021.10.1.3.1",
                         "community": "vnfmtest"},
                "uptime": {"probe": "snmp", "oid": ".1.3.6.1.2.1.1.3.0",
                           "community": "vnfmtest", "version": "1"},
                "wrong": {"probe": "snmp", "oid": ".1.3.6.1.2.1.1.3.0",
                          "community": "not-the-community", "timeout_ms": 200},
                "ping": {"probe": "icmp"}}}}
        self.d.onboard(vnfd)
        self.d.deploy("snmp1", "snmp-agent")

        def measured():
            m = self.view("snmp1")["metrics"]
            return all(m.get(k, {}).get("vis") and m[k]["vis"][0]["last"] is not None
                       for k in ("load", "uptime", "ping")) and \
                m.get("wrong", {}).get("vis") and m["wrong"]["vis"][0]["probes"] > 0 and m
        m = wait_for(measured, 20, 0.2, "SNMP values")
        self.assertGreaterEqual(m["load"]["vis"][0]["last"], 0)
        self.assertGreater(m["uptime"]["vis"][0]["last"], 0)
        self.assertLess(m["ping"]["vis"][0]["last"], 100)
        self.assertFalse(m["wrong"]["vis"][0]["up"])
        self.assertIn("no SNMP answer", m["wrong"]["vis"][0]["error"])

    def test_script_and_push_metrics_drive_chained_actions(self):
        tmp = tempfile.mkdtemp(dir=self.d.scripts)
        probe = os.path.join(tmp, "probe.sh")
        with open(probe, "w") as f:
            f.write("#!/bin/sh\n[ -e %s/sick ] && exit 3\necho \"queue 7\"\necho \"vi $VNFM_VI_NAME\"\n"
                    % tmp)
        os.chmod(probe, stat.S_IRWXU)
        action = os.path.join(tmp, "action.sh")
        with open(action, "w") as f:
            f.write("#!/bin/sh\ncat > %s/event.json\necho \"$VNFM_RULE $VNFM_VALUE\" > %s/env\n"
                    % (tmp, tmp))
        os.chmod(action, stat.S_IRWXU)
        hook = Webhook()
        try:
            rules = [{"name": "backlog", "metric": "jobs", "op": ">", "threshold": 10,
                      "stage": "overloaded", "mode": "chain", "actions": [
                          {"action": "notify", "url": hook.url},
                          {"action": "script", "script": action},
                          {"action": "log", "level": "warn", "message": "backlog"}]}]
            self.d.onboard(monitored("mon-script", {
                "queue": {"probe": "script", "script": probe, "value": "queue"},
                "jobs": {"probe": "push"},
                "dead": {"probe": "tcp", "port": 9, "timeout_ms": 200}}, rules))
            self.d.deploy("script1", "mon-script")
            wait_for(lambda: self.series("script1", "queue") and
                     self.series("script1", "queue")[0]["last"] == 7, 10, what="script value")
            # a probe target that does not answer is a failed probe, not a crash
            dead = wait_for(lambda: [s for s in self.series("script1", "dead") if s["probes"]],
                            10, what="a probe of a closed port")[0]
            self.assertFalse(dead["up"])
            self.assertIn("connect", dead["error"])
            open(os.path.join(tmp, "sick"), "w").close()
            wait_for(lambda: self.series("script1", "queue")[0]["up"] is False, 10,
                     what="an unhealthy script probe")
            self.assertIn("exited with status 3", self.series("script1", "queue")[0]["error"])
            # pushed values: an unknown metric, a probed one, then one over the threshold
            self.assertError(self.d.post("/v0/deployments/script1/metrics",
                                         {"values": {"nope": 1}}), 404, field="values.nope")
            self.assertError(self.d.post("/v0/deployments/script1/metrics",
                                         {"values": {"queue": 1}}), 400, field="values.queue")
            self.assertError(self.d.post("/v0/deployments/script1/metrics",
                                         {"values": {"jobs": "many"}}), 400,
                             field="values.jobs")
            self.d.ok("POST", "/v0/deployments/script1/metrics", {"values": {"jobs": 42}},
                      expect=(202,))
            d = wait_for(lambda: [x for x in self.decisions("script1")
                                  if x["state"] != "running"], 10, what="a decision")[0]
            self.assertEqual(d["state"], "completed", d)
            self.assertEqual([a["state"] for a in d["actions"]], ["completed"] * 3)
            self.assertEqual(hook.got[0]["id"], d["id"])
            self.assertEqual(hook.got[0]["inputs"]["value"], 42)
            with open(os.path.join(tmp, "event.json")) as f:
                self.assertEqual(json.load(f)["rule"], "backlog")
            with open(os.path.join(tmp, "env")) as f:
                self.assertEqual(f.read().split(), ["backlog", "42"])
            # a failing webhook stops the chain: the next actions are skipped
            hook.close()
            time.sleep(0.1)
            self.d.ok("PUT", "/v0/deployments/script1/rules",
                      {"rules": [dict(rules[0], name="backlog2", cooldown_s=0)]})
            self.d.ok("POST", "/v0/deployments/script1/metrics", {"values": {"jobs": 43}},
                      expect=(202,))
            d = wait_for(lambda: [x for x in self.decisions("script1")
                                  if x["rule"] == "backlog2" and x["state"] != "running"], 20,
                         what="a failed chain")[0]
            self.assertEqual(d["state"], "failed")
            self.assertEqual([a["state"] for a in d["actions"]],
                             ["failed", "skipped", "skipped"])
            self.quiet("script1")
        finally:
            hook.close()
            shutil.rmtree(tmp)

    def test_rules_change_at_run_time_and_survive_a_restart(self):
        self.d.onboard(monitored("mon-live", {"rps": {"probe": "http", "port": 8080,
                                                      "path": "/stats",
                                                      "json": "requests_per_s_10s"}}, [],
                                 scaling={"min": 1, "max": 2}))
        self.d.deploy("live1", "mon-live")
        [vi] = self.vis("live1")
        # bad rules are refused with the field named, and change nothing
        self.assertError(self.d.request("PUT", "/v0/deployments/live1/rules", {"rules": [
            {"name": "x", "metric": "nope", "op": ">", "threshold": 1,
             "actions": [{"action": "log"}]}]}), 400, field="rules[0].metric")
        self.assertError(self.d.request("PUT", "/v0/deployments/live1/rules", {"rules": [
            {"name": "o", "metric": "rps", "op": ">", "threshold": 5, "stage": "overloaded",
             "actions": [{"action": "log"}]},
            {"name": "u", "metric": "rps", "op": "<", "threshold": 9, "stage": "underloaded",
             "actions": [{"action": "log"}]}]}), 400, field="rules[1].threshold")
        self.assertEqual(self.view("live1")["rules"], [])
        time.sleep(3 * INTERVAL)
        self.assertEqual(self.decisions("live1"), [])
        # a rule that holds at once: it scales out without touching the running VI
        self.d.ok("PUT", "/v0/deployments/live1/rules", {"rules": [
            {"name": "grow", "metric": "rps", "op": ">=", "threshold": 0, "occurrences": 2,
             "stage": "overloaded", "actions": [{"action": "scale_out"}]}]})
        wait_for(lambda: len(self.vis("live1")) == 2, 20, what="the new rule acting")
        self.assertTrue(pid_alive(vi["pid"]))
        self.assertEqual([v["pid"] for v in self.vis("live1") if v["id"] == vi["id"]],
                         [vi["pid"]])
        # the change is in the store: a restarted manager keeps it
        self.d.stop()
        self.d.restart()
        self.assertEqual(self.view("live1")["rules"][0]["name"], "grow")
        self.assertEqual([v["pid"] for v in self.vis("live1") if v["id"] == vi["id"]],
                         [vi["pid"]])
        self.quiet("live1")

    def test_scale_up_and_down_resize_the_running_vi(self):
        rules = [{"name": "hot", "metric": "load", "op": ">", "threshold": 50,
                  "stage": "overloaded", "cooldown_s": 0,
                  "actions": [{"action": "scale_up", "vcpu": 0.2, "memory_mb": 32}]},
                 {"name": "cold", "metric": "load", "op": "<", "threshold": 10,
                  "stage": "underloaded", "cooldown_s": 0,
                  "actions": [{"action": "scale_down", "vcpu": 0.2, "memory_mb": 32}]}]
        self.d.onboard(monitored("mon-size", {"load": {"probe": "push"}}, rules,
                                 scaling={"min": 1, "max": 1, "vcpu_max": 0.4,
                                          "memory_mb_max": 64}))
        self.d.deploy("size1", "mon-size")
        [vi] = self.vis("size1")
        tag = self.d.tag
        self.assertEqual(cgroup_file(tag, vi["id"], "memory.limit_in_bytes", "memory.max"),
                         str(32 << 20))
        # by hand: the API checks the bounds, then resizes in place
        self.assertError(self.d.post("/v0/deployments/size1/resize",
                                     {"vdu": "web", "memory_mb": 65}), 400, field="memory_mb")
        r = self.d.ctl("resize", "size1", "--vdu", "web", "--vcpu", "0.3", "--memory-mb", "48",
                       "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(cgroup_file(tag, vi["id"], "memory.limit_in_bytes", "memory.max"),
                         str(48 << 20))
        quota = cgroup_file(tag, vi["id"], "cpu.cfs_quota_us", "cpu.max").split()[0]
        self.assertEqual(quota, "30000")
        # by a rule: scale up to the bound, then down again
        self.d.ok("POST", "/v0/deployments/size1/metrics", {"values": {"load": 90}},
                  expect=(202,))
        wait_for(lambda: self.vis("size1")[0]["memory_mb"] == 64 and
                 not self.d.deployment("size1")["operation"], 20, what="a scale up")
        self.assertEqual(cgroup_file(tag, vi["id"], "memory.limit_in_bytes", "memory.max"),
                         str(64 << 20))
        self.assertAlmostEqual(self.vis("size1")[0]["vcpu"], 0.4)
        r = self.d.ctl("metrics", "push", "size1", "--value", "load=1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.d.ctl("metrics", "push", "size1", "--value", "load").returncode, 2)
        wait_for(lambda: self.vis("size1")[0]["memory_mb"] == 32 and
                 not self.d.deployment("size1")["operation"], 20, what="a scale down")
        self.assertEqual(cgroup_file(tag, vi["id"], "memory.limit_in_bytes", "memory.max"),
                         str(32 << 20))
        self.assertEqual(self.vis("size1")[0]["pid"], vi["pid"])  # the same process all along
        resized = [o for o in self.ops("size1", "resize") if o["automatic"]]
        self.assertEqual(len(resized), 2)
        self.quiet("size1")

    def netns_inode(self, vi):
        return os.stat("/run/netns/vnfm-%s-%s" % (self.d.tag, vi)).st_ino

    def test_heal_policies(self):
        self.d.onboard(demo("mon-policy"))
        self.d.deploy("pol1", "mon-policy")
        [vi] = self.vis("pol1")
        ino = self.netns_inode(vi["id"])
        self.assertError(self.d.post("/v0/deployments/pol1/heal",
                                     {"vi": vi["name"], "policy": "pray"}), 400, field="policy")
        # reboot: a new process in the same namespace
        op = self.d.ok("POST", "/v0/deployments/pol1/heal",
                       {"vi": vi["name"], "policy": "reboot"}, expect=(202,))
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        [after] = self.vis("pol1")
        self.assertNotEqual(after["pid"], vi["pid"])
        self.assertEqual(self.netns_inode(vi["id"]), ino)
        # redeploy: its isolation made anew, same VI, same address
        r = self.d.ctl("heal", "pol1", "--vi", vi["name"], "--policy", "redeploy", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        [again] = self.vis("pol1")
        self.assertNotEqual(self.netns_inode(vi["id"]), ino)
        self.assertEqual((again["id"], again["ip"]), (vi["id"], vi["ip"]))
        self.assertEqual(http_get("http://%s:8080/" % again["ip"])[0], 200)
        self.assertEqual(again["restarts"], 2)

    def test_sequence_and_parallel_actions(self):
        tmp = tempfile.mkdtemp(dir=self.d.scripts)
        ok = os.path.join(tmp, "ok.sh")
        with open(ok, "w") as f:
            f.write("#!/bin/sh\necho \"$VNFM_RULE\" >> %s/ran\n" % tmp)
        os.chmod(ok, stat.S_IRWXU)
        try:
            bad = {"action": "notify", "url": "http://127.0.0.1:1/nobody"}
            rules = [
                {"name": "seq", "metric": "a", "op": ">", "threshold": 0, "mode": "sequence",
                 "actions": [bad, {"action": "script", "script": ok}]},
                {"name": "par", "metric": "b", "op": ">", "threshold": 0, "mode": "parallel",
                 "actions": [{"action": "script", "script": ok}, bad,
                             {"action": "scale_out"}]}]
            self.d.onboard(monitored("mon-modes", {"a": {"probe": "push"},
                                                   "b": {"probe": "push"}}, rules,
                                     scaling={"min": 1, "max": 2}))
            self.d.deploy("modes1", "mon-modes")
            self.d.ok("POST", "/v0/deployments/modes1/metrics", {"values": {"a": 1}},
                      expect=(202,))
            d = wait_for(lambda: [x for x in self.decisions("modes1")
                                  if x["rule"] == "seq" and x["state"] != "running"], 20,
                         what="the sequence")[0]
            # a sequence goes on after a failure, and reports it
            self.assertEqual(d["state"], "failed")
            self.assertEqual([a["state"] for a in d["actions"]], ["failed", "completed"])
            self.d.ok("POST", "/v0/deployments/modes1/metrics", {"values": {"b": 1}},
                      expect=(202,))
            d = wait_for(lambda: [x for x in self.decisions("modes1")
                                  if x["rule"] == "par" and x["state"] != "running"], 20,
                         what="the parallel actions")[0]
            self.assertEqual([a["state"] for a in d["actions"]],
                             ["completed", "failed", "completed"])
            self.assertEqual(len(self.vis("modes1")), 2)
            with open(os.path.join(tmp, "ran")) as f:
                self.assertEqual(sorted(f.read().split()), ["par", "seq"])
            self.quiet("modes1")
        finally:
            shutil.rmtree(tmp)

    def test_monitoring_pool_sizes_itself(self):
        tmp = tempfile.mkdtemp(dir=self.d.scripts)
        slow = os.path.join(tmp, "slow.sh")
        with open(slow, "w") as f:
            f.write("#!/bin/sh\nsleep 0.3\necho 1\n")
        os.chmod(slow, stat.S_IRWXU)

        def pool():
            req = urllib.request.Request(self.d.url + "/metrics",
                                         headers={"Authorization": "Bearer " + self.d.token})
            with urllib.request.urlopen(req) as r:
                text = r.read().decode()
            vals = dict(l.split()[:2] for l in text.splitlines()
                        if l.startswith("vnfm_monitor_pool_"))
            return int(vals["vnfm_monitor_pool_threads"]), int(vals["vnfm_monitor_pool_resizes_total"])
        try:
            threads0, resizes0 = pool()
            self.d.onboard(monitored("mon-pool", {"slow": {
                "probe": "script", "script": slow, "interval_s": 0.1, "timeout_ms": 2000}}, [],
                scaling={"min": 3, "max": 3}))
            self.d.deploy("pool1", "mon-pool")
            # 3 VIs x 0.3 s of work every 0.1 s: one worker cannot keep up
            grown = wait_for(lambda: pool()[0] >= 3 and pool(), 20, 0.5, "the pool growing")
            self.assertGreater(grown[1], resizes0)
            self.d.ok("PUT", "/v0/deployments/pool1/rules", {"monitoring": {"metrics": {}}})
            wait_for(lambda: pool()[0] < grown[0], 20, 0.5, "the pool shrinking")
        finally:
            shutil.rmtree(tmp)

    def test_prometheus_metrics(self):
        self.d.onboard(monitored("mon-prom", {"sessions": {
            "probe": "prometheus", "port": 8080, "name": "vnf_requests_total"}}, []))
        self.d.deploy("prom1", "mon-prom")
        wait_for(lambda: self.series("prom1", "sessions") and
                 self.series("prom1", "sessions")[0]["last"], 10, what="a scrape")
        req = urllib.request.Request(self.d.url + "/metrics",
                                     headers={"Authorization": "Bearer " + self.d.token})
        with urllib.request.urlopen(req) as r:
            self.assertIn("text/plain", r.headers["Content-Type"])
            text = r.read().decode()
        self.assertIn('vnfm_vnf_metric{deployment="prom1",tenant="default",vdu="web",'
                      'vi="prom1/web/0",metric="sessions"}', text)
        self.assertIn("vnfm_monitor_probes_total", text)
        self.assertIn("vnfm_health_code 2000", text)
        self.assert_promtool(text)
        # a tenant's scrape (its own series, no manager internals) is valid too
        tok = self.d.ok("POST", "/v0/tenants/default/tokens")["token"]
        req = urllib.request.Request(self.d.url + "/metrics",
                                     headers={"Authorization": "Bearer " + tok})
        with urllib.request.urlopen(req) as r:
            self.assert_promtool(r.read().decode())
        status, _, _ = self.d.request("GET", "/metrics", token=None)
        self.assertEqual(status, 401)

    def assert_promtool(self, text):
        """Prometheus's own checker accepts the exposition: every family has
        HELP and TYPE, names and samples are well formed (finding 14)."""
        out = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                             text=True)
        self.assertEqual((out.returncode, out.stdout + out.stderr), (0, ""), text)


class MonitorCatchUpTest(DaemonTest):
    daemon_args = ("--enable-fault-injection",)

    def test_push_right_after_a_commit_waits_for_the_monitor(self):
        """The monitor learns of changes from the event bus, a moment after
        the commit: a push that follows the change at once (here while the
        monitor is held up for 4 s) is answered 202 once the monitor has read
        the change, not 404; meanwhile the loop goes on: a write sent after
        the push is answered before it (the push used to wait on the loop)."""
        self.d.onboard(monitored("mon-sync", {"a": {"probe": "push"}}, []))
        self.d.deploy("sync1", "mon-sync")
        self.d.ok("POST", "/v0/debug/faults", {"fault": "monitor-stall", "seconds": 4})
        self.d.ok("PUT", "/v0/deployments/sync1/rules",
                  {"monitoring": {"metrics": {"b": {"probe": "push"}}}})
        answers = []

        def push():
            answers.append(("push", self.d.post("/v0/deployments/sync1/metrics",
                                                {"values": {"b": 5}})))

        pusher = threading.Thread(target=push)
        pusher.start()
        time.sleep(0.3)  # the push first; were it later, the order below would still hold
        answers.append(("write", self.d.post("/v0/tenants", {"id": "sync-meanwhile"})))
        pusher.join(30)
        self.assertEqual([(what, a[0]) for what, a in answers], [("write", 201), ("push", 202)],
                         answers)
        # what does not exist is still refused, without waiting
        status, doc, _ = self.d.post("/v0/deployments/sync1/metrics", {"values": {"a": 1}})
        self.assertEqual((status, doc["field"]), (404, "values.a"))
        # all or nothing: one unknown metric, and the known one is not taken either
        status, doc, _ = self.d.post("/v0/deployments/sync1/metrics",
                                     {"values": {"b": 7, "a": 1}})
        self.assertEqual((status, doc["field"]), (404, "values.a"))
        view = lambda: self.d.get("/v0/deployments/sync1/monitoring")[1]["metrics"]["b"]["vis"][0]
        wait_for(lambda: view()["samples"] == 1, 10, what="the first push's sample")
        self.d.ok("POST", "/v0/deployments/sync1/metrics", {"values": {"b": 9}}, expect=(202,))
        wait_for(lambda: view()["samples"] == 2, 10, what="the last push's sample")
        self.assertEqual((view()["last"], view()["max"]), (9, 9))

if __name__ == "__main__":
    unittest.main()
