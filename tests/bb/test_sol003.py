"""ETSI SOL003 VNF lifecycle management (F6), driven by a scripted SOL003
client (urllib) against the real daemon with real VNFs: every task, the
operation occurrence states (FAILED_TEMP -> retry, -> rollback, -> fail,
cancel), subscriptions with a real HTTP listener receiving the
notifications, ProblemDetails for bad input, and crash safety."""
import http.client
import http.server
import json
import os
import signal
import subprocess
import threading
import unittest
import urllib.request

from vnfm import Daemon, DaemonTest, free_port, http_get, pid_alive, wait_for
from test_deploy import demo, script

V1 = "/vnflcm/v1"
H1 = {"Version": "1.3.0"}
ENDED = ("COMPLETED", "FAILED_TEMP", "FAILED", "ROLLED_BACK")


def gate(d, name):
    """A custom action that runs until the test opens it (creates the file
    it returns, at most 30 s): the test acts while the operation is surely
    in that stage, however slow the machine."""
    opened = os.path.join(d.dir, name + ".open")
    return script(os.path.join(d.scripts, name + ".sh"),
                  "for i in $(seq 600); do [ -e %s ] && exit 0; sleep 0.05; done\n" % opened), opened


def sol_vnfd(vnfd_id="sol-web", **vdu_patch):
    """demo-web with a version, a vendor, an aspect of 1-4 and a flavour."""
    v = demo(vnfd_id, **vdu_patch)
    v.update(name="Sol web", vendor="vnfm tests", version="2.1")
    v["vdus"][0]["scaling"] = {"min": 1, "max": 4}
    v["flavours"] = [{"id": "large", "description": "two to four instances",
                      "scaling": {"web": {"min": 2, "max": 4}},
                      "instantiation_levels": {"two": {"web": 2}, "four": {"web": 4}},
                      "default_level": "two"}]
    v["restart"] = {"policy": "never"}  # an NFVO heals it (restarts on exit: test_heal)
    return v


class Listener:
    """A real notification endpoint: GET answers get_status (SOL013 test of
    the endpoint), POSTs are recorded (the first fail_posts get a 500)."""

    def __init__(self, get_status=204, fail_posts=0):
        self.got, self.gets, self.auth = [], 0, []
        me = self
        self.get_status, self.fail_posts = get_status, fail_posts

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                me.gets += 1
                self.send_response(me.get_status)
                self.end_headers()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                me.auth.append(self.headers.get("Authorization"))
                if me.fail_posts > 0:
                    me.fail_posts -= 1
                    self.send_response(500)
                else:
                    me.got.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.url = "http://127.0.0.1:%d/notify" % self.port
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Hook)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()

    def for_op(self, occ_id):
        return [(n["notificationStatus"], n["operationState"]) for n in self.got
                if n.get("vnfLcmOpOccId") == occ_id]

    def of_type(self, kind, vnf_id=None):
        return [n for n in self.got if n["notificationType"] == kind and
                (vnf_id is None or n["vnfInstanceId"] == vnf_id)]


class SolClient:
    """What an NFVO would do, over /vnflcm/v1."""

    def __init__(self, d, prefix=V1, headers=H1):
        self.d, self.prefix, self.headers = d, prefix, headers

    def call(self, method, path, body=None, **kw):
        headers = dict(self.headers, **kw.pop("headers", {}))
        return self.d.request(method, self.prefix + path, body, headers=headers, **kw)

    def ok(self, method, path, body=None, expect=(200, 201, 202, 204)):
        status, doc, hdrs = self.call(method, path, body)
        assert status in expect, "%s %s -> %s %s" % (method, path, status, doc)
        return doc, hdrs

    def create(self, vnfd="sol-web", **kw):
        doc, hdrs = self.ok("POST", "/vnf_instances", dict(vnfdId=vnfd, **kw), expect=(201,))
        assert hdrs["Location"].endswith("/vnf_instances/" + doc["id"]), hdrs
        return doc

    def task(self, inst, name, body=None, expect=(202,)):
        """Starts a task; returns the operation occurrence id."""
        _, hdrs = self.ok("POST", "/vnf_instances/%s/%s" % (inst, name),
                          body if body is not None else {}, expect=expect)
        return hdrs["Location"].rsplit("/", 1)[1]

    def occ(self, occ_id):
        return self.ok("GET", "/vnf_lcm_op_occs/" + occ_id)[0]

    def wait(self, occ_id, states=ENDED, timeout=60):
        return wait_for(lambda: (lambda o: o if o["operationState"] in states else None)(
            self.occ(occ_id)), timeout, 0.05, "op occ %s in %s" % (occ_id, states))

    def run(self, inst, name, body=None, state="COMPLETED"):
        occ = self.wait(self.task(inst, name, body))
        assert occ["operationState"] == state, json.dumps(occ, indent=1)
        return occ

    def instance(self, inst):
        return self.ok("GET", "/vnf_instances/" + inst)[0]

    def vnfcs(self, inst):
        return self.instance(inst)["instantiatedVnfInfo"]["vnfcResourceInfo"]


class Sol003Test(DaemonTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sol = SolClient(cls.d)
        cls.d.onboard(sol_vnfd())

    def assertProblem(self, resp, status, detail=None, field=None):
        code, doc, hdrs = resp
        self.assertEqual(code, status, doc)
        self.assertEqual(hdrs["Content-Type"], "application/problem+json", hdrs)
        self.assertEqual(doc["status"], status)
        self.assertTrue(doc["detail"])
        self.assertTrue(doc["title"])
        if detail:
            self.assertIn(detail, doc["detail"])
        if field:
            self.assertEqual(doc.get("field"), field, doc)
        return doc

    def subscribe(self, listener, **body):
        body.setdefault("callbackUri", listener.url)
        doc, hdrs = self.sol.ok("POST", "/subscriptions", body, expect=(201,))
        self.addCleanup(self.sol.call, "DELETE", "/subscriptions/" + doc["id"])
        return doc

    def answers(self, vnfc, text=None):
        status, body = http_get("http://%s:8080/" % vnfc["metadata"]["ip"])
        return status == 200 and (text is None or text in body)

    def host_clean(self):
        self.assertEqual(self.d.netns(), [])
        self.assertEqual(self.d.cgroups(), [])

    # ---- the whole lifecycle, with notifications ----

    def test_every_task_with_notifications(self):
        hook = Listener()
        self.addCleanup(hook.close)
        sub = self.subscribe(hook)
        self.assertEqual(hook.gets, 1)  # the endpoint was tested (SOL013)
        self.assertEqual(sub["callbackUri"], hook.url)
        sol = self.sol

        # create: NOT_INSTANTIATED, its identity from the catalogue's VNFD
        inst = sol.create(vnfInstanceName="web-a", vnfInstanceDescription="first",
                          metadata={"owner": "noc"})
        iid = inst["id"]
        self.assertEqual((inst["instantiationState"], inst["vnfdId"], inst["vnfProvider"],
                          inst["vnfProductName"], inst["vnfSoftwareVersion"]),
                         ("NOT_INSTANTIATED", "sol-web", "vnfm tests", "Sol web", "2.1"))
        self.assertIn("instantiate", inst["_links"])
        self.assertIn(iid, [i["id"] for i in sol.ok("GET", "/vnf_instances")[0]])
        self.assertEqual(self.d.deployment(iid)["status"], "not_instantiated")
        wait_for(lambda: hook.of_type("VnfIdentifierCreationNotification", iid), 10)

        # modify (PATCH, merge patch): a MODIFY_INFO occurrence
        _, hdrs = sol.ok("PATCH", "/vnf_instances/" + iid,
                         {"vnfInstanceName": "web-b", "metadata": {"owner": None, "tier": "1"}},
                         expect=(202,))
        occ = sol.wait(hdrs["Location"].rsplit("/", 1)[1])
        self.assertEqual((occ["operation"], occ["operationState"]), ("MODIFY_INFO", "COMPLETED"))
        inst = sol.instance(iid)
        self.assertEqual((inst["vnfInstanceName"], inst["metadata"]), ("web-b", {"tier": "1"}))

        # instantiate: STARTING -> PROCESSING -> COMPLETED; the VNF answers
        occ_id = sol.task(iid, "instantiate", {"flavourId": "default",
                                               "additionalParams": {"greeting": "ciao"}})
        occ = sol.wait(occ_id)
        self.assertEqual((occ["operation"], occ["operationState"], occ["isAutomaticInvocation"]),
                         ("INSTANTIATE", "COMPLETED", False))
        self.assertEqual(occ["operationParams"]["flavourId"], "default")
        self.assertEqual(occ["resourceChanges"]["affectedVnfcs"][0]["changeType"], "ADDED")
        self.assertEqual(
            occ["resourceChanges"]["affectedVnfcs"][0]["computeResource"]["vimConnectionId"],
            "local")
        inst = sol.instance(iid)
        info = inst["instantiatedVnfInfo"]
        self.assertEqual((inst["instantiationState"], info["flavourId"], info["vnfState"]),
                         ("INSTANTIATED", "default", "STARTED"))
        self.assertEqual(info["scaleStatus"], [{"aspectId": "web", "vnfdId": "sol-web",
                                                "scaleLevel": 0}])
        self.assertEqual(info["maxScaleLevels"][0]["scaleLevel"], 3)
        [vnfc] = info["vnfcResourceInfo"]
        self.assertTrue(self.answers(vnfc, "ciao"))
        ip = info["extCpInfo"][0]["cpProtocolInfo"][0]["ipOverEthernet"]["ipAddresses"][0]
        self.assertEqual(ip["addresses"], [vnfc["metadata"]["ip"]])
        wait_for(lambda: len(hook.for_op(occ_id)) == 3, 10, what="instantiate notifications")
        self.assertEqual(hook.for_op(occ_id), [("START", "STARTING"), ("RESULT", "PROCESSING"),
                                               ("RESULT", "COMPLETED")])
        n = [x for x in hook.got if x.get("vnfLcmOpOccId") == occ_id][-1]
        self.assertEqual(n["subscriptionId"], sub["id"])
        self.assertTrue(n["_links"]["vnfLcmOpOcc"]["href"].endswith(occ_id))
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                    {"flavourId": "default"}), 409, "INSTANTIATED")
        self.assertProblem(sol.call("DELETE", "/vnf_instances/" + iid), 409)

        # scale out and in by the aspect (one per VDU)
        sol.run(iid, "scale", {"type": "SCALE_OUT", "aspectId": "web", "numberOfSteps": 2})
        self.assertEqual(len(sol.vnfcs(iid)), 3)
        self.assertTrue(all(self.answers(v) for v in sol.vnfcs(iid)))
        self.assertEqual(sol.instance(iid)["instantiatedVnfInfo"]["scaleStatus"][0]["scaleLevel"],
                         2)
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/scale" % iid,
                                    {"type": "SCALE_OUT", "aspectId": "web", "numberOfSteps": 2}),
                           400, field="numberOfSteps")
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/scale" % iid,
                                    {"type": "SCALE_IN", "aspectId": "db"}), 400,
                           field="aspectId")
        occ = sol.run(iid, "scale", {"type": "SCALE_IN", "aspectId": "web"})
        self.assertEqual([c["changeType"] for c in occ["resourceChanges"]["affectedVnfcs"]],
                         ["REMOVED"])
        self.assertEqual(len(sol.vnfcs(iid)), 2)

        # scale to level by scaleInfo
        sol.run(iid, "scale_to_level", {"scaleInfo": [{"aspectId": "web", "scaleLevel": 0}]})
        [vnfc] = sol.vnfcs(iid)

        # heal after the VNF process is killed
        os.kill(vnfc["metadata"]["pid"], signal.SIGKILL)
        wait_for(lambda: sol.instance(iid)["instantiatedVnfInfo"]["vnfcInfo"][0]["vnfcState"] ==
                 "STOPPED", 10, what="exit noticed")
        sol.run(iid, "heal", {"vnfcInstanceId": [vnfc["id"]], "cause": "process died"})
        [healed] = sol.vnfcs(iid)
        self.assertNotEqual(healed["metadata"]["pid"], vnfc["metadata"]["pid"])
        self.assertEqual(healed["metadata"]["restarts"], 1)
        self.assertTrue(self.answers(healed, "ciao"))
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/heal" % iid,
                                    {"vnfcInstanceId": ["nope"]}), 400, field="vnfcInstanceId")

        # operate: stop (process gone, namespace kept) and start
        sol.run(iid, "operate", {"changeStateTo": "STOPPED", "stopType": "GRACEFUL",
                                 "gracefulStopTimeout": 2})
        self.assertEqual(sol.instance(iid)["instantiatedVnfInfo"]["vnfState"], "STOPPED")
        self.assertFalse(pid_alive(healed["metadata"]["pid"]))
        self.assertEqual(self.d.netns(), ["vnfm-%s-%s" % (self.d.tag, healed["id"])])
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/operate" % iid,
                                    {"changeStateTo": "STOPPED"}), 409)
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/scale" % iid,
                                    {"type": "SCALE_OUT", "aspectId": "web"}), 409)
        sol.run(iid, "operate", {"changeStateTo": "STARTED"})
        [started] = sol.vnfcs(iid)
        self.assertEqual(sol.instance(iid)["instantiatedVnfInfo"]["vnfState"], "STARTED")
        self.assertTrue(self.answers(started, "ciao"))

        # change flavour: "large" is 2-4 instances, its default level two
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/change_flavour" % iid,
                                    {"newFlavourId": "huge"}), 400, field="newFlavourId")
        sol.run(iid, "change_flavour", {"newFlavourId": "large"})
        info = sol.instance(iid)["instantiatedVnfInfo"]
        self.assertEqual((info["flavourId"], len(info["vnfcResourceInfo"])), ("large", 2))
        self.assertEqual(info["maxScaleLevels"][0]["scaleLevel"], 2)
        # the flavour's bounds hold for the native API too
        self.assertEqual(self.d.post("/v0/deployments/%s/scale" % iid,
                                     {"vdu": "web", "count": 1})[0], 400)
        sol.run(iid, "scale_to_level", {"instantiationLevelId": "four"})
        self.assertEqual(len(sol.vnfcs(iid)), 4)
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/scale_to_level" % iid,
                                    {"instantiationLevelId": "six"}), 400)

        # terminate: back to NOT_INSTANTIATED, nothing left on the host
        occ_id = sol.task(iid, "terminate", {"terminationType": "GRACEFUL",
                                             "gracefulTerminationTimeout": 2})
        occ = sol.wait(occ_id)
        self.assertEqual((occ["operation"], occ["operationState"]), ("TERMINATE", "COMPLETED"))
        inst = sol.instance(iid)
        self.assertEqual(inst["instantiationState"], "NOT_INSTANTIATED")
        self.assertNotIn("instantiatedVnfInfo", inst)
        self.host_clean()

        # delete: 204, then 404; the deletion is notified
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))
        self.assertProblem(sol.call("GET", "/vnf_instances/" + iid), 404)
        wait_for(lambda: hook.of_type("VnfIdentifierDeletionNotification", iid), 10)
        # every task was notified START then RESULT, in order
        ops = [o for o in sol.ok("GET", "/vnf_lcm_op_occs?filter=(eq,vnfInstanceId,%s)" % iid)[0]]
        self.assertEqual(sorted(o["operation"] for o in ops),
                         sorted(["MODIFY_INFO", "INSTANTIATE", "SCALE", "SCALE", "SCALE_TO_LEVEL",
                                 "HEAL", "OPERATE", "OPERATE", "CHANGE_FLAVOUR", "SCALE_TO_LEVEL",
                                 "TERMINATE"]))
        for o in ops:
            try:
                wait_for(lambda: hook.for_op(o["id"])[-1:] == [("RESULT", "COMPLETED")], 10)
            except AssertionError:
                raise AssertionError("%s %s: %s" % (o["operation"], o["id"], hook.for_op(o["id"])))
            self.assertEqual(hook.for_op(o["id"])[0], ("START", "STARTING"))

    # ---- operation occurrence states ----

    def flaky_vnfd(self, vnfd_id, marker):
        """Its post_deployment action fails until marker exists."""
        act = script(os.path.join(self.d.scripts, vnfd_id + ".sh"),
                     '[ -e %s ] || { echo "waiting for %s"; exit 1; }\n' % (marker, marker))
        v = sol_vnfd(vnfd_id)
        v["lifecycle"] = {"post_deployment": [{"script": act}]}
        v["retry"] = {"attempts": 2, "backoff_ms": 20}
        self.d.onboard(v)

    def test_failed_temp_then_retry_completes(self):
        marker = os.path.join(self.d.dir, "ready-retry")
        self.flaky_vnfd("sol-flaky", marker)
        sol = self.sol
        iid = sol.create("sol-flaky")["id"]
        occ_id = sol.task(iid, "instantiate", {"flavourId": "default"})
        occ = sol.wait(occ_id)
        self.assertEqual(occ["operationState"], "FAILED_TEMP", occ)
        self.assertIn("waiting for", occ["error"]["detail"])
        self.assertEqual(sorted(occ["_links"]), ["fail", "retry", "rollback", "self",
                                                 "vnfInstance"])
        # the instance stays bound to it: another task is refused
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/terminate" % iid,
                                    {"terminationType": "FORCEFUL"}), 409)
        self.assertProblem(sol.call("POST", "/vnf_lcm_op_occs/%s/cancel" % occ_id,
                                    {"cancelMode": "GRACEFUL"}), 409)
        open(marker, "w").close()
        _, hdrs = sol.ok("POST", "/vnf_lcm_op_occs/%s/retry" % occ_id, expect=(202,))
        # the occurrence to poll, as a task's 202 has it (issue 15 item 4)
        self.assertTrue(hdrs["Location"].endswith("/vnf_lcm_op_occs/" + occ_id), hdrs)
        occ = sol.wait(occ_id)
        self.assertEqual(occ["operationState"], "COMPLETED", occ)
        self.assertNotIn("error", occ)
        [vnfc] = sol.vnfcs(iid)
        self.assertTrue(self.answers(vnfc))
        self.assertProblem(sol.call("POST", "/vnf_lcm_op_occs/%s/retry" % occ_id), 409)
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))

    def test_failed_temp_then_rollback_or_fail(self):
        self.flaky_vnfd("sol-broken", "/nonexistent/never")
        sol = self.sol
        iid = sol.create("sol-broken")["id"]
        occ_id = sol.task(iid, "instantiate", {"flavourId": "large"})
        self.assertEqual(sol.wait(occ_id)["operationState"], "FAILED_TEMP")
        self.assertEqual(len(self.d.netns()), 2)  # paused: what it made is still there
        _, hdrs = sol.ok("POST", "/vnf_lcm_op_occs/%s/rollback" % occ_id, expect=(202,))
        self.assertTrue(hdrs["Location"].endswith("/vnf_lcm_op_occs/" + occ_id), hdrs)
        occ = sol.wait(occ_id)
        self.assertEqual(occ["operationState"], "ROLLED_BACK", occ)
        self.assertEqual(occ["resourceChanges"]["affectedVnfcs"], [])
        self.assertEqual(sol.instance(iid)["instantiationState"], "NOT_INSTANTIATED")
        self.host_clean()
        # the state is named as SOL003 names it (issue 15 item 9)
        self.assertProblem(sol.call("POST", "/vnf_lcm_op_occs/%s/rollback" % occ_id), 409,
                           detail="is ROLLED_BACK: rollback needs FAILED_TEMP")

        # again, and give up: FAILED; the instance can only be terminated
        occ_id = sol.task(iid, "instantiate", {"flavourId": "default"})
        self.assertEqual(sol.wait(occ_id)["operationState"], "FAILED_TEMP")
        occ, _ = sol.ok("POST", "/vnf_lcm_op_occs/%s/fail" % occ_id, expect=(200,))
        self.assertEqual(occ["operationState"], "FAILED")
        self.assertEqual(sol.occ(occ_id)["operationState"], "FAILED")
        self.assertProblem(sol.call("POST", "/vnf_lcm_op_occs/%s/retry" % occ_id), 409)
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/scale" % iid,
                                    {"type": "SCALE_OUT", "aspectId": "web"}), 409)
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})
        self.host_clean()
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))

    def test_busy_instance_409_and_cancel(self):
        slow, opened = gate(self.d, "slow")
        v = sol_vnfd("sol-slow")
        v["lifecycle"] = {"pre_deployment": [{"script": slow}]}
        self.d.onboard(v)
        sol = self.sol
        iid = sol.create("sol-slow")["id"]
        occ_id = sol.task(iid, "instantiate", {"flavourId": "default"})
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                    {"flavourId": "default"}), 409, "busy")
        self.assertProblem(sol.call("PATCH", "/vnf_instances/" + iid, {"vnfInstanceName": "x"}),
                           409)
        self.assertProblem(sol.call("DELETE", "/vnf_instances/" + iid), 409)
        sol.wait(occ_id, ("PROCESSING",))
        sol.ok("POST", "/vnf_lcm_op_occs/%s/cancel" % occ_id, {"cancelMode": "GRACEFUL"},
               expect=(202,))
        occ = sol.occ(occ_id)
        self.assertTrue(occ["isCancelPending"] or occ["operationState"] == "FAILED_TEMP", occ)
        open(opened, "w").close()
        occ = sol.wait(occ_id)
        self.assertEqual(occ["operationState"], "FAILED_TEMP", occ)
        self.assertIn("cancelled", occ["error"]["detail"])
        self.assertFalse(occ["isCancelPending"])
        sol.ok("POST", "/vnf_lcm_op_occs/%s/rollback" % occ_id, expect=(202,))
        self.assertEqual(sol.wait(occ_id)["operationState"], "ROLLED_BACK")
        self.host_clean()
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))

    # ---- subscriptions ----

    def test_subscriptions_filters_auth_and_redelivery(self):
        sol = self.sol
        every = Listener(fail_posts=1)  # the first POST fails: it is delivered again
        only = Listener()
        other = Listener()
        for h in (every, only, other):
            self.addCleanup(h.close)
        s_every = self.subscribe(every, authentication={
            "authType": ["BASIC"], "paramsBasic": {"userName": "nfvo", "password": "s3cret"}})
        self.subscribe(only, filter={"notificationTypes": ["VnfLcmOperationOccurrenceNotification"],
                                     "operationTypes": ["INSTANTIATE"],
                                     "operationStates": ["COMPLETED"]})
        self.subscribe(other, filter={"vnfInstanceSubscriptionFilter": {"vnfdIds": ["other"]}})
        # the same again is a second subscription (201), not a 303, which
        # OpenStack's clients follow with a POST (405) (issue 15 item 1)
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=30)
        conn.request("POST", V1 + "/subscriptions", json.dumps({
            "callbackUri": every.url, "authentication": {
                "authType": ["BASIC"], "paramsBasic": {"userName": "nfvo", "password": "s3cret"}}}),
            {"Content-Type": "application/json", "Version": "1.3.0",
             "Authorization": "Bearer " + self.d.token})
        resp = conn.getresponse()
        again = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 201)
        self.assertNotEqual(again["id"], s_every["id"])
        self.assertTrue(resp.getheader("Location").endswith("/subscriptions/" + again["id"]))
        sol.ok("DELETE", "/subscriptions/" + again["id"], expect=(204,))
        self.assertEqual(sol.ok("GET", "/subscriptions/" + s_every["id"])[0]["callbackUri"],
                         every.url)
        self.assertNotIn("authentication", json.dumps(sol.ok("GET", "/subscriptions")[0]))

        iid = sol.create()["id"]
        occ_id = sol.task(iid, "instantiate", {"flavourId": "default"})
        sol.wait(occ_id)
        wait_for(lambda: len(every.for_op(occ_id)) == 3, 15, what="redelivered notifications")
        self.assertEqual(every.for_op(occ_id)[0], ("START", "STARTING"))
        self.assertEqual(set(every.auth), {"Basic bmZ2bzpzM2NyZXQ="})
        wait_for(lambda: only.for_op(occ_id), 10)
        self.assertEqual(only.for_op(occ_id), [("RESULT", "COMPLETED")])
        self.assertEqual(only.of_type("VnfIdentifierCreationNotification"), [])
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))
        wait_for(lambda: every.of_type("VnfIdentifierDeletionNotification", iid), 10)
        self.assertEqual(other.got, [])
        events = self.d.get("/v0/logs?event=notification")[1]["logs"]
        self.assertTrue(any("HTTP 500" in e["message"] for e in events), events)

        # bad subscriptions
        bad = Listener(get_status=404)
        self.addCleanup(bad.close)
        self.assertProblem(sol.call("POST", "/subscriptions", {"callbackUri": bad.url}), 422,
                           field="callbackUri")
        self.assertProblem(sol.call("POST", "/subscriptions", {"callbackUri": "ftp://x/y"}), 400,
                           field="callbackUri")
        self.assertProblem(sol.call("POST", "/subscriptions", {
            "callbackUri": only.url, "authentication": {"authType": ["OAUTH2_CLIENT_CREDENTIALS"]}}),
            422)
        self.assertProblem(sol.call("POST", "/subscriptions", {
            "callbackUri": only.url, "filter": {"operationStates": ["DONE"]}}), 400,
            field="filter.operationStates[0]")
        sol.ok("DELETE", "/subscriptions/" + s_every["id"], expect=(204,))
        self.assertProblem(sol.call("GET", "/subscriptions/" + s_every["id"]), 404)

    # ---- protocol errors ----

    def test_bad_input_gets_problem_details(self):
        sol, d = self.sol, self.d
        self.assertEqual(sol.ok("GET", "/api_versions")[0],
                         {"uriPrefix": "/vnflcm/v1",
                          "apiVersions": [{"version": "1.3.0", "isDeprecated": False}]})
        status, doc, hdrs = d.get("/vnflcm/v2/api_versions")
        self.assertEqual((status, doc["apiVersions"][0]["version"], hdrs["Version"]),
                         (200, "2.0.0", "2.0.0"))
        self.assertEqual(len(d.get("/vnflcm/api_versions")[1]["apiVersions"]), 2)
        # asked in 2.0.0, answered in 2.0.0, not 1.3.0 (issue 15 item 9)
        hdrs = d.get("/vnflcm/api_versions", headers={"Version": "2.0.0"})[2]
        self.assertEqual(hdrs["Version"], "2.0.0")
        self.assertEqual(d.get("/vnflcm/api_versions")[2]["Version"], "1.3.0")
        # auth: none -> 401; X-Auth-Token carries one of our tokens
        self.assertProblem(sol.call("GET", "/vnf_instances", token=None), 401)
        self.assertProblem(sol.call("GET", "/vnf_instances", token="nope"), 401)
        status, _, _ = sol.call("GET", "/vnf_instances", token=None,
                                headers={"X-Auth-Token": d.token})
        self.assertEqual(status, 200)
        # Version: v1 may omit it; a wrong one is 406, a malformed one 400; v2 needs it
        self.assertEqual(d.get(V1 + "/vnf_instances")[0], 200)
        self.assertProblem(sol.call("GET", "/vnf_instances", headers={"Version": "2.0.0"}), 406)
        self.assertProblem(sol.call("GET", "/vnf_instances", headers={"Version": "one"}), 400)
        self.assertProblem(d.get("/vnflcm/v2/vnf_instances"), 400, "Version")
        self.assertEqual(d.get("/vnflcm/v2/vnf_instances", headers={"Version": "2.0.0"})[0], 200)
        # bodies
        self.assertProblem(sol.call("POST", "/vnf_instances", raw=b"{not json"), 400, "malformed")
        self.assertProblem(sol.call("POST", "/vnf_instances", raw=b"[1]"), 400)
        self.assertProblem(sol.call("POST", "/vnf_instances", {}), 400, field="vnfdId")
        self.assertProblem(sol.call("POST", "/vnf_instances", {"vnfdId": "sol-web", "x": 1}), 400,
                           field="x")
        self.assertProblem(sol.call("POST", "/vnf_instances", {"vnfdId": "no-such-vnfd"}), 422,
                           field="vnfdId")
        self.assertProblem(sol.call("POST", "/vnf_instances", raw=b"<a/>",
                                    headers={"Content-Type": "application/xml"}), 415)
        # unknown things
        self.assertProblem(sol.call("GET", "/vnf_instances/nope"), 404)
        self.assertProblem(sol.call("GET", "/vnf_lcm_op_occs/nope"), 404)
        self.assertProblem(sol.call("POST", "/vnf_lcm_op_occs/nope/retry"), 404)
        self.assertProblem(sol.call("GET", "/nothing"), 404)
        self.assertProblem(d.get("/vnflcm/v9/vnf_instances"), 404)
        self.assertProblem(sol.call("PUT", "/vnf_instances"), 405)
        self.assertProblem(sol.call("GET", "/vnf_instances?colour=red"), 400)
        self.assertProblem(sol.call("GET", "/vnf_instances?filter=(eq,id"), 400, field="filter")
        self.assertProblem(sol.call("GET", "/vnf_instances", headers={"Accept": "text/html"}), 406)
        # tasks: wrong state, bad bodies, not supported
        iid = sol.create()["id"]
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/scale" % iid,
                                    {"type": "SCALE_OUT", "aspectId": "web"}), 409,
                           "NOT_INSTANTIATED")
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/terminate" % iid,
                                    {"terminationType": "FORCEFUL"}), 409)
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid, {}), 400,
                           field="flavourId")
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                    {"flavourId": "tiny"}), 400, field="flavourId")
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                    {"flavourId": "large", "instantiationLevelId": "nine"}), 400,
                           field="instantiationLevelId")
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                    {"flavourId": "default", "additionalParams": {"nope": 1}}), 400,
                           field="additionalParams.nope")
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                    {"flavourId": "default", "extVirtualLinks": [{"id": "x"}]}),
                           422)
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                    {"flavourId": "default", "extVirtualLinks": "x"}), 400)
        self.assertProblem(sol.call("POST", "/vnf_instances/%s/change_ext_conn" % iid,
                                    {"extVirtualLinks": []}), 422, "not supported")
        self.assertProblem(sol.call("PATCH", "/vnf_instances/" + iid, {"vnfdId": "zzz"}), 422)
        status, _, _ = sol.call("PATCH", "/vnf_instances/" + iid, raw=b'{"metadata": {"a": "1"}}',
                                headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(status, 202)
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))
        # a tenant token sees only its tenant's instances
        d.ok("POST", "/v0/tenants", {"id": "other"})
        tok = d.ok("POST", "/v0/tenants/other/tokens", {})["token"]
        iid = sol.create()["id"]
        self.assertProblem(sol.call("GET", "/vnf_instances/" + iid, token=tok), 404)
        self.assertEqual(sol.call("GET", "/vnf_instances", token=tok)[1], [])
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))

    def test_v2_interface(self):
        """/vnflcm/v2 (interface 2.0.0): the same resources, Version required,
        vimConnectionInfo a map, links under /v2."""
        sol = SolClient(self.d, "/vnflcm/v2", {"Version": "2.0.0"})
        hook = Listener()
        self.addCleanup(hook.close)
        sub, _ = sol.ok("POST", "/subscriptions", {"callbackUri": hook.url,
                                                   "verbosity": "FULL"}, expect=(201,))
        self.addCleanup(sol.call, "DELETE", "/subscriptions/" + sub["id"])
        self.assertEqual(sub["verbosity"], "FULL")
        brief = Listener()
        self.addCleanup(brief.close)
        short, _ = sol.ok("POST", "/subscriptions", {"callbackUri": brief.url,
                                                     "verbosity": "SHORT"}, expect=(201,))
        self.addCleanup(sol.call, "DELETE", "/subscriptions/" + short["id"])
        self.assertNotIn(sub["id"], [x["id"] for x in self.sol.ok("GET", "/subscriptions")[0]])
        iid = sol.create()["id"]
        occ = sol.run(iid, "instantiate", {"flavourId": "large", "instantiationLevelId": "two",
                                           "vimConnectionInfo": {"vim1": {"vimId": "local",
                                                                          "vimType": "x"}}})
        self.assertIn("/vnflcm/v2/vnf_lcm_op_occs/", occ["_links"]["self"]["href"])
        inst = sol.instance(iid)
        self.assertIsInstance(inst["vimConnectionInfo"], dict)
        self.assertEqual(inst["instantiatedVnfInfo"]["instantiationLevelId"], "two")
        self.assertEqual(len(inst["instantiatedVnfInfo"]["vnfcInfo"]), 2)
        cp = inst["instantiatedVnfInfo"]["extCpInfo"][0]
        self.assertIn("cpConfigId", cp)
        wait_for(lambda: hook.for_op(occ["id"])[-1:] == [("RESULT", "COMPLETED")], 10)
        n = [x for x in hook.got if x.get("vnfLcmOpOccId") == occ["id"]][-1]
        self.assertIn("/vnflcm/v2/subscriptions/", n["_links"]["subscription"]["href"])
        # FULL: what changed, each VNFC's resource with its VIM connection
        # (issue 15 item 7); SHORT: none of it (item 6)
        self.assertEqual(n["verbosity"], "FULL")
        self.assertEqual({c["computeResource"]["vimConnectionId"] for c in n["affectedVnfcs"]},
                         {"local"})
        wait_for(lambda: brief.for_op(occ["id"])[-1:] == [("RESULT", "COMPLETED")], 10)
        for b in brief.of_type("VnfLcmOperationOccurrenceNotification"):
            self.assertEqual(b["verbosity"], "SHORT", b)
            self.assertNotIn("affectedVnfcs", b)
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})
        sol.ok("DELETE", "/vnf_instances/" + iid, expect=(204,))

    # ---- the native API sees the same records ----

    def test_native_operations_and_cli(self):
        hook = Listener()
        self.addCleanup(hook.close)
        self.subscribe(hook)
        d, sol = self.d, self.sol
        # a native deploy is an INSTANTIATE occurrence of a VNF instance
        op = d.deploy("native1", "sol-web")
        occ = sol.occ(op["id"])
        self.assertEqual((occ["operation"], occ["operationState"], occ["vnfInstanceId"]),
                         ("INSTANTIATE", "COMPLETED", "native1"))
        self.assertEqual(sol.instance("native1")["vnfInstanceName"], "native1")
        wait_for(lambda: hook.of_type("VnfIdentifierCreationNotification", "native1"), 10)
        wait_for(lambda: hook.for_op(op["id"])[-1:] == [("RESULT", "COMPLETED")], 10)
        self.assertEqual(hook.for_op(op["id"])[0], ("START", "PROCESSING"))
        # a native operation cancelled stops in failed_temp; the CLI rolls it back
        slow, opened = gate(d, "slow2")
        v = sol_vnfd("sol-slow2")
        v["lifecycle"] = {"post_deployment": [{"script": slow}]}
        d.onboard(v)
        op = d.ok("POST", "/v0/deployments", {"name": "native2", "vnfd": "sol-slow2"})
        wait_for(lambda: d.get("/v0/operations/" + op["id"])[1]["stage"] == "post_deployment",
                 20)
        r = d.ctl("op", "cancel", op["id"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        open(opened, "w").close()
        self.assertEqual(d.wait_op(op["id"])["state"], "failed_temp")
        self.assertEqual(sol.occ(op["id"])["operationState"], "FAILED_TEMP")
        r = d.ctl("op", "rollback", op["id"], "--wait")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # it ends rolled back
        self.assertEqual(d.get("/v0/operations/" + op["id"])[1]["state"], "rolled_back")
        self.assertEqual(d.deployment("native2")["vis"], [])
        r = d.ctl("op", "retry", op["id"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("409", r.stderr + r.stdout)
        # native undeploy = terminate + delete
        d.undeploy_all()
        wait_for(lambda: hook.of_type("VnfIdentifierDeletionNotification", "native1"), 10)
        self.host_clean()


class Sol003CrashTest(unittest.TestCase):
    """kill -9 of the manager while an occurrence is PROCESSING."""

    def setUp(self):
        self.d = Daemon().start()
        self.sol = SolClient(self.d)

    def tearDown(self):
        self.d.cleanup()

    def test_kill9_while_processing(self):
        d, sol = self.d, self.sol
        slow = script(os.path.join(d.scripts, "slow.sh"), "sleep 0.5\n")
        marker = os.path.join(d.dir, "never")
        bad = script(os.path.join(d.scripts, "bad.sh"), "[ -e %s ] || exit 1\n" % marker)
        v = sol_vnfd("sol-crash")
        v["lifecycle"] = {"pre_deployment": [{"script": slow}]}
        d.onboard(v)
        v = sol_vnfd("sol-crash-bad")
        v["lifecycle"] = {"pre_deployment": [{"script": slow}], "post_deployment": [{"script": bad}]}
        v["retry"] = {"attempts": 1, "backoff_ms": 10}
        d.onboard(v)
        good = sol.create("sol-crash")["id"]
        doomed = sol.create("sol-crash-bad")["id"]
        occ_good = sol.task(good, "instantiate", {"flavourId": "large"})
        occ_bad = sol.task(doomed, "instantiate", {"flavourId": "default"})
        sol.wait(occ_good, ("PROCESSING",))
        wait_for(lambda: d.get("/v0/operations/" + occ_good)[1]["stage"] == "pre_deployment", 20)
        d.kill9()
        d.restart()
        # it carries on and completes; the other reaches FAILED_TEMP and rolls back
        self.assertEqual(sol.wait(occ_good)["operationState"], "COMPLETED")
        vnfcs = sol.vnfcs(good)
        self.assertEqual(len(vnfcs), 2)
        self.assertTrue(all(http_get("http://%s:8080/" % v["metadata"]["ip"])[0] == 200
                            for v in vnfcs))
        self.assertEqual(sol.wait(occ_bad)["operationState"], "FAILED_TEMP")
        sol.ok("POST", "/vnf_lcm_op_occs/%s/rollback" % occ_bad, expect=(202,))
        self.assertEqual(sol.wait(occ_bad)["operationState"], "ROLLED_BACK")
        # nothing orphaned: exactly the recorded VNFCs exist on the host
        self.assertEqual(sorted(d.netns()),
                         sorted("vnfm-%s-%s" % (d.tag, v["id"]) for v in vnfcs))
        logs = d.get("/v0/logs?operation=%s&event=operation" % occ_good)[1]["logs"]
        self.assertTrue(any(l["result"] == "resumed" for l in logs))
        sol.run(good, "terminate", {"terminationType": "FORCEFUL"})
        for i in (good, doomed):
            sol.ok("DELETE", "/vnf_instances/" + i, expect=(204,))


class SolListTest(DaemonTest):
    """SOL013 5.2-5.4 on the lists (issue 15 items 2 and 3): attribute
    selectors for real, Tacker's "exclude-fields" spelling, an unknown
    attribute in a selector or a filter refused, pages of --sol-page-size
    with a Link to the next."""

    daemon_args = ("--sol-page-size", "2", "--vim-connection", "openstack-vim-1=local",
                   "--vim-connection", "far-vim=elsewhere")

    def test_selectors_filters_and_pages(self):
        self.d.onboard(sol_vnfd())
        sol = SolClient(self.d)
        ids = [sol.create(vnfInstanceName="n%d" % i, metadata={"k": i})["id"] for i in range(5)]
        self.addCleanup(lambda: [sol.call("DELETE", "/vnf_instances/" + i) for i in ids])
        # pages of two, each with a Link to the next, until the last
        got, url, pages = [], "/vnf_instances", 0
        while url:
            status, page, hdrs = sol.call("GET", url)
            self.assertEqual(status, 200, page)
            self.assertLessEqual(len(page), 2)
            got += [i["id"] for i in page]
            pages += 1
            link = hdrs.get("Link")
            url = None
            if link:
                self.assertTrue(link.endswith('>; rel="next"'), link)
                url = link[link.index("/vnflcm/v1") + len("/vnflcm/v1"):link.index(">")]
        self.assertEqual((got, pages), (ids, 3))
        self.assertProblem(sol.call("GET", "/vnf_instances?nextpage_opaque_marker=zz"), 400,
                           field="nextpage_opaque_marker")
        # a filter and the page's Link keep each other
        status, page, hdrs = sol.call("GET", "/vnf_instances?filter=(neq,vnfInstanceName,n0)")
        self.assertEqual([i["id"] for i in page], ids[1:3])
        self.assertIn("filter=(neq,vnfInstanceName,n0)", hdrs["Link"])
        # complex attributes: out by default, in when asked
        first = "/vnf_instances?filter=(eq,id,%s)" % ids[0]
        self.assertNotIn("metadata", sol.ok("GET", first)[0][0])
        self.assertEqual(sol.ok("GET", first + "&all_fields")[0][0]["metadata"], {"k": 0})
        # a query that is one key without '=' (Tacker's "?all_fields"): the
        # router wrote a byte past its buffer (ASan) and the manager died
        self.assertEqual(len(sol.ok("GET", "/vnf_instances?all_fields")[0]), 2)
        self.assertEqual(sol.ok("GET", first + "&fields=metadata")[0][0]["metadata"], {"k": 0})
        for spelling in ("exclude_fields", "exclude-fields"):
            inst = sol.ok("GET", first + "&%s=vnfdId,_links/self" % spelling)[0][0]
            self.assertNotIn("vnfdId", inst)
            self.assertNotIn("self", inst["_links"])
            self.assertIn("metadata", inst)
        # what the resource lacks is refused, naming the parameter
        self.assertProblem(sol.call("GET", "/vnf_instances?fields=colour"), 400, field="fields")
        self.assertProblem(sol.call("GET", "/vnf_instances?exclude-fields=colour"), 400,
                           field="exclude_fields")
        self.assertProblem(sol.call("GET", "/vnf_instances?filter=(eq,colour,red)"), 400,
                           field="filter")
        self.assertProblem(sol.call("GET", "/vnf_instances?all_fields&fields=metadata"), 400,
                           field="all_fields")
        self.assertProblem(sol.call("GET", "/vnf_lcm_op_occs?filter=(eq,vnfdId,x)"), 400,
                           field="filter")

    def test_etag_and_if_match(self):
        """PATCH honours If-Match; a read carries the ETag (issue 15 item 5)."""
        self.d.onboard(sol_vnfd())
        sol = SolClient(self.d)
        iid = sol.create(vnfInstanceName="tagged")["id"]
        self.addCleanup(sol.call, "DELETE", "/vnf_instances/" + iid)
        status, _, hdrs = sol.call("GET", "/vnf_instances/" + iid)
        tag = hdrs["ETag"]
        self.assertRegex(tag, r'^"[0-9a-f]{32}"$')
        self.assertEqual(sol.call("GET", "/vnf_instances/" + iid)[2]["ETag"], tag)  # stable
        self.assertProblem(sol.call("PATCH", "/vnf_instances/" + iid, {"vnfInstanceName": "x"},
                                    headers={"If-Match": '"0000"'}), 412, field="If-Match")
        self.assertEqual(sol.instance(iid)["vnfInstanceName"], "tagged")
        occ_id = sol.call("PATCH", "/vnf_instances/" + iid, {"vnfInstanceName": "y"},
                          headers={"If-Match": tag})[2]["Location"].rsplit("/", 1)[1]
        sol.wait(occ_id)
        self.assertEqual(sol.instance(iid)["vnfInstanceName"], "y")
        new = sol.call("GET", "/vnf_instances/" + iid)[2]["ETag"]
        self.assertNotEqual(new, tag)
        # the old tag no longer matches
        self.assertProblem(sol.call("PATCH", "/vnf_instances/" + iid, {"vnfInstanceName": "z"},
                                    headers={"If-Match": tag}), 412)

    def test_nfvo_vim_connections(self):
        """An NFVO's own VIM ids: registered ones map to a site, others are
        refused naming the option, credentials never shown (item 8)."""
        self.d.onboard(sol_vnfd())
        sol = SolClient(self.d)
        iid = sol.create(vnfInstanceName="vims")["id"]
        self.addCleanup(sol.call, "DELETE", "/vnf_instances/" + iid)
        vim = {"id": "vim-a", "vimId": "openstack-vim-1",
               "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3",
               "accessInfo": {"username": "nfvo", "password": "s3cret-pw"}}
        for bad, words in ((dict(vim, vimId="unknown-vim"), "--vim-connection unknown-vim=SITE"),
                           (dict(vim, vimId="far-vim"), "is site 'elsewhere'")):
            self.assertProblem(sol.call("POST", "/vnf_instances/%s/instantiate" % iid,
                                        {"flavourId": "default", "vimConnectionInfo": [bad]}),
                               422, detail=words, field="vimConnectionInfo")
        sol.run(iid, "instantiate", {"flavourId": "default", "vimConnectionInfo": [vim]})
        status, inst, _ = sol.call("GET", "/vnf_instances/" + iid)
        self.assertEqual(inst["vimConnectionInfo"],
                         [{"id": "vim-a", "vimId": "openstack-vim-1",
                           "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3"}])
        self.assertNotIn("s3cret-pw", json.dumps(inst))
        self.assertNotIn("site", inst)
        sol.run(iid, "terminate", {"terminationType": "FORCEFUL"})

    assertProblem = Sol003Test.assertProblem


if __name__ == "__main__":
    unittest.main()
