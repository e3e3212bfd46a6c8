"""Each compute agent has its own identity, bound to the hosts it registered.

Two raw agents (the protocol by hand, docs/agent-protocol.md) with separate
Keystone users (role service on project service). Agent B must not read A's
host's instances (key data), post console text to A's instance, heartbeat as
A, lease A's tasks, post results for A's task, report power states for A's
instance, or take A's host over by registering it; every foreign host, task or
instance is 404 (as if it did not exist), a refused registration 403. A
console_address an agent reports must be loopback or its host's registered
vnc_listen address, with a port number: a forged one is 400.
"""

import subprocess
import time
from pathlib import Path

import pytest
import requests

import novalite_testlib as lib

KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okW"
       "i0dh2l9GKJl agent-identity-test")


def manage_bin():
    return str(Path(lib.api_bin()).parent / "novalite-manage")


def compute_bin():
    return str(Path(lib.api_bin()).parent / "novalite-compute")


class RawAgent:
    def __init__(self, daemon, token, host, agent=None):
        self.url = "http://127.0.0.1:%d/internal/v1" % daemon.internal_port
        self.host = host
        self.agent = agent or host
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.headers["X-Auth-Token"] = token

    def register(self, host=None, agent=None, **extra):
        body = {"host": host or self.host, "agent": agent or self.agent,
                "hypervisor_type": "QEMU", "vcpus": 64, "memory_mb": 65536,
                "local_gb": 1000}
        body.update(extra)
        return self.s.post(self.url + "/hosts", json={"host": body},
                           timeout=10)

    def poll(self, agent=None, wait=0):
        return self.s.get(self.url + "/agents/%s/tasks" % (agent or self.agent),
                          params={"wait": wait}, timeout=wait + 10)

    def heartbeat(self, agent=None):
        return self.s.post(self.url + "/agents/%s/heartbeat"
                           % (agent or self.agent), timeout=10)

    def instances(self, host=None):
        return self.s.get(self.url + "/hosts/%s/instances" % (host or self.host),
                          timeout=10)

    def result(self, task_id, **res):
        return self.s.post(self.url + "/tasks/%d" % task_id,
                           json={"result": dict({"status": "done"}, **res)},
                           timeout=10)

    def power(self, uuid, state):
        return self.s.put(self.url + "/instances/%s/power_state" % uuid,
                          json={"power_state": state}, timeout=10)

    def console(self, uuid, text):
        return self.s.post(self.url + "/instances/%s/console" % uuid,
                           json={"console": {"text": text}}, timeout=10)

    def expect(self, kind, uuid, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.poll(wait=2)
            assert r.status_code == 200, r.text
            for t in r.json()["tasks"]:
                if t["kind"] == kind and t["instance"]["uuid"] == uuid:
                    return t
        pytest.fail("no %s task for %s" % (kind, uuid))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = lib.start_daemon(tmp_path_factory.mktemp("novalite"),
                         extra_args=["--no-embedded-agent"])
    yield d
    lib.stop_daemon(d)


def service_identity(http, name):
    """A Keystone user with the service role on the service project."""
    r = http.identity("GET", "/projects", params={"name": "service"})
    assert r.status_code == 200, r.text
    project = r.json()["projects"][0]["id"]
    password = lib.unique("pw")
    user = http.create_user(name, password, project)
    http.grant(project, user["id"], "service")
    tok, _ = http.token(name, password, "service")
    return tok


@pytest.fixture(scope="module")
def agents(daemon, http):
    a = RawAgent(daemon, service_identity(http, lib.unique("agent-a")),
                 lib.unique("host-a"))
    b = RawAgent(daemon, service_identity(http, lib.unique("agent-b")),
                 lib.unique("host-b"))
    for x in (a, b):
        r = x.register()
        assert r.status_code == 200, r.text
    return a, b


@pytest.fixture(scope="module")
def server_a(http, agents, image):
    """An ACTIVE server with a key pair on A's host."""
    a, _ = agents
    kp = lib.unique("kp")
    r = http.compute("POST", "/os-keypairs", json={"keypair": {
        "name": kp, "public_key": KEY}})
    assert r.status_code == 200, r.text
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("vm"), "imageRef": image, "flavorRef": "1",
        "key_name": kp, "availability_zone": "nova:" + a.host}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    t = a.expect("build", sid)
    r = a.result(t["id"], power_state=1, console_address="127.0.0.1:5901",
                 console="boot ok\n")
    assert r.status_code == 204, r.text
    lib.wait_server(http, sid, "ACTIVE")
    return sid


def remote_console(http, sid):
    r = http.compute("POST", "/servers/%s/remote-consoles" % sid,
                     microversion="2.6",
                     json={"remote_console": {"protocol": "vnc",
                                              "type": "novnc"}})
    assert r.status_code == 200, r.text
    return r.json()["remote_console"]["url"]


def console_log(http, sid):
    r = http.compute("POST", "/servers/%s/action" % sid,
                     json={"os-getConsoleOutput": {}})
    assert r.status_code == 200, r.text
    return r.json()["output"]


def test_owner_reads_its_instances(agents, server_a):
    a, _ = agents
    r = a.instances()
    assert r.status_code == 200, r.text
    mine = [i for i in r.json()["instances"] if i["uuid"] == server_a]
    assert mine and mine[0]["key_data"] == KEY


def test_b_cannot_read_a_host_instances(agents, server_a):
    _, b = agents
    r = b.instances(agents[0].host)
    assert r.status_code == 404, r.text
    assert KEY not in r.text and server_a not in r.text


def test_b_cannot_post_console_to_a_instance(http, agents, server_a):
    _, b = agents
    r = b.console(server_a, "FORGED CONSOLE TEXT\n")
    assert r.status_code == 404, r.text
    assert "FORGED" not in console_log(http, server_a)


def test_b_cannot_heartbeat_as_a(agents):
    a, b = agents
    r = b.heartbeat(a.agent)
    assert r.status_code == 404, r.text
    assert a.heartbeat().status_code == 204


def test_b_cannot_report_power_state_of_a_instance(http, agents, server_a):
    _, b = agents
    r = b.power(server_a, 4)
    assert r.status_code == 404, r.text
    time.sleep(0.3)
    s = http.compute("GET", "/servers/%s" % server_a).json()["server"]
    assert s["status"] == "ACTIVE" and s["OS-EXT-STS:power_state"] == 1, s


def test_b_cannot_lease_or_finish_a_tasks(http, agents, server_a):
    a, b = agents
    r = http.compute("POST", "/servers/%s/action" % server_a,
                     json={"os-stop": None})
    assert r.status_code == 202, r.text
    # B polls with A's agent name: nothing of A's is handed out.
    r = b.poll(a.agent)
    assert r.status_code == 404, r.text
    t = a.expect("stop", server_a)
    # B posts a forged result for A's leased task.
    r = b.result(t["id"], power_state=1, console_address="evil.example:5900")
    assert r.status_code == 404, r.text
    s = http.compute("GET", "/servers/%s" % server_a).json()["server"]
    assert s["OS-EXT-STS:task_state"] == "powering-off", s
    r = a.result(t["id"], power_state=4, console_address=None)
    assert r.status_code == 204, r.text
    lib.wait_server(http, server_a, "SHUTOFF")
    r = http.compute("POST", "/servers/%s/action" % server_a,
                     json={"os-start": None})
    assert r.status_code == 202, r.text
    t = a.expect("start", server_a)
    assert a.result(t["id"], power_state=1,
                    console_address="127.0.0.1:5901").status_code == 204
    lib.wait_server(http, server_a, "ACTIVE")


def test_b_cannot_take_over_a_host_or_agent_name(http, agents, server_a):
    a, b = agents
    r = b.register(host=a.host, agent=b.agent)
    assert r.status_code == 403, r.text
    r = b.register(host=lib.unique("host-new"), agent=a.agent)
    assert r.status_code == 403, r.text
    # A's host still belongs to A: A still gets its tasks, B never does.
    r = http.compute("POST", "/servers/%s/action" % server_a,
                     json={"reboot": {"type": "SOFT"}})
    assert r.status_code == 202, r.text
    r = b.poll()
    assert r.status_code == 200 and r.json()["tasks"] == [], r.text
    t = a.expect("reboot_soft", server_a)
    assert a.result(t["id"], power_state=1).status_code == 204
    lib.wait_server(http, server_a, "ACTIVE")


@pytest.mark.parametrize("addr", [
    "evil.example:5900", "10.9.8.7:5900", "127.0.0.1", "127.0.0.1:0",
    "127.0.0.1:65536", "127.0.0.1:59x", "127.0.0.1:5900/x", "[::2]:5900",
    "user@127.0.0.1:5900", " 127.0.0.1:5900"])
def test_forged_console_address_refused(http, agents, server_a, addr):
    a, _ = agents
    r = http.compute("POST", "/servers/%s/action" % server_a,
                     json={"reboot": {"type": "SOFT"}})
    assert r.status_code == 202, r.text
    t = a.expect("reboot_soft", server_a)
    r = a.result(t["id"], power_state=1, console_address=addr)
    assert r.status_code == 400, r.text
    assert remote_console(http, server_a) == "vnc://127.0.0.1:5901"
    assert a.result(t["id"], power_state=1).status_code == 204
    lib.wait_server(http, server_a, "ACTIVE")


def test_console_address_on_registered_vnc_listen(http, daemon, image):
    tok = service_identity(http, lib.unique("agent-vnc"))
    c = RawAgent(daemon, tok, lib.unique("host-vnc"))
    r = c.register(vnc_listen="192.0.2.10")
    assert r.status_code == 200, r.text
    assert c.register(vnc_listen="evil.example").status_code == 400
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("vm"), "imageRef": image, "flavorRef": "1",
        "availability_zone": "nova:" + c.host}})
    sid = r.json()["server"]["id"]
    t = c.expect("build", sid)
    assert c.result(t["id"], console_address="192.0.2.11:5900").status_code \
        == 400
    assert c.result(t["id"], console_address="[::1]:5902").status_code == 204
    lib.wait_server(http, sid, "ACTIVE")
    assert remote_console(http, sid) == "vnc://[::1]:5902"
    r = http.compute("POST", "/servers/%s/action" % sid,
                     json={"reboot": {"type": "HARD"}})
    t = c.expect("reboot_hard", sid)
    assert c.result(t["id"], console_address="192.0.2.10:5905").status_code \
        == 204
    lib.wait_server(http, sid, "ACTIVE")
    assert remote_console(http, sid) == "vnc://192.0.2.10:5905"


def test_user_without_service_role_is_refused(daemon, tenant):
    r = RawAgent(daemon, tenant.member.token, lib.unique("h")).register()
    assert r.status_code == 403, r.text


def test_released_host_can_be_claimed(http, daemon, agents):
    _, b = agents
    tok = service_identity(http, lib.unique("agent-c"))
    c = RawAgent(daemon, tok, lib.unique("host-c"))
    assert c.register().status_code == 200
    assert b.register(host=c.host).status_code == 403
    # An admin deletes the compute service: the claim goes with it.
    r = http.compute("GET", "/os-services", params={"host": c.host},
                     microversion="2.53")
    svc = r.json()["services"][0]
    r = http.compute("DELETE", "/os-services/%s" % svc["id"],
                     microversion="2.53")
    assert r.status_code == 204, r.text
    assert b.register(host=c.host).status_code == 200
    assert c.instances().status_code == 404
    assert b.instances(c.host).status_code == 200


def test_manage_agent_create_and_release(http, daemon, tmp_path):
    name = lib.unique("node")
    out = tmp_path / "agent-openrc"
    conf = tmp_path / "novalite.conf"
    conf.write_text("[identity]\nport = %d\n[internal]\nport = %d\n" % (
        daemon.identity_port, daemon.internal_port))
    p = subprocess.run([manage_bin(), "--state-dir", str(daemon.state_dir),
                        "--config", str(conf),
                        "agent", "create", name, "--output", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert (out.stat().st_mode & 0o777) == 0o600
    rc = lib.parse_openrc(out.read_text())
    assert rc["NOVALITE_AGENT_NAME"] == name
    tok, _ = http.token(rc["OS_USERNAME"], rc["OS_PASSWORD"],
                        rc["OS_PROJECT_NAME"])
    # The agent name is bound to the new identity before it first registers.
    shared = lib.parse_openrc((daemon.state_dir / "compute-openrc").read_text())
    stok, _ = http.token(shared["OS_USERNAME"], shared["OS_PASSWORD"],
                         shared["OS_PROJECT_NAME"])
    s = RawAgent(daemon, stok, name)
    assert s.register().status_code == 403
    # A real agent process with the file: its host is its own.
    log = tmp_path / "agent.log"
    proc = subprocess.Popen([compute_bin(), "--credentials", str(out),
                             "--host", name, "--state-dir",
                             str(tmp_path / "st")],
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            hosts = http.compute("GET", "/os-services",
                                 params={"host": name}).json()["services"]
            if hosts and hosts[0]["state"] == "up":
                break
            time.sleep(0.2)
        else:
            pytest.fail("agent never registered:\n" + log.read_text())
        assert s.instances().status_code == 404
        assert RawAgent(daemon, tok, name).instances().status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    p = subprocess.run([manage_bin(), "--state-dir", str(daemon.state_dir),
                        "agent", "release-host", name],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([manage_bin(), "--state-dir", str(daemon.state_dir),
                        "agent", "delete", name],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert s.register().status_code == 200


def test_embedded_agent_has_its_own_identity(tmp_path):
    d = lib.start_daemon(tmp_path, extra_args=["--fake-hosts", "2"])
    try:
        http = lib.Http(d, "admin", d.openrc["OS_PASSWORD"], "admin")
        shared = lib.parse_openrc((d.state_dir / "compute-openrc").read_text())
        stok, _ = http.token(shared["OS_USERNAME"], shared["OS_PASSWORD"],
                             shared["OS_PROJECT_NAME"])
        hosts = [s["host"] for s in http.compute(
            "GET", "/os-services").json()["services"]
            if s["binary"] == "nova-compute"]
        assert len(hosts) == 2, hosts
        s = RawAgent(d, stok, hosts[0])
        assert s.instances().status_code == 404
        assert s.register().status_code == 403
        assert not (d.state_dir / "embedded-agent-openrc").exists() or \
            (d.state_dir / "embedded-agent-openrc").stat().st_mode & 0o077 == 0
    finally:
        lib.stop_daemon(d)


def test_agent_refuses_a_vnc_listen_name(tmp_path):
    p = subprocess.run([compute_bin(), "--vnc-listen", "evil.example",
                        "--state-dir", str(tmp_path / "st")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    assert "--vnc-listen" in p.stderr


# POST /internal/v1/instances/{uuid}/fault: the KVM guard's last resort (api/internal/fault.c)

def _fault(agent, uuid, message):
    return agent.s.post(agent.url + "/instances/%s/fault" % uuid,
                        json={"fault": {"message": message}}, timeout=10)


def _own_active_server(http, agent, image):
    r = http.compute("POST", "/servers", json={"server": {
        "name": lib.unique("vm"), "imageRef": image, "flavorRef": "1",
        "availability_zone": "nova:" + agent.host}})
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    t = agent.expect("build", sid)
    assert agent.result(t["id"], power_state=1).status_code == 204
    lib.wait_server(http, sid, "ACTIVE")
    return sid


def test_b_cannot_fail_a_instance(http, agents, image):
    a, b = agents
    sid = _own_active_server(http, a, image)
    r = _fault(b, sid, "forged: KVM cannot run this guest")
    assert r.status_code == 404, r.text
    s = http.compute("GET", "/servers/%s" % sid).json()["server"]
    assert s["status"] == "ACTIVE" and "fault" not in s, s


def test_fault_sets_error_with_the_agents_message(http, agents, image):
    a, _ = agents
    sid = _own_active_server(http, a, image)
    assert _fault(a, sid, "bad\nline").status_code == 400   # printable text only
    msg = ("KVM cannot run this guest on host %s (paused (unknown)), and "
           "rebuilding it under TCG failed: no" % a.host)
    r = _fault(a, sid, msg)
    assert r.status_code == 204, r.text
    s = http.compute("GET", "/servers/%s" % sid).json()["server"]
    assert s["status"] == "ERROR", s
    assert s["fault"]["code"] == 500 and s["fault"]["message"] == msg, s
