"""Every VNF process the manager started is reaped, whatever stopped it
(issue 10 finding 18: FORCEFUL terminations of multi-threaded VNFs left
<defunct> children of vnfmd behind). After each kind of stop, native and
SOL003, the test counts vnfmd's zombie children: there must be none."""
import os
import signal

from vnfm import DaemonTest, wait_for
from test_deploy import demo
from test_sol003 import SolClient


def threaded(vnfd_id):
    """vnf-demo with eight threads: SIGKILL leaves its leader a zombie until
    the last thread has gone."""
    return demo(vnfd_id, command=["vnf-demo", "--listen", "{{ip}}:8080", "--threads", "8"],
                scaling={"min": 1, "max": 3})


class ReapTest(DaemonTest):

    def zombies(self):
        """vnfmd's children that ended and were not reaped."""
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == self.d.proc.pid:
                found.append(int(pid))
        return found

    def assertReaped(self, what):
        self.assertEqual(self.zombies(), [], "zombies of vnfmd after " + what)

    def vis(self, dep):
        return self.d.deployment(dep)["vis"]

    def test_native_stops(self):
        d = self.d
        d.onboard(threaded("reap-native"))
        d.deploy("rn", "reap-native")
        op = d.ok("POST", "/v0/deployments/rn/scale", {"vdu": "web", "count": 3})
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        op = d.ok("POST", "/v0/deployments/rn/scale", {"vdu": "web", "count": 1})
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertReaped("scale in")
        [vi] = self.vis("rn")
        op = d.ok("POST", "/v0/deployments/rn/heal", {"vi": vi["id"], "policy": "reboot"})
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertReaped("heal (reboot)")
        op = d.ok("POST", "/v0/deployments/rn/heal", {"vi": vi["id"], "policy": "redeploy"})
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertReaped("heal (redeploy)")
        # killed by someone else: the exit watch, or the restart that follows, reaps it
        [vi] = self.vis("rn")
        os.kill(vi["pid"], signal.SIGKILL)
        wait_for(lambda: self.vis("rn")[0]["pid"] != vi["pid"] and
                 not d.deployment("rn")["operation"], 30, what="the restart")
        wait_for(lambda: not self.zombies(), 5, what="the killed VNF reaped")
        op = d.ok("DELETE", "/v0/deployments/rn", expect=(202,))
        self.assertEqual(d.wait_op(op["id"])["state"], "completed")
        self.assertReaped("undeploy")

    def test_sol003_stops(self):
        d, sol = self.d, SolClient(self.d)
        d.onboard(threaded("reap-sol"))
        for stop in ("FORCEFUL", "GRACEFUL"):
            iid = sol.create("reap-sol")["id"]
            sol.run(iid, "instantiate", {"flavourId": "default"})
            sol.run(iid, "operate", {"changeStateTo": "STOPPED", "stopType": stop,
                                     "gracefulStopTimeout": 1})
            self.assertReaped("operate STOPPED " + stop)
            sol.run(iid, "operate", {"changeStateTo": "STARTED"})
            sol.run(iid, "terminate", {"terminationType": stop,
                                       "gracefulTerminationTimeout": 1})
            self.assertReaped("terminate " + stop)
            sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))
