"""A branch manager moved to the cloud (docs/FEDERATION.md "Moving a branch manager to the
cloud", issue 13, seed para 1011): the cloud VNFM starts the branch manager again on its
own host from the copy of its store, and the branch keeps only the VIM agent its manager
became (the same process); the VNFs keep running at the branch, not made again, managed
from the cloud through the agent. Real daemons: a cloud with TLS, a branch manager in a
network namespace behind a veth WAN link whose VIs' subnet the cloud reaches over it."""
import copy
import json
import os
import signal
import subprocess
import unittest

from vnfm import VNFMD, pid_alive, wait_for
from test_fed import manager_of
from test_move import start_estate, stop_estate, vnfd


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def netns_of(pid):
    return os.readlink("/proc/%d/ns/net" % pid)


class MoveBase(unittest.TestCase):
    """The estate of test_move with its branch's VI subnet routed from the cloud, and the
    helpers of the tests below."""
    SITE = "bmm"
    CLOUD_ARGS = ()

    def setUp(self):
        start_estate(self, self.SITE, cloud_args=self.CLOUD_ARGS)
        self.addCleanup(stop_estate, self)
        # the cloud reaches the branch's VIs over the WAN, the branch forwarding
        subprocess.run(self.wan.inside("sysctl", "-qw", "net.ipv4.ip_forward=1"), check=True)
        subprocess.run(["ip", "route", "add", self.b.subnet, "via", self.wan.branch_ip],
                       check=True)
        self.addCleanup(subprocess.run, ["ip", "route", "del", self.b.subnet],
                        capture_output=True)
        self.mgr = manager_of(self.cloud, self.SITE)["id"]
        self.addCleanup(self.kill_moved)
        self.addCleanup(self.undo)

    def kill_moved(self):
        """A moved manager that a failed test left running (the cloud's stop leaves the
        managers it runs, as its VNFs): killed, for the cloud's purge of its VIs."""
        mine = os.path.join(self.cloud.dir, "managers") + "/"
        for pid in os.listdir("/proc"):
            if pid.isdigit() and any(a.startswith(mine) for a in cmdline(int(pid))):
                os.kill(int(pid), signal.SIGKILL)

    def undo(self):
        """Everything goes through the cloud: the deployments, the moved manager (removed
        from the estate: its VI stops), the agent at the branch."""
        cloud = self.cloud
        if cloud.proc.poll() is None:
            cloud.undeploy_all()
            wait_for(lambda: self.b_vnfs() == [], 30, 0.2, "the branch's VIs gone")
            b = self.b
            if b.proc and b.proc.poll() is None and "--vim-agent" in cmdline(b.proc.pid):
                cloud.ok("DELETE", "/v0/managers/" + self.mgr)  # it runs in the cloud
                wait_for(lambda: cloud.cgroups(managers=True) == [], 30, 0.2,
                         "the moved manager's VI gone")
        b = self.b
        if b.proc and b.proc.poll() is None and "--vim-agent" in cmdline(b.proc.pid):
            b.proc.send_signal(signal.SIGTERM)
            self.assertEqual(b.proc.wait(timeout=60), 0, b.log()[-3000:])
            b.check_sanitizers()
            b.proc = None

    def b_vnfs(self):
        return [p for p in self.b.cgroups()]

    def moved(self, move):
        """The moved manager's own REST API (the branch manager's admin token, the cloud's
        certificate)."""
        m = copy.copy(self.b)
        m.url, m.tls, m.proc = "https://127.0.0.1:%d" % move["port"], self.cloud.tls, None
        return m

    def moved_log(self):
        try:
            with open(os.path.join(self.cloud.dir, "managers", self.mgr, "vnfmd.log"),
                      "rb") as f:
                return f.read().decode(errors="replace")
        except OSError as e:
            return str(e)

    def nft(self):
        return self.b.on_host("nft", "list", "table", "ip", "vnfm_ep_" + self.b.tag,
                              capture_output=True, text=True).stdout

    def move_state(self):
        return (manager_of(self.cloud, self.SITE) or {}).get("move") or {}

    def deploy(self, name):
        """A VNF at the branch, deployed through the cloud: its VI at the branch."""
        self.cloud.onboard(vnfd("mm-web"))
        op = self.cloud.ok("POST", "/v0/deployments", {"name": name, "vnfd": "mm-web",
                                                        "site": self.SITE}, expect=(202,))
        self.assertEqual(self.cloud.wait_op(op["id"])["state"], "completed")
        [vi] = self.b.deployment(name)["vis"]
        return vi

    def back_as_it_was(self, name, vi, branch_pid):
        """The branch manager started again as it was: the same process, taking requests,
        with its VNF as it was, and nothing of the move left in the cloud."""
        b = self.b

        def takes_requests():
            try:
                return b.post("/v0/deployments/nope/heal", {})[0] == 404
            except OSError:  # the agent's process execs the manager again meanwhile (CI117)
                return False

        wait_for(lambda: "starts again as it was" in b.log(), 60, 0.1, "the branch told")
        wait_for(lambda: "--vim-agent" not in cmdline(branch_pid) and b.healthy() and
                 takes_requests(), 60, 0.2, "the branch manager back")
        self.assertEqual(b.proc.pid, branch_pid)
        wait_for(lambda: (manager_of(self.cloud, self.SITE) or {}).get("state") == "active", 60,
                 0.2, "the branch manager active again")
        [now] = b.deployment(name)["vis"]
        self.assertEqual((now["id"], now["pid"]), (vi["id"], vi["pid"]))
        self.assertEqual(self.cloud.cgroups(managers=True), [])


class ManagerMoveTest(MoveBase):

    def test_the_branch_manager_moves_to_the_cloud(self):
        cloud, b = self.cloud, self.b
        vi = self.deploy("w1")
        branch_pid = b.proc.pid
        # bad input: another site, its own while it runs there, an unknown manager; nothing
        # changes
        st, err = cloud.post("/v0/managers/%s/move" % self.mgr, {"site": "nowhere"})[:2]
        self.assertEqual((st, err.get("field")), (422, "site"), err)
        st, err = cloud.post("/v0/managers/%s/move" % self.mgr, {"site": self.SITE})[:2]
        self.assertEqual(st, 409, err)
        self.assertIn("it runs at its branch already", err["message"])
        st = cloud.post("/v0/managers/nope/move", {"site": "cloud"})[0]
        self.assertEqual(st, 404)
        self.assertEqual(self.move_state(), {})
        # the move, from the CLI, stage by stage
        out = cloud.ctl("manager", "move", self.mgr, "--site", "cloud", "--wait", "-o", "json",
                        timeout=200)
        self.assertEqual(out.returncode, 0, out.stderr + b.log()[-3000:] + self.moved_log())
        done = json.loads(out.stdout)
        self.assertEqual(done["state"], "completed", json.dumps(done, indent=1))
        for line in ("snapshot          completed", "start             completed",
                     "handover          completed", "move completed"):
            self.assertIn(line, out.stderr)
        self.assertEqual(self.move_state()["state"], "completed")
        show = cloud.ctl("manager", "show", self.mgr)  # the move, for the operator
        self.assertEqual(show.returncode, 0, show.stderr)
        self.assertRegex(show.stdout, r"move\.to: +cloud\nmove\.state: +completed\n")
        self.assertEqual([(s["name"], s["result"]) for s in done["stages"]],
                         [("snapshot", "completed"), ("start", "completed"),
                          ("handover", "completed")])
        # the branch's process is its site's VIM agent now, dialing the moved manager
        self.assertEqual(b.proc.pid, branch_pid)
        self.assertIn("--vim-agent", cmdline(branch_pid))
        # the moved manager runs on the cloud's host (its network namespace, not the branch's)
        moved = done["pid"]
        self.assertTrue(pid_alive(moved))
        self.assertEqual(netns_of(moved), netns_of(os.getpid()))
        self.assertNotEqual(netns_of(branch_pid), netns_of(moved))
        m = manager_of(cloud, self.SITE)
        self.assertEqual((m["id"], m["state"], m["pid"]), (self.mgr, "active", moved))
        # the VNF was adopted through the agent, not made again
        m2 = self.moved(done)
        self.assertEqual(m2.get("/v0/sites/" + self.SITE)[1]["agent"]["connected"], True)
        wait_for(lambda: "adopted running VNF process %d" % vi["pid"] in self.moved_log(), 30,
                 0.1, "w1 adopted by the moved manager")
        [now] = m2.deployment("w1")["vis"]
        self.assertEqual((now["id"], now["pid"], now["state"]),
                         (vi["id"], vi["pid"], "running"))
        self.assertTrue(pid_alive(vi["pid"]))
        # the manager in the cloud manages the branch's VIs through the agent: a scale out
        # makes a VI at the branch (in its namespace), a killed VNF is healed there
        op = cloud.ok("POST", "/v0/deployments/w1/scale", {"vdu": "web", "count": 2},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"], timeout=90)["state"], "completed")
        vis = wait_for(lambda: (lambda d: d["vis"] if len(d["vis"]) == 2 else None)(
            m2.deployment("w1")), 30, 0.2, "two VIs")
        for v in vis:
            self.assertTrue(pid_alive(v["pid"]))
            self.assertNotEqual(netns_of(v["pid"]), netns_of(os.getpid()))
        # the service endpoint at the branch follows, set by the agent at the moved
        # manager's word, and serves
        ep = cloud.deployment("w1")["service_endpoint"]
        wait_for(lambda: all(v["ip"] in self.nft() for v in vis), 30, 0.2,
                 "the endpoint's table with both VIs")
        addr, port = ep.rsplit(":", 1)
        for _ in range(4):
            out = subprocess.run(self.wan.inside("curl", "-s", "-m", "5", "http://%s/" % ep),
                                 capture_output=True, text=True).stdout
            self.assertIn("hello", out)
        os.kill(vi["pid"], signal.SIGKILL)
        wait_for(lambda: all(v.get("pid") not in (None, vi["pid"]) and v["state"] == "running"
                             for v in m2.deployment("w1")["vis"]), 60, 0.2, "w1 healed")
        # a manager started again on the branch's data dir is refused: its agent runs there
        p = subprocess.run(self.wan.inside(VNFMD, "--data-dir", b.dir, "--role", "local",
                                           "--site", self.SITE),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("moved to the cloud", p.stderr)
        # a moved manager killed -9 is started again by the cloud; it finds its VIs
        before = sorted(v["pid"] for v in m2.deployment("w1")["vis"])
        os.kill(moved, signal.SIGKILL)
        again = wait_for(lambda: (lambda m: m if m.get("pid") not in (None, moved) and
                                  m.get("restarts") else None)(self.move_state()), 60, 0.2,
                         "the moved manager started again")
        wait_for(lambda: (manager_of(cloud, self.SITE) or {}).get("pid") == again["pid"], 60,
                 0.2, "its reports")
        wait_for(lambda: sorted(v.get("pid") or 0 for v in m2.deployment("w1")["vis"]) == before,
                 60, 0.2, "the VIs adopted again")
        # back to its branch (once its agent is there again: the moved manager refuses it
        # before, saying so): the same process there is its manager again, with what the
        # manager did in the cloud (the second VI, the healed one), its VNFs not made again
        m2 = self.moved(again)
        wait_for(lambda: m2.get("/v0/sites/" + self.SITE)[1]["agent"]["connected"], 30, 0.2,
                 "the agent with the restarted moved manager")
        out = cloud.ctl("manager", "move", self.mgr, "--site", self.SITE, "--wait", "-o", "json",
                        timeout=200)
        self.assertEqual(out.returncode, 0, out.stderr + b.log()[-3000:] + self.moved_log())
        back = json.loads(out.stdout)
        self.assertEqual((back["state"], back["to"]), ("completed", self.SITE),
                         json.dumps(back, indent=1))
        self.assertEqual([(s["name"], s["result"]) for s in back["stages"]],
                         [("snapshot", "completed"), ("handover", "completed")])
        self.assertEqual(b.proc.pid, branch_pid)
        wait_for(lambda: b.healthy(), 30, 0.2, "the branch manager back")
        self.assertNotIn("--vim-agent", cmdline(branch_pid))
        m = manager_of(cloud, self.SITE)
        self.assertEqual((m["id"], m["state"], m["pid"]), (self.mgr, "active", branch_pid))
        wait_for(lambda: cloud.cgroups(managers=True) == [] and not pid_alive(again["pid"]), 30,
                 0.2, "the manager in the cloud stopped")
        self.assertEqual(sorted(v["pid"] for v in b.deployment("w1")["vis"]), before)
        self.assertEqual(b.get("/v0/sites/" + self.SITE)[1]["driver"], "proc")
        self.assertFalse(os.path.exists(os.path.join(b.dir, "moved.json")))
        # it runs its site again: a scale in through the cloud, done at the branch
        op = cloud.ok("POST", "/v0/deployments/w1/scale", {"vdu": "web", "count": 1},
                      expect=(202,))
        self.assertEqual(cloud.wait_op(op["id"], timeout=90)["state"], "completed")
        [left] = b.deployment("w1")["vis"]
        self.assertIn(left["pid"], before)

    def test_the_cloud_killed_during_a_move(self):
        """kill -9 of the cloud VNFM while the move runs, and its restart: the move ends,
        completed or rolled back, with exactly one manager of the branch: the moved one with
        the agent at the branch, or the branch manager as it was; the VNF runs on. A
        completed one is moved back with the cloud killed -9 again: it ends completed."""
        cloud, b = self.cloud, self.b
        vi = self.deploy("w3")
        branch_pid = b.proc.pid
        cloud.ok("POST", "/v0/managers/%s/move" % self.mgr, {"site": "cloud"}, expect=(202,))
        # killed in its start (the moved manager's VI being made) when the test sees it
        at = wait_for(lambda: (lambda m: m if m.get("stage") != "snapshot" else None)(
            self.move_state()), 60, 0.01, "the move past its snapshot")
        cloud.kill9()
        cloud.restart()
        done = wait_for(lambda: (lambda m: m if m.get("state") not in (None, "processing")
                                 else None)(self.move_state()), 200, 0.2, "the move's end")
        self.assertIn(done["state"], ("completed", "rolled_back"), json.dumps(done, indent=1))
        self.assertEqual(b.proc.pid, branch_pid)
        self.assertTrue(pid_alive(vi["pid"]))
        if done["state"] == "completed":
            self.assertIn("--vim-agent", cmdline(branch_pid))
            self.assertEqual({os.path.basename(p) for p in cloud.cgroups(managers=True)},
                             {done["vi"]})
            wait_for(lambda: "adopted running VNF process %d" % vi["pid"] in self.moved_log(),
                     60, 0.2, "w3 adopted by the moved manager")
            # and back, the cloud killed -9 as the move back begins: it ends completed,
            # the manager at its branch (same process), the one in the cloud stopped
            m2 = self.moved(done)
            wait_for(lambda: m2.get("/v0/sites/" + self.SITE)[1]["agent"]["connected"], 30,
                     0.2, "the agent connected")
            cloud.ok("POST", "/v0/managers/%s/move" % self.mgr, {"site": self.SITE},
                     expect=(202,))
            cloud.kill9()
            cloud.restart()
            back = wait_for(lambda: (lambda m: m if m.get("back") and m.get("state") !=
                                     "processing" else None)(self.move_state()), 200, 0.2,
                            "the move back's end")
            self.assertEqual(back["state"], "completed", json.dumps(back, indent=1))
            wait_for(lambda: (manager_of(cloud, self.SITE) or {}).get("pid") == branch_pid and
                     cloud.cgroups(managers=True) == [], 60, 0.2,
                     "the branch manager reporting, the one in the cloud stopped")
            self.assertNotIn("--vim-agent", cmdline(branch_pid))
            self.assertEqual(b.deployment("w3")["vis"][0]["pid"], vi["pid"])
        else:
            self.back_as_it_was("w3", vi, branch_pid)
        print("\n(the move %s after the cloud's kill -9 in its %s stage)" % (
            done["state"], at["stage"]))

    def test_a_move_that_cannot_start_rolls_back(self):
        """The moved manager dies each time it starts (killed here): the cloud starts it
        again on another port, up to 3 times, then the move rolls back and the branch
        manager starts again as it was (the same process), with its VNF."""
        cloud, b = self.cloud, self.b
        vi = self.deploy("w2")
        branch_pid = b.proc.pid
        cloud.ok("POST", "/v0/managers/%s/move" % self.mgr, {"site": "cloud"}, expect=(202,))
        killed = set()

        def kill_each():
            m = self.move_state()
            if m.get("state") != "processing":
                return m
            if m.get("pid") and m["pid"] not in killed and pid_alive(m["pid"]):
                os.kill(m["pid"], signal.SIGKILL)
                killed.add(m["pid"])
            return None

        done = wait_for(kill_each, 150, 0.02, "the move's end")
        self.assertEqual(done["state"], "rolled_back", json.dumps(done, indent=1))
        self.assertEqual(done["stages"][-1]["name"], "rollback")
        self.assertIn("before it had its VIs", done["error"])
        self.assertEqual(done.get("starts", 1), len(killed), (done, killed))
        print("\n(the moved manager started %d times: %s)" % (len(killed), done["error"]))
        self.back_as_it_was("w2", vi, branch_pid)


class StageDeadlineTest(MoveBase):
    CLOUD_ARGS = ("--fed-move-stage-s", "8")

    def test_a_stage_that_does_not_end_rolls_back(self):
        """The WAN cut once the moved manager starts: the branch cannot hear of the handover
        nor reach the moved manager, so the stage does not end within --fed-move-stage-s;
        the move rolls back (the moved manager stopped). With the WAN back the branch hears
        of it and starts again as it was."""
        vi = self.deploy("w4")
        branch_pid = self.b.proc.pid
        self.cloud.ok("POST", "/v0/managers/%s/move" % self.mgr, {"site": "cloud"},
                      expect=(202,))
        wait_for(lambda: self.move_state().get("stage") != "snapshot", 60, 0.01,
                 "the move past its snapshot")
        self.wan.down()
        try:
            done = wait_for(lambda: (lambda m: m if m.get("state") != "processing" else None)(
                self.move_state()), 60, 0.2, "the move's end")
            self.assertEqual(done["state"], "rolled_back", json.dumps(done, indent=1))
            self.assertRegex(done["error"], r"^stage (start|handover) did not end within 8 s$")
            self.assertEqual(self.cloud.cgroups(managers=True), [])
        finally:
            self.wan.up()
        self.back_as_it_was("w4", vi, branch_pid)

if __name__ == "__main__":
    unittest.main()


class PoolMovesManagerTest(MoveBase):
    """The pool chooses the branch's own manager (docs/FEDERATION.md "The branch pool",
    count_manager; seed para 1011): a branch whose manager takes most of its memory is
    overloaded; moving its VNF would not do, moving its manager does: the decision moves
    the manager to the cloud, and the branch's load falls under the threshold."""
    SITE = "bpm"

    def test_the_pool_moves_the_manager(self):
        cloud, b = self.cloud, self.b
        vi = self.deploy("w5")
        pool = "/v0/sites/%s/pool" % self.SITE
        cloud.ok("PUT", pool, {"overload": 1000, "count_manager": True})
        load = wait_for(lambda: (lambda p: p["load"] if (p.get("load") or {}).get(
            "manager", {}).get("counted") else None)(cloud.get(pool)[1]),
            30, 0.2, "the manager's own use counted in the branch's load")
        mgr_mb = load["manager"]["used"]["memory_mb"]
        vis_mb = load["parts"]["vis"]["used"]["memory_mb"]
        self.assertAlmostEqual(load["used"]["memory_mb"], vis_mb + mgr_mb, delta=mgr_mb * 0.2)
        self.assertGreater(mgr_mb, 2 * vis_mb, load)
        # a capacity where the manager and the VNF are 80% of the memory: the VNF's move
        # alone leaves the branch over 0.5, the manager's alone brings it under
        site = b.get("/v0/sites/" + self.SITE)[1]
        cap = max(int((mgr_mb + vis_mb) / 0.8) + 1, site["allocated"]["memory_mb"] + 16)
        b.ok("PUT", "/v0/sites/" + self.SITE, {"capacity": {"memory_mb": cap}})
        cloud.ok("PUT", pool, {"overload": 0.5, "count_manager": True, "for_reports": 2,
                               "cooldown_s": 0})
        d = wait_for(lambda: next((x for x in cloud.get("/v0/decisions?rule=pool")[1][
            "decisions"] if x["state"] in ("completed", "failed")), None), 120, 0.2,
            "the pool's decision ended")
        self.assertEqual(d["state"], "completed", json.dumps(d, indent=1) + self.moved_log())
        self.assertEqual([(x.get("manager"), x["to"]) for x in d["chosen"]],
                         [(self.mgr, "cloud")], d)
        self.assertIn("w5", [x.get("deployment") for x in d["rejected"]])
        move = self.move_state()
        self.assertEqual((move["state"], move["decision"], move["to"]),
                         ("completed", d["id"], "cloud"))
        # the branch keeps its VNF (the same process) under the agent its manager became,
        # and its load, without the manager, is under the threshold
        self.assertIn("--vim-agent", cmdline(b.proc.pid))
        self.assertTrue(pid_alive(vi["pid"]))
        after = wait_for(lambda: (lambda p: p["load"] if p.get("load") and "manager" not in
                                  p["load"] and p["load"]["value"] < 0.5 else None)(
                                      cloud.get(pool)[1]), 30, 0.2,
                         "the branch's load without its manager")
        self.assertLess(after["memory"], 0.5, after)
        # the branch quiet for the move-back window: the pool brings the manager back (its
        # use, measured before it left, keeps the branch under the overload), the same
        # process at the branch, its VNF as it was
        branch_pid = b.proc.pid
        cloud.ok("PUT", pool, {"overload": 0.95, "underload": 0.6, "count_manager": True,
                               "for_reports": 2, "cooldown_s": 0, "move_back": {"after_s": 1}})
        back = wait_for(lambda: next((x for x in cloud.get("/v0/decisions?rule=pool")[1][
            "decisions"] if x["action"] == "move_back" and x["state"] in ("completed",
                                                                          "failed")), None),
            120, 0.2, "the pool's move back ended")
        self.assertEqual(back["state"], "completed", json.dumps(back, indent=1) + b.log()[-3000:])
        self.assertEqual([(x.get("manager"), x["to"]) for x in back["chosen"]],
                         [(self.mgr, self.SITE)], back)
        move = self.move_state()
        self.assertEqual((move["state"], move["decision"], move["to"], move["back"]),
                         ("completed", back["id"], self.SITE, True))
        wait_for(lambda: cloud.cgroups(managers=True) == [], 30, 0.2,
                 "the manager in the cloud stopped")
        self.assertEqual(manager_of(cloud, self.SITE)["pid"], branch_pid)
        self.assertNotIn("--vim-agent", cmdline(branch_pid))
        [now] = b.deployment("w5")["vis"]
        self.assertEqual((now["id"], now["pid"]), (vi["id"], vi["pid"]))
        # back, its use counts in the branch's load again, under the overload: it stays
        wait_for(lambda: (cloud.get(pool)[1].get("load") or {}).get("manager"), 30, 0.2,
                 "the manager's use counted again")
        # moved again, by the operator, then taken back by hand (the agent stopped,
        # moved.json removed, the manager started there): the cloud sees it report from
        # its branch and stops its copy (the pool told not to move it: its branch is full)
        cloud.ok("PUT", pool, {"overload": 1000, "count_manager": True})
        out = cloud.ctl("manager", "move", self.mgr, "--site", "cloud", "--wait", "-o", "json",
                        timeout=200)
        self.assertEqual(out.returncode, 0, out.stderr + b.log()[-3000:] + self.moved_log())
        b.proc.send_signal(signal.SIGTERM)
        self.assertEqual(b.proc.wait(timeout=60), 0, b.log()[-3000:])
        os.unlink(os.path.join(b.dir, "moved.json"))
        b.start()
        wait_for(lambda: self.move_state().get("state") == "returned" and
                 cloud.cgroups(managers=True) == [], 60, 0.2,
                 "the copy in the cloud stopped, its move returned")
        self.assertEqual(manager_of(cloud, self.SITE)["pid"], b.proc.pid)
