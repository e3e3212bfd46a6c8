"""Real guests with separate agents: novalite-api without its embedded agent,
one `novalite-compute` on qemu:///system (TCG here, KVM on lab hardware) and
one on the fake hypervisor, each with its own state dir, as two compute nodes
would be. The scheduler places guests on both; the real agent is killed with
SIGKILL while a guest builds and while one is deleted, and libvirtd is
restarted under a running guest: every time the instance converges and
nothing is left behind. Skips (saying why) only where libvirt/QEMU or the
test guest cannot be had; guest traffic stays on an isolated network.
"""

import os
import signal
import subprocess
import time

import pytest

import novalite_testlib as lib
from test_agents import Agent, wait_hosts
from test_real_vms import (GUEST, BOOT_TIMEOUT, open_path, virsh,
                           why_no_real_guests)

# One worker runs every real-guest file, one after another (conftest.py).
XDIST_GROUP = "real-guests"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    reason = why_no_real_guests()
    if reason:
        pytest.skip("real guests cannot run here: " + reason)
    d = lib.start_daemon(tmp_path_factory.mktemp("novalite"),
                         extra_args=["--no-embedded-agent"])
    yield d
    lib.stop_daemon(d)


@pytest.fixture(scope="module")
def agents(daemon, tmp_path_factory, http):
    tmp = tmp_path_factory.mktemp("agents")
    open_path(tmp)
    tag = "%d" % (os.getpid() % 100000)
    real = Agent(daemon, tmp, "real-1", "--libvirt-uri", "qemu:///system",
                 "--network-mode", "isolated", "--network-name",
                 "nlagt-" + tag, "--network-bridge", "nla" + tag,
                 "--shutdown-timeout", "20", "--sync-interval", "5",
                 "--kvm-probe-kernel", str(GUEST.parent / "vmlinuz")).start()
    fake = Agent(daemon, tmp, "fake-1").start()
    real.state_dir = tmp / "st-real-1"
    real.net_name = "nlagt-" + tag
    wait_hosts(http, {"real-1", "fake-1"}, timeout=60)
    yield real, fake
    fake.stop()
    real.stop()
    for name in virsh("list", "--all", "--name", check=False).split():
        if str(real.state_dir) in virsh("dumpxml", name, check=False):
            virsh("destroy", name, check=False)
            virsh("undefine", name, "--managed-save", check=False)
    virsh("net-destroy", real.net_name, check=False)
    virsh("net-undefine", real.net_name, check=False)


@pytest.fixture(scope="module")
def guest_image(osc, agents):
    return osc("image", "create", "--disk-format", "qcow2",
               "--container-format", "bare", "--public", "--file", GUEST,
               lib.unique("tiny"))["id"]


def boot(http, image, name, **extra):
    r = http.compute("POST", "/servers", json={"server": dict(
        {"name": name, "imageRef": image, "flavorRef": "1"}, **extra)})
    assert r.status_code == 202, r.text
    return r.json()["server"]["id"]


def host_of(http, sid):
    r = http.compute("GET", "/servers/%s" % sid)
    return r.json()["server"]["OS-EXT-SRV-ATTR:host"]


def console_text(http, sid):
    r = http.compute("POST", "/servers/%s/action" % sid,
                     json={"os-getConsoleOutput": {}})
    assert r.status_code == 200, r.text
    return r.json()["output"]


def wait_marker(http, sid, marker, timeout=BOOT_TIMEOUT):
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = console_text(http, sid)
        if marker in text:
            return text
        time.sleep(1)
    pytest.fail("%s never printed %r:\n%s" % (sid, marker, text[-2000:]))


def no_trace_of(agent, uuid):
    assert uuid not in virsh("list", "--all", "--uuid").split()
    assert not (agent.state_dir / "instances" / uuid).exists()


def test_scheduler_places_guests_on_both_agents(http, agents, guest_image):
    real, fake = agents
    r = http.compute("POST", "/os-server-groups", json={"server_group": {
        "name": lib.unique("spread"), "policies": ["anti-affinity"]}})
    assert r.status_code == 200, r.text
    group = r.json()["server_group"]["id"]
    # anti-affinity: two members land on different hosts, so one on each
    ids = []
    for _ in range(2):
        r = http.compute("POST", "/servers", json={
            "server": {"name": lib.unique("both"), "imageRef": guest_image,
                       "flavorRef": "1", "config_drive": True},
            "os:scheduler_hints": {"group": group}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
    for sid in ids:
        lib.wait_server(http, sid, "ACTIVE", timeout=120)
    hosts = {host_of(http, sid): sid for sid in ids}
    assert set(hosts) == {"real-1", "fake-1"}, hosts
    # the real one really boots
    text = wait_marker(http, hosts["real-1"], "NOVALITE-GUEST-READY")
    assert "NOVALITE-INSTANCE-UUID %s" % hosts["real-1"] in text
    for sid in ids:
        assert http.compute("DELETE", "/servers/%s" % sid).status_code == 204
    for sid in ids:
        lib.wait_server(http, sid, "DELETED", timeout=120)
    no_trace_of(real, hosts["real-1"])


def real_only(http, image, name):
    return boot(http, image, name,
                **{"availability_zone": "nova:real-1"})


def test_agent_killed_mid_build_converges(http, agents, guest_image):
    real, _ = agents
    sid = real_only(http, guest_image, lib.unique("kb"))
    time.sleep(0.3)                       # the build has been handed out
    real.kill9()
    real.start()
    s = lib.wait_server(http, sid, "ACTIVE", timeout=180)
    assert s["OS-EXT-SRV-ATTR:host"] == "real-1"
    assert virsh("domstate", sid).strip() == "running"
    wait_marker(http, sid, "NOVALITE-GUEST-BOOTED")
    agents[0].last = sid


def test_agent_killed_mid_delete_leaves_nothing(http, agents):
    real, _ = agents
    sid = real.last
    assert http.compute("DELETE", "/servers/%s" % sid).status_code == 204
    time.sleep(0.2)
    real.kill9()
    real.start()
    lib.wait_server(http, sid, "DELETED", timeout=180)
    no_trace_of(real, sid)
    net = virsh("net-dumpxml", real.net_name, check=False)
    assert "<host " not in net, net


def test_libvirtd_restart_keeps_power_state(http, agents, guest_image):
    real, _ = agents
    sid = real_only(http, guest_image, lib.unique("lr"))
    lib.wait_server(http, sid, "ACTIVE", timeout=120)
    pid = int(open("/run/libvirtd.pid").read().strip())
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not os.path.exists("/proc/%d" % pid):
            break
        time.sleep(0.1)
    subprocess.run(["sh", "tools/libvirtd.sh"], check=True,
                   cwd=str(GUEST.parents[2]))
    # the guest kept running, and the agent still drives it
    assert virsh("domstate", sid).strip() == "running"
    time.sleep(6)                         # one reconcile interval
    s = lib.wait_server(http, sid, "ACTIVE", timeout=30)
    assert s["OS-EXT-STS:power_state"] == 1
    r = http.compute("POST", "/servers/%s/action" % sid, json={"os-stop": None})
    assert r.status_code == 202, r.text
    lib.wait_server(http, sid, "SHUTOFF", timeout=120)
    assert virsh("domstate", sid).strip() == "shut off"
    assert http.compute("DELETE", "/servers/%s" % sid).status_code == 204
    lib.wait_server(http, sid, "DELETED", timeout=120)
    no_trace_of(real, sid)
