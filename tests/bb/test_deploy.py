"""Deploy real VNFs with the proc VIM and watch what a user would see:
the VNF answers on its namespace address, a killed process is detected and
restarted, scaling adds and removes instances that answer, undeploy leaves
nothing on the host; failing stages retry, stay put and roll back; busy
deployments answer 409; callbacks and events arrive."""
import json
import os
import stat
import subprocess
import threading
import time
import unittest
import urllib.request

from vnfm import DaemonTest, Webhook, http_get, pid_alive, slurp, wait_for


def demo(vnfd_id="demo-t", **vdu_patch):
    """A small VNFD around vnf-demo, for tests that tweak it."""
    vdu = {
        "id": "web",
        "command": ["vnf-demo", "--listen", "{{ip}}:8080", "--config", "{{day0_dir}}/demo.conf"],
        "vcpu": 0.2, "memory_mb": 32,
        "scaling": {"min": 1, "max": 3},
        "day0": [{"path": "demo.conf",
                  "template": "greeting={{params.greeting}}\nuser={{credentials.username}}\n"
                              "password={{credentials.password}}\n"}],
        "ready": {"tcp": 8080, "timeout_s": 10},
        "stop_grace_s": 1,
    }
    vdu.update(vdu_patch)
    return {"id": vnfd_id, "params": {"greeting": {"type": "string", "default": "hello"}},
            "credentials": {"username": "operator"}, "tags": ["bbtest"],
            "vdus": [vdu], "retry": {"attempts": 3, "backoff_ms": 50}}


def script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, stat.S_IRWXU)
    return path


class DeployTest(DaemonTest):

    def vis(self, name):
        return self.d.deployment(name)["vis"]

    def answers(self, vi, text=None):
        status, body = http_get("http://%s:8080/" % vi["ip"])
        return status == 200 and (text is None or text in body)

    def test_full_lifecycle(self):
        self.d.onboard(demo())
        op = self.d.deploy("web1", "demo-t", params={"greeting": "bonjour"})
        self.assertEqual([s["stage"] for s in op["stages"]],
                         ["vi_deployment", "pre_deployment", "deployment", "post_deployment"])
        self.assertTrue(all(s["result"] == "ok" for s in op["stages"]))
        dep = self.d.deployment("web1")
        self.assertEqual((dep["status"], dep["stage"]), ("active", "monitoring"))
        self.assertNotIn("_password", json.dumps(dep))
        [vi] = dep["vis"]
        self.assertEqual(vi["state"], "running")
        self.assertEqual(vi["name"], "web1/web/0")
        self.assertTrue(self.answers(vi, "bonjour"))

        # isolation on the host: a namespace, a veth, a cgroup with the limits
        self.assertEqual(self.d.netns(), ["vnfm-%s-%s" % (self.d.tag, vi["id"])])
        self.assertEqual(self.d.veths([vi["id"]]), [vi["id"]])
        mem = [c for c in self.d.cgroups() if "memory" in c or "/cgroup/vnfm/" in c][0]
        limit_file = os.path.join(mem, "memory.limit_in_bytes")
        if not os.path.exists(limit_file):
            limit_file = os.path.join(mem, "memory.max")
        self.assertEqual(int(slurp(limit_file)), 32 << 20)
        day0 = os.path.join(self.d.dir, "vi", vi["id"], "demo.conf")
        self.assertIn("greeting=bonjour", slurp(day0))
        self.assertEqual(stat.S_IMODE(os.stat(day0).st_mode), 0o600)
        self.assertIn("user=operator", slurp(day0))

        # the lifecycle events of the operation, in order, with tags
        logs = self.d.get("/v0/logs?operation=" + op["id"])[1]["logs"]
        stages = [(l["stage"], l["result"]) for l in logs if l["event"] == "stage"]
        self.assertEqual(stages[0], ("vi_deployment", "started"))
        self.assertEqual(stages[-1], ("post_deployment", "ok"))
        self.assertTrue(all(l.get("tags") == ["bbtest"] for l in logs if l["event"] == "stage"))

        # kill the VNF by hand: detected at once, and restarted by its exit watch
        os.kill(vi["pid"], 9)
        heal = wait_for(lambda: self.d.get("/v0/operations?deployment=web1&type=heal")[1]
                        ["operations"], 10, what="the restart")[0]
        self.assertTrue(heal["automatic"])
        heal = self.d.wait_op(heal["id"])
        self.assertEqual(heal["state"], "completed", heal)
        [vi2] = self.vis("web1")
        self.assertEqual((vi2["state"], vi2["restarts"]), ("running", 1))
        self.assertNotEqual(vi2["pid"], vi["pid"])
        self.assertEqual(vi2["ip"], vi["ip"])
        self.assertTrue(self.answers(vi2, "bonjour"))
        self.assertEqual(self.d.deployment("web1")["status"], "active")

        # scale out: a new instance that answers; scale in: it goes away
        op = self.d.ok("POST", "/v0/deployments/web1/scale", {"vdu": "web", "delta": 1})
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        vis = self.vis("web1")
        self.assertEqual(sorted(v["name"] for v in vis), ["web1/web/0", "web1/web/1"])
        self.assertTrue(all(self.answers(v) for v in vis))
        self.assertEqual(self.d.deployment("web1")["instances"], {"web": 2})
        new = [v for v in vis if v["index"] == 1][0]
        self.assertError(self.d.post("/v0/deployments/web1/scale", {"vdu": "web", "count": 9}),
                         400, field="count")
        op = self.d.ok("POST", "/v0/deployments/web1/scale", {"vdu": "web", "count": 1})
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        self.assertEqual([v["index"] for v in self.vis("web1")], [0])
        self.assertFalse(pid_alive(new["pid"]))
        self.assertNotIn("vnfm-%s-%s" % (self.d.tag, new["id"]), self.d.netns())

        # undeploy leaves nothing behind
        pid = self.vis("web1")[0]["pid"]
        op = self.d.ok("DELETE", "/v0/deployments/web1", expect=(202,))
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        self.assertError(self.d.get("/v0/deployments/web1"), 404)
        self.assertEqual(self.d.netns(), [])
        self.assertEqual(self.d.cgroups(), [])
        self.assertEqual(self.d.veths([vi["id"], new["id"]]), [])
        self.assertFalse(pid_alive(pid))
        self.assertFalse(os.path.exists(os.path.join(self.d.dir, "vi", vi["id"])))
        site = self.d.get("/v0/sites/local")[1]
        self.assertEqual(site["allocated"]["vis"], 0)

    def test_address_reuse_answers_at_once(self):
        """A VI that gets the address of one undeployed before answers the
        host at once: its MAC derives from the address, and the host's
        neighbour entry is set when it is plugged (with random MACs the host
        kept sending to the dead MAC for up to a minute)."""
        self.d.onboard(demo("demo-reuse"))
        self.d.deploy("reuse1", "demo-reuse")
        [first] = self.vis("reuse1")
        self.assertTrue(self.answers(first))
        op = self.d.ok("DELETE", "/v0/deployments/reuse1", expect=(202,))
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        op = self.d.deploy("reuse2", "demo-reuse")
        [again] = self.vis("reuse2")
        self.assertEqual(again["ip"], first["ip"])
        self.assertEqual([s["attempts"] for s in op["stages"]], [1, 1, 1, 1])
        mac = "02:76:" + ":".join("%02x" % int(b) for b in again["ip"].split("."))
        # the bridge lost its last port with reuse1: the kernel's late link
        # event (up to a second) flushed what was not permanent (finding 13)
        time.sleep(1.5)
        neigh = subprocess.run(["ip", "neigh", "show", again["ip"], "dev", self.d.bridge()],
                               capture_output=True, text=True).stdout
        self.assertIn("lladdr " + mac, neigh)
        status, _ = http_get("http://%s:8080/" % again["ip"], timeout=1.0)
        self.assertEqual(status, 200)

    def test_stage_retries_then_succeeds(self):
        counter = os.path.join(self.d.dir, "count")
        act = script(os.path.join(self.d.scripts, "flaky.sh"),
                     'n=$(cat %s 2>/dev/null || echo 0); echo $((n+1)) > %s\n'
                     '[ "$n" -ge 2 ] || { echo "not yet ($n)"; exit 1; }\n' % (counter, counter))
        v = demo("demo-flaky")
        v["lifecycle"] = {"post_deployment": [{"script": act, "args": ["{{deployment}}"]}]}
        self.d.onboard(v)
        op = self.d.deploy("flaky", "demo-flaky")
        post = [s for s in op["stages"] if s["stage"] == "post_deployment"][0]
        self.assertEqual(post["attempts"], 3)
        retries = self.d.get("/v0/logs?event=stage&operation=%s" % op["id"])[1]["logs"]
        self.assertEqual(len([l for l in retries if l["result"] == "retry"]), 2)
        self.assertIn("not yet", [l for l in retries if l["result"] == "retry"][0]["message"])
        self.d.ok("DELETE", "/v0/deployments/flaky")

    def test_failure_rolls_back_visibly(self):
        self.d.onboard(demo("demo-broken", command=["vnf-demo", "--no-such-option"]))
        op = self.d.deploy("broken", "demo-broken", expect_state="rolled_back")
        self.assertIn("ended before answering", op["error"])
        self.assertEqual(op["stages"][-1]["stage"], "fail")
        dep = self.d.deployment("broken")
        self.assertEqual((dep["status"], dep["stage"]), ("failed", "fail"))
        self.assertEqual(dep["vis"], [])
        self.assertEqual(self.d.netns(), [])
        self.assertError(self.d.post("/v0/deployments/broken/heal", {}), 409, "conflict")
        op = self.d.ok("DELETE", "/v0/deployments/broken")
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")

    def test_missing_binary_is_a_clear_error(self):
        self.d.onboard(demo("demo-nobin", command=["no-such-vnf-binary"]))
        op = self.d.deploy("nobin", "demo-nobin", expect_state="rolled_back")
        self.assertIn("no-such-vnf-binary", op["error"])
        self.d.ok("DELETE", "/v0/deployments/nobin")

    def test_busy_deployment_409_and_callback(self):
        hook = Webhook()
        slow = script(os.path.join(self.d.scripts, "slow.sh"), "sleep 1\n")
        v = demo("demo-slow")
        v["lifecycle"] = {"pre_deployment": [{"script": slow}]}
        self.d.onboard(v)
        status, op, hdrs = self.d.post(
            "/v0/deployments", {"name": "slow", "vnfd": "demo-slow"},
            headers={"Callback": "http://127.0.0.1:%d/done" % hook.port,
                     "Client-Transaction-Id": "tx-42"})
        self.assertEqual(status, 202)
        self.assertEqual(hdrs["Location"], "/v0/operations/" + op["id"])
        self.assertEqual(hdrs["Client-Transaction-Id"], "tx-42")
        doc = self.assertError(self.d.post("/v0/deployments/slow/heal", {}), 409, "conflict")
        self.assertIn(op["id"], doc["message"])
        self.assertError(self.d.delete("/v0/deployments/slow"), 409)
        self.assertEqual(self.d.wait_op(op["id"])["state"], "completed")
        got = wait_for(lambda: hook.got, 10, what="callback")
        self.assertEqual(got[0]["id"], op["id"])
        self.assertEqual(got[0]["state"], "completed")
        self.assertEqual(got[0]["client_transaction_id"], "tx-42")
        hook.close()
        self.d.ok("DELETE", "/v0/deployments/slow")

    def test_event_stream(self):
        self.d.onboard(demo())
        seen = []
        req = urllib.request.Request(self.d.url + "/v0/events?deployment=sse1",
                                     headers={"Authorization": "Bearer " + self.d.token})
        stream = urllib.request.urlopen(req, timeout=30)
        self.assertEqual(stream.headers["Content-Type"], "text/event-stream")

        def read():
            for line in stream:
                line = line.decode().strip()
                if line.startswith("data: "):
                    rec = json.loads(line[6:])
                    seen.append(rec)
                    if rec["event"] == "operation" and rec["result"] == "completed":
                        return

        t = threading.Thread(target=read, daemon=True)
        t.start()
        time.sleep(0.2)
        self.d.deploy("sse1", "demo-t")
        t.join(20)
        stream.close()
        kinds = [(r["event"], r.get("stage"), r["result"]) for r in seen]
        self.assertEqual(kinds[0], ("operation", None, "started"))
        self.assertIn(("stage", "deployment", "ok"), kinds)
        self.assertEqual(kinds[-1][0::2], ("operation", "completed"))
        self.assertTrue(all(r["deployment"] == "sse1" for r in seen))
        seqs = [r["seq"] for r in seen]
        self.assertEqual(seqs, sorted(seqs))
        # a client that reconnects with Last-Event-ID gets what it missed
        req = urllib.request.Request(self.d.url + "/v0/events?deployment=sse1",
                                     headers={"Authorization": "Bearer " + self.d.token,
                                              "Last-Event-ID": str(seqs[0])})
        stream = urllib.request.urlopen(req, timeout=30)
        replay = []
        for line in stream:
            line = line.decode().strip()
            if line.startswith("data: "):
                replay.append(json.loads(line[6:])["seq"])
                if len(replay) == len(seqs) - 1:
                    break
        stream.close()
        self.assertEqual(replay, seqs[1:])
        self.d.ok("DELETE", "/v0/deployments/sse1")


if __name__ == "__main__":
    unittest.main()
