"""The runtime KVM guard (compute/kvm_guard.c) with real QEMU.

virt_type = kvm is forced on a host where KVM cannot run a real guest (these
machines: QEMU pauses the guest for a KVM internal error, or it hangs silent).
The guard must notice, mark KVM broken (STATE/compute/kvm-broken.json, with the
reason), rebuild the guest under TCG so the server ends ACTIVE with a guest
that really booted, and the host must report hypervisor_type QEMU. The next
server gets a TCG domain at once. Skips where KVM does run guests (nothing to
guard against) or real guests cannot run at all.
"""

import json
import os
import time

import pytest

import novalite_testlib as lib
from test_real_vms import (GUEST, BOOT_TIMEOUT, open_path, virsh, wait_console,
                           why_no_real_guests)

# One worker runs every real-guest file, one after another (conftest.py).
XDIST_GROUP = "real-guests"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    reason = why_no_real_guests()
    if reason:
        pytest.skip("real guests cannot run here: " + reason)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.skip("/dev/kvm is not usable: no KVM to guard")
    tmp = tmp_path_factory.mktemp("kvmguard")
    open_path(tmp)
    tag = "%d" % (os.getpid() % 100000)
    conf = tmp / "novalite.conf"
    conf.write_text(
        "[compute]\n"
        "libvirt_uri = qemu:///system\n"
        "virt_type = kvm\n"
        "kvm_guard_silence_seconds = 45\n"
        "network_mode = isolated\n"
        "network_name = nlkg-%s\n"
        "network_bridge = nlk%s\n"
        "shutdown_timeout = 10\n"
        "sync_power_state_interval = 5\n" % (tag, tag))
    d = lib.start_daemon(tmp, extra_args=["--config", str(conf)],
                         ready_timeout=120)
    d.net_name = "nlkg-" + tag
    yield d
    try:
        lib.stop_daemon(d)
    finally:
        for name in virsh("list", "--all", "--name", check=False).split():
            if str(d.state_dir) in virsh("dumpxml", name, check=False):
                virsh("destroy", name, check=False)
                virsh("undefine", name, "--managed-save", check=False)
        virsh("net-destroy", d.net_name, check=False)
        virsh("net-undefine", d.net_name, check=False)


def create(osc, name):
    """server create --wait; the libvirtd may be shared with other clouds whose
    instance-0000000N domains collide with ours: then try again (new id)."""
    for _ in range(6):
        try:
            return osc("server", "create", "--image", "tiny", "--flavor",
                       "m1.tiny", "--wait", name)
        except AssertionError:
            s = osc("server", "show", name)
            if "already exists" not in json.dumps(s.get("fault", {})):
                raise
            osc("server", "delete", "--wait", name, json=False)
    pytest.fail("domain names kept colliding on the shared libvirtd")


def domain_type(uuid):
    xml = virsh("dumpxml", uuid, check=False)
    return ("kvm" if "<domain type='kvm'" in xml else
            "qemu" if "<domain type='qemu'" in xml else None)


def test_broken_kvm_guest_is_rebuilt_under_tcg(daemon, osc):
    osc("image", "create", "--disk-format", "qcow2", "--container-format",
        "bare", "--file", GUEST, "tiny")
    t0 = time.time()
    s = create(osc, "g1")
    assert s["status"] == "ACTIVE"
    mark = daemon.state_dir / "compute" / "kvm-broken.json"
    deadline = time.time() + 150
    while time.time() < deadline and not mark.exists():
        if domain_type(s["id"]) == "kvm" and "NOVALITE-GUEST-READY" in (
                osc("console", "log", "show", "g1", json=False) or ""):
            pytest.skip("KVM runs real guests on this host: nothing to guard")
        time.sleep(1)
    assert mark.exists(), daemon.stderr_text(10 ** 5)[-3000:]
    tripped = time.time() - t0
    reason = json.loads(mark.read_text())["reason"]
    print("guard tripped after %.1f s: %s" % (tripped, reason))
    assert "KVM guest" in reason
    # rebuilt under TCG: the same server boots for real
    deadline = time.time() + 30
    while time.time() < deadline and domain_type(s["id"]) != "qemu":
        time.sleep(0.5)
    assert domain_type(s["id"]) == "qemu"
    assert "host-passthrough" not in virsh("dumpxml", s["id"])
    text = wait_console(osc, "g1", "NOVALITE-GUEST-READY", timeout=BOOT_TIMEOUT)
    assert "NOVALITE-GUEST-BOOTED" in text
    print("guest ready under TCG %.1f s after create" % (time.time() - t0))
    assert osc("server", "show", "g1")["status"] == "ACTIVE"
    assert "KVM marked broken" in daemon.stderr_text(10 ** 7)
    # the host now says QEMU (re-registered after the switch)
    deadline = time.time() + 60
    hv = None
    while time.time() < deadline:
        hv = osc("hypervisor", "list", "--long")
        if hv[0]["Hypervisor Type"] == "QEMU":
            break
        time.sleep(1)
    assert hv[0]["Hypervisor Type"] == "QEMU", hv
    # and admins see why: cpu_info carries the guard's reason
    shown = osc("hypervisor", "show", str(hv[0]["ID"]))
    assert "kvm_broken" in json.dumps(shown), shown
    assert "KVM guest" in json.dumps(shown), shown


def test_next_guest_gets_tcg_at_once(daemon, osc):
    s = create(osc, "g2")
    assert s["status"] == "ACTIVE"
    assert domain_type(s["id"]) == "qemu"
    wait_console(osc, "g2", "NOVALITE-GUEST-READY", timeout=BOOT_TIMEOUT)
