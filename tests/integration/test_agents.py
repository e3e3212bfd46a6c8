"""Separate compute agents: novalite-api without its embedded agent, plus
`novalite-compute` processes on the libvirt test driver. Two hosts, many fake
hosts, concurrency without over-commit, the service-token rule, and an agent
killed with SIGKILL in the middle of a build."""

import concurrent.futures
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

import novalite_testlib as lib

wait_status = lib.wait_server


def compute_bin():
    return str(Path(lib.api_bin()).parent / "novalite-compute")


class Agent:
    def __init__(self, daemon, tmp, host, *extra):
        self.daemon = daemon
        self.log = tmp / ("agent-%s.log" % host)
        self.argv = [compute_bin(), "--credentials",
                     str(daemon.state_dir / "compute-openrc"),
                     "--host", host, "--state-dir", str(tmp / ("st-" + host)),
                     "--log-level", "info"] + [str(x) for x in extra]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"))
        return self

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                pytest.fail("agent did not stop on SIGTERM:\n" + self.log.read_text())
            assert rc == 0, self.log.read_text()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = lib.start_daemon(tmp_path_factory.mktemp("novalite"),
                         extra_args=["--no-embedded-agent"])
    yield d
    lib.stop_daemon(d)




@pytest.fixture(scope="module")
def agents(daemon, tmp_path_factory, http):
    tmp = tmp_path_factory.mktemp("agents")
    a = Agent(daemon, tmp, "node-a").start()
    b = Agent(daemon, tmp, "node-b").start()
    wait_hosts(http, {"node-a", "node-b"})
    yield a, b
    a.stop()
    b.stop()


def wait_hosts(http, names, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = http.compute("GET", "/os-hypervisors/detail")
        if r.status_code == 200:
            up = {h["service"]["host"] for h in r.json()["hypervisors"]
                  if h.get("state") == "up"}
            if names <= up:
                return
        time.sleep(0.1)
    pytest.fail("hosts %s never came up" % names)




def boot(http, image, **extra):
    r = http.compute("POST", "/servers", json={"server": dict(
        {"name": lib.unique("vm"), "imageRef": image, "flavorRef": "1"},
        **extra)})
    assert r.status_code == 202, r.text
    return r.json()["server"]["id"]


def test_two_agents_register_and_anti_affinity_spreads(http, agents, image,
                                                       osc):
    services = osc("compute", "service", "list")
    hosts = {s["Host"]: s for s in services if s["Binary"] == "nova-compute"}
    assert {"node-a", "node-b"} <= set(hosts)
    assert hosts["node-a"]["State"] == "up"
    g = osc("server", "group", "create", "--policy", "anti-affinity",
            lib.unique("g"))
    r = http.compute("POST", "/servers", json={
        "server": {"name": lib.unique("aa"), "imageRef": image,
                   "flavorRef": "1", "min_count": 2,
                   "return_reservation_id": True},
        "os:scheduler_hints": {"group": g["id"]}})
    assert r.status_code == 202, r.text
    rid = r.json()["reservation_id"]
    listed = http.compute("GET", "/servers/detail",
                          params={"reservation_id": rid}).json()["servers"]
    assert len(listed) == 2
    mine = [wait_status(http, s["id"], "ACTIVE") for s in listed]
    assert sorted(s["OS-EXT-SRV-ATTR:host"] for s in mine) == [
        "node-a", "node-b"]
    # A third member has nowhere to go.
    r = http.compute("POST", "/servers", json={
        "server": {"name": lib.unique("aa3"), "imageRef": image,
                   "flavorRef": "1"},
        "os:scheduler_hints": {"group": g["id"]}})
    s = wait_status(http, r.json()["server"]["id"], "ERROR")
    assert "ServerGroupAntiAffinityFilter" in s["fault"]["message"]


def test_disabled_host_is_not_scheduled(http, agents, image, osc):
    osc("compute", "service", "set", "--disable", "--disable-reason",
        "maintenance", "node-a", "nova-compute", json=False)
    try:
        for _ in range(3):
            s = wait_status(http, boot(http, image), "ACTIVE")
            assert s["OS-EXT-SRV-ATTR:host"] == "node-b"
    finally:
        osc("compute", "service", "set", "--enable", "node-a",
            "nova-compute", json=False)


def test_user_token_is_403_on_internal_port(daemon, tenant):
    url = "http://127.0.0.1:%d/internal/v1/agents/x/heartbeat" % \
        daemon.internal_port
    r = requests.post(url, headers={"X-Auth-Token": tenant.member.token},
                      timeout=10)
    assert r.status_code == 403, r.text
    r = requests.post(url, timeout=10)
    assert r.status_code == 401


def test_agent_restart_reconciles(http, agents, image):
    a, b = agents
    sid = wait_status(http, boot(http, image, availability_zone="nova:node-b"),
                      "ACTIVE")["id"]
    b.stop()
    b.start()
    wait_hosts(http, {"node-b"})
    # The fake lost every domain; the agent re-created it and the server is
    # still running (no power-state drift to SHUTOFF).
    time.sleep(1)
    s = wait_status(http, sid, "ACTIVE")
    assert s["OS-EXT-STS:power_state"] == 1
    r = http.compute("POST", "/servers/%s/action" % sid,
                     json={"os-stop": None})
    assert r.status_code == 202
    wait_status(http, sid, "SHUTOFF")


def test_kill9_mid_build_converges(http, daemon, image, tmp_path):
    slow = Agent(daemon, tmp_path, "node-slow",
                 "--fake-spawn-delay-ms", 4000).start()
    try:
        wait_hosts(http, {"node-slow"})
        sid = boot(http, image, availability_zone="nova:node-slow")
        time.sleep(1.0)          # the agent has leased the build and sleeps
        s = http.compute("GET", "/servers/%s" % sid).json()["server"]
        assert s["status"] == "BUILD", s
        slow.kill9()
        slow = Agent(daemon, tmp_path, "node-slow").start()
        s = wait_status(http, sid, "ACTIVE", timeout=30)
        assert s["OS-EXT-SRV-ATTR:host"] == "node-slow"
    finally:
        slow.stop()


def test_concurrent_creates_none_lost_no_overcommit(http, daemon, image,
                                                    tmp_path):
    # Four small fake hosts: 4096 MB x 1.5 - 512 reserved = 5632 MB usable,
    # 11 m1.tiny each, 44 in all: 100 creates must leave 44 ACTIVE and 56 in
    # ERROR with a reason, and no host past its capacity.
    fleet = Agent(daemon, tmp_path, "small-", "--fake-hosts", 4,
                  "--fake-ram-mb", 4096, "--fake-vcpus", 64).start()
    try:
        wait_hosts(http, {"small-0001", "small-0004"})
        # Only the small fleet takes these (node-slow's agent is gone but its
        # host stays "up" until service_down_time: Nova would schedule to it too).
        for h in ("node-a", "node-b", "node-slow"):
            r = http.compute("PUT", "/os-services/disable", json={
                "host": h, "binary": "nova-compute"})
            assert r.status_code == 200, r.text
        pid = http.admin_project_id
        http.compute("PUT", "/os-quota-sets/%s" % pid, json={"quota_set": {
            "instances": -1, "cores": -1, "ram": -1}})

        def create(i):
            r = http.compute("POST", "/servers", json={"server": {
                "name": "conc-%03d" % i, "imageRef": image, "flavorRef": "1",
                "availability_zone": "nova"}})
            assert r.status_code == 202, r.text
            return r.json()["server"]["id"]

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            ids = list(ex.map(create, range(100)))
        assert len(set(ids)) == 100
        final = {}
        deadline = time.time() + 60
        while time.time() < deadline and len(final) < 100:
            for sid in ids:
                if sid in final:
                    continue
                s = http.compute("GET", "/servers/%s" % sid).json()["server"]
                if s["status"] in ("ACTIVE", "ERROR") and \
                        s["OS-EXT-STS:task_state"] is None:
                    final[sid] = s
            time.sleep(0.1)
        assert len(final) == 100, "servers stuck: %d done" % len(final)
        active = [s for s in final.values() if s["status"] == "ACTIVE"]
        errors = [s for s in final.values() if s["status"] == "ERROR"]
        assert all("No valid host" in s["fault"]["message"] for s in errors)
        per_host = {}
        for s in active:
            per_host[s["OS-EXT-SRV-ATTR:host"]] = \
                per_host.get(s["OS-EXT-SRV-ATTR:host"], 0) + 1
        assert set(per_host) <= {"small-0001", "small-0002", "small-0003",
                                 "small-0004"}
        assert all(n <= 11 for n in per_host.values()), per_host
        assert len(active) == 44, per_host
        names = [s["name"] for s in final.values()]
        assert len(set(names)) == 100
    finally:
        for h in ("node-a", "node-b", "node-slow"):
            http.compute("PUT", "/os-services/enable", json={
                "host": h, "binary": "nova-compute"})
        fleet.stop()


def test_two_hundred_fake_hosts_from_one_agent(http, daemon, tmp_path, osc):
    many = Agent(daemon, tmp_path, "many-", "--fake-hosts", 200,
                 "--fake-vcpus", 8, "--fake-ram-mb", 16384).start()
    try:
        wait_hosts(http, {"many-0001", "many-0200"}, timeout=60)
        hyp = http.compute("GET", "/os-hypervisors/detail").json()[
            "hypervisors"]
        mine = [h for h in hyp if h["hypervisor_hostname"].startswith("many-")]
        assert len(mine) == 200
        assert {h["vcpus"] for h in mine} == {8}
        assert {h["memory_mb"] for h in mine} == {16384}
        stats = osc("hypervisor", "stats", "show")
        assert stats["count"] >= 200
    finally:
        many.stop()
