"""Servers through openstacksdk (python3-openstacksdk 0.101, Debian 12):
the compute proxy (conn.compute.*), resource helpers (Server.add_tag...) and
the openstack.cloud layer (conn.create_server & co), unchanged, against the
all-in-one daemon and its embedded compute agent (libvirt test driver).

Only calls that exist in this openstacksdk version are used (checked with
dir(): e.g. the proxy has no tag helpers, so the Server resource's TagMixin
methods are called with the proxy as session, which is how the sdk docs
show it).
"""

import time

import openstack
import pytest

import novalite_testlib as lib

pytestmark = pytest.mark.usefixtures("roomy_quota")
from openstack.compute.v2 import server_action as _server_action

WAIT = dict(interval=0.1, wait=30)      # wait_for_server / wait_for_delete






def member_conn(daemon, user):
    return openstack.connect(
        auth_url=daemon.identity_url, username=user.name,
        password=user.password, project_name=user.project_name,
        user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3",
        load_yaml_config=False, load_envvars=False,
        app_name="novalite-integration-tests")


def conn_at(daemon, mv):
    """Admin connection whose compute calls default to microversion mv
    (compute_api_version, as clouds.yaml would set it): the sdk's TagMixin
    and Server.lock() send no microversion of their own."""
    rc = daemon.openrc
    return openstack.connect(
        auth_url=rc["OS_AUTH_URL"], username=rc.get("OS_USERNAME", "admin"),
        password=rc["OS_PASSWORD"],
        project_name=rc.get("OS_PROJECT_NAME", "admin"),
        user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", identity_api_version="3",
        compute_api_version=mv, load_yaml_config=False, load_envvars=False,
        app_name="novalite-integration-tests")


def boot(sdk, image, name=None, **extra):
    """Proxy create + wait_for_server: returns the ACTIVE Server."""
    s = sdk.compute.create_server(name=name or lib.unique("sdk-vm"),
                                  image_id=image, flavor_id="1",
                                  networks="auto", **extra)
    assert s.id and s.admin_password, s
    return sdk.compute.wait_for_server(s, status="ACTIVE", **WAIT)


def destroy(sdk, server):
    sdk.compute.delete_server(server, ignore_missing=True)
    sdk.compute.wait_for_delete(server, **WAIT)


@pytest.fixture
def server(sdk, image):
    s = boot(sdk, image)
    yield s
    destroy(sdk, s)


# --------------------------------------------------------------------------
# cloud layer
# --------------------------------------------------------------------------

def test_cloud_create_server_wait_and_delete(sdk, image, http):
    name = lib.unique("sdk-cloud")
    s = sdk.create_server(name, image=image, flavor="m1.tiny", wait=True,
                          auto_ip=False, timeout=60,
                          meta={"role": "cloud-layer"})
    assert s.status == "ACTIVE"
    assert s.name == name
    assert s.flavor.original_name == "m1.tiny"      # embedded flavor (2.47+)
    assert s.image.id == image
    assert s.metadata == {"role": "cloud-layer"}
    assert s.private_v4 and s.private_v4.startswith("10.")
    assert s.power_state == 1
    assert s.vm_state == "active" and s.task_state is None
    assert s.compute_host and s.hypervisor_hostname     # admin sees them

    got = sdk.get_server(name)
    assert got is not None and got.id == s.id
    assert got.status == "ACTIVE"
    listed = sdk.list_servers(filters={"name": name})
    assert [x.id for x in listed] == [s.id]
    assert sdk.search_servers(name)[0].id == s.id

    new = lib.unique("sdk-cloud-renamed")
    upd = sdk.update_server(s.id, name=new)
    assert upd.name == new
    assert sdk.get_server(new).id == s.id

    assert sdk.set_server_metadata(s.id, {"extra": "1"}) is None
    assert sdk.get_server_by_id(s.id).metadata == {
        "role": "cloud-layer", "extra": "1"}
    sdk.delete_server_metadata(s.id, ["role"])
    assert sdk.get_server_by_id(s.id).metadata == {"extra": "1"}

    out = sdk.get_server_console(s.id)
    assert isinstance(out, str) and "login" in out.lower(), out

    assert sdk.delete_server(s.id, wait=True, timeout=60) is True
    assert sdk.get_server(s.id) is None
    assert http.compute("GET", "/servers/%s" % s.id).status_code == 404
    # deleting it again: nothing to delete
    assert sdk.delete_server(s.id, wait=True, timeout=10) is False


def test_cloud_server_group(sdk, image):
    """conn.create_server_group / get / list / delete_server_group.

    Not conn.create_server(group=...): openstacksdk 0.101 builds
    server_json['os:scheduler_hints'] in cloud/_compute.py create_server but
    never sends server_json (it calls self.compute.create_server(**kwargs)),
    so the hint is dropped client-side; the proxy's scheduler_hints is used
    to boot into the group instead."""
    name = lib.unique("sdk-cg")
    g = sdk.create_server_group(name, policies=["anti-affinity"])
    assert g.name == name
    assert (g.policy or g.policies[0]) == "anti-affinity"
    assert sdk.get_server_group(name).id == g.id
    assert g.id in [x.id for x in sdk.list_server_groups()]
    s = boot(sdk, image, scheduler_hints={"group": g.id})
    try:
        members = sdk.get_server_group(g.id).member_ids
        assert members == [s.id], members
    finally:
        assert sdk.delete_server(s.id, wait=True, timeout=60) is True
    assert sdk.get_server_group(g.id).member_ids == []
    assert sdk.delete_server_group(g.id) is True
    assert sdk.get_server_group(g.id) is None
    assert sdk.delete_server_group(g.id) is False


def test_cloud_layer_as_member(daemon, tenant, sdk, image):
    conn = member_conn(daemon, tenant.member)
    try:
        name = lib.unique("sdk-member")
        s = conn.create_server(name, image=image, flavor="m1.tiny",
                               wait=True, auto_ip=False, timeout=60)
        try:
            assert s.status == "ACTIVE"
            assert s.project_id == tenant.project_id
            assert s.user_id == tenant.member.id
            # os-extended-server-attributes are admin-only
            assert not s.compute_host and not s.hypervisor_hostname
            assert [x.id for x in conn.list_servers()] == [s.id]
            # the admin sees it only across projects
            assert sdk.get_server(s.id, all_projects=True).id == s.id
            assert s.id not in [x.id for x in sdk.list_servers()]
        finally:
            assert conn.delete_server(s.id, wait=True, timeout=60) is True
        assert conn.list_servers() == []
    finally:
        conn.close()


# --------------------------------------------------------------------------
# compute proxy
# --------------------------------------------------------------------------

def test_proxy_create_list_get_update_delete(sdk, image, http):
    name = lib.unique("sdk-proxy")
    s = sdk.compute.create_server(name=name, image_id=image, flavor_id="1",
                                  networks="auto", metadata={"a": "b"},
                                  description="made by the sdk")
    assert s.admin_password and len(s.admin_password) == 12
    s = sdk.compute.wait_for_server(s, status="ACTIVE", **WAIT)
    assert s.status == "ACTIVE"
    assert s.name == name
    assert s.description == "made by the sdk"
    assert s.metadata == {"a": "b"}
    assert s.is_locked is False
    assert s.power_state == 1
    assert s.flavor.original_name == "m1.tiny"
    assert (s.flavor.ram, s.flavor.vcpus, s.flavor.disk) == (512, 1, 1)
    assert s.image.id == image
    assert s.availability_zone == "nova"
    assert s.launched_at and s.terminated_at is None
    assert s.host_status == "UP"
    assert s.instance_name.startswith("instance-")
    assert s.hostname == name
    assert s.reservation_id.startswith("r-")
    assert s.project_id == http.admin_project_id
    assert list(s.addresses) == ["private"]

    listed = list(sdk.compute.servers(details=True, name=name))
    assert [x.id for x in listed] == [s.id]
    assert listed[0].status == "ACTIVE"
    assert listed[0].flavor.original_name == "m1.tiny"
    brief = list(sdk.compute.servers(details=False, name=name))
    assert [(x.id, x.name) for x in brief] == [(s.id, name)]
    assert list(sdk.compute.servers(name="^no-such-server$")) == []
    assert sdk.compute.find_server(name).id == s.id

    got = sdk.compute.get_server(s.id)
    assert (got.id, got.name, got.compute_host) == (s.id, name,
                                                    s.compute_host)

    new = lib.unique("sdk-renamed")
    upd = sdk.compute.update_server(s, name=new, description="changed")
    assert upd.name == new and upd.description == "changed"
    got = sdk.compute.get_server(s.id)
    assert (got.name, got.description) == (new, "changed")

    sdk.compute.delete_server(s)
    sdk.compute.wait_for_delete(s, **WAIT)
    assert sdk.compute.find_server(s.id) is None
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        sdk.compute.get_server(s.id)


def test_actions_and_wait_for_server(sdk, server):
    c = sdk.compute
    steps = [
        (c.stop_server, (), "SHUTOFF", 4),
        (c.start_server, (), "ACTIVE", 1),
        (c.reboot_server, ("SOFT",), "ACTIVE", 1),
        (c.reboot_server, ("HARD",), "ACTIVE", 1),
        (c.pause_server, (), "PAUSED", 3),
        (c.unpause_server, (), "ACTIVE", 1),
        (c.suspend_server, (), "SUSPENDED", 4),
        (c.resume_server, (), "ACTIVE", 1),
    ]
    for call, args, status, power in steps:
        assert call(server, *args) is None
        # wait_for_server returns at once if the object it is given already
        # has the status: give it a fresh one (transitional status now)
        s = c.wait_for_server(c.get_server(server.id), status=status, **WAIT)
        # wait_for_server only looks at status: let the task settle
        deadline = time.time() + 10
        while s.task_state is not None and time.time() < deadline:
            time.sleep(0.05)
            s = c.get_server(server.id)
        assert (s.status, s.task_state, s.power_state) == (
            status, None, power), (call.__name__, args, s.status,
                                   s.task_state, s.power_state)
    names = [a["action"] for a in _instance_actions(c, server)[0]]
    assert names[:9] == ["resume", "suspend", "unpause", "pause", "reboot",
                         "reboot", "start", "stop", "create"], names


def test_hard_reboot_while_soft_rebooting(sdk, server):
    """Nova lets a HARD reboot replace a pending SOFT one: compute/api.py
    reboot() allows task_state REBOOTING/REBOOT_PENDING/REBOOT_STARTED for
    HARD and saves with expected_task_state=task_states.ALLOW_REBOOT (which
    also holds None), so the soft reboot finishing meanwhile is no conflict."""
    c = sdk.compute
    for _ in range(10):
        c.reboot_server(server, "SOFT")
        c.reboot_server(server, "HARD")        # must not raise 409
        s = c.wait_for_server(c.get_server(server.id), status="ACTIVE",
                              **WAIT)
        deadline = time.time() + 10
        while s.task_state is not None and time.time() < deadline:
            time.sleep(0.05)
            s = c.get_server(server.id)
        assert (s.status, s.task_state, s.power_state) == (
            "ACTIVE", None, 1)


def test_action_in_wrong_state_is_conflict(sdk, server):
    with pytest.raises(openstack.exceptions.ConflictException) as e:
        sdk.compute.start_server(server)            # already ACTIVE
    assert "while it is in vm_state active" in str(e.value)
    with pytest.raises(openstack.exceptions.ConflictException):
        sdk.compute.resume_server(server)


def test_lock_unlock(sdk, server, daemon, tenant, image):
    c = sdk.compute
    # Server.lock() sends no microversion: at 2.1 Nova ignores the reason
    # (lock_server.py reads locked_reason only from 2.73)
    c.lock_server(server, locked_reason="ignored before 2.73")
    s = c.get_server(server.id)
    assert s.is_locked is True
    r = c.get("/servers/%s" % server.id, microversion="2.73")
    assert r.json()["server"]["locked_reason"] is None
    c.unlock_server(server)
    assert c.get_server(server.id).is_locked is False

    # Server._action passes microversion=None explicitly, which keystoneauth's
    # Adapter keeps (kwargs.setdefault), so even compute_api_version=2.73
    # does not make lock_server() send a reason: post through the adapter.
    conn = conn_at(daemon, "2.73")
    try:
        r = conn.compute.post("/servers/%s/action" % server.id,
                              json={"lock": {"locked_reason":
                                             "sdk maintenance"}})
        assert r.status_code == 202, r.text
        assert r.headers["OpenStack-API-Version"] == "compute 2.73"
        r = conn.compute.get("/servers/%s" % server.id)
        assert r.headers["OpenStack-API-Version"] == "compute 2.73"
        got = r.json()["server"]
        assert (got["locked"], got["locked_reason"]) == (
            True, "sdk maintenance")
        conn.compute.unlock_server(server.id)
        got = conn.compute.get("/servers/%s" % server.id).json()["server"]
        assert (got["locked"], got["locked_reason"]) == (False, None)
    finally:
        conn.close()

    # a locked server refuses the owner's (non-admin) actions
    conn = member_conn(daemon, tenant.member)
    try:
        ms = boot(conn, image)
        try:
            conn.compute.lock_server(ms)
            assert conn.compute.get_server(ms.id).is_locked is True
            with pytest.raises(openstack.exceptions.ConflictException) as e:
                conn.compute.stop_server(ms)
            assert "is locked" in str(e.value)
            conn.compute.unlock_server(ms)
            conn.compute.stop_server(ms)
            s = conn.compute.wait_for_server(ms, status="SHUTOFF", **WAIT)
            assert s.status == "SHUTOFF"
        finally:
            destroy(conn, ms)
    finally:
        conn.close()


def test_console_output(sdk, server):
    out = sdk.compute.get_server_console_output(server)
    assert set(out) == {"output"}
    assert "login" in out["output"].lower(), out
    tail = sdk.compute.get_server_console_output(server, length=2)["output"]
    lines = tail.rstrip("\n").split("\n")
    assert 0 < len(lines) <= 2
    assert out["output"].rstrip("\n").endswith(tail.rstrip("\n"))


def test_metadata_via_proxy(sdk, server):
    c = sdk.compute
    s = c.set_server_metadata(server, k1="v1", k2="v2")
    assert s.metadata == {"k1": "v1", "k2": "v2"}
    assert c.get_server_metadata(server).metadata == {"k1": "v1",
                                                      "k2": "v2"}
    c.set_server_metadata(server, k2="changed")
    assert c.get_server_metadata(server).metadata == {"k1": "v1",
                                                      "k2": "changed"}
    c.delete_server_metadata(server, ["k1"])
    assert c.get_server_metadata(server).metadata == {"k2": "changed"}
    assert c.get_server(server.id).metadata == {"k2": "changed"}
    # no keys: delete everything
    c.delete_server_metadata(server)
    assert c.get_server_metadata(server).metadata == {}


def test_tags_via_resource(daemon, sdk, server):
    """Server's TagMixin (the proxy has no tag helpers in 0.101).  Its
    requests carry no microversion, so the connection defaults compute to
    2.26 (the tags API does not exist before: 404, as in Nova)."""
    c = sdk.compute
    s = c.get_server(server.id)
    assert s.tags == []
    with pytest.raises(openstack.exceptions.NotFoundException):
        s.add_tag(c, "blue")                    # default 2.1: no tags API
    conn = conn_at(daemon, "2.26")
    try:
        t = conn.compute
        s = t.get_server(server.id)
        s.add_tag(t, "blue")
        s.set_tags(t, ["red", "green"])
        assert sorted(s.fetch_tags(t).tags) == ["green", "red"]
        s.add_tag(t, "blue")
        assert s.check_tag(t, "blue") is s
        with pytest.raises(openstack.exceptions.NotFoundException):
            s.check_tag(t, "nope")
        s.remove_tag(t, "red")
        assert sorted(t.get_server(server.id).tags) == ["blue", "green"]
        assert [x.id for x in t.servers(tags="blue,green")] == [server.id]
        assert [x.id for x in t.servers(tags="red")] == []
        assert [x.id for x in t.servers(not_tags="blue")
                if x.id == server.id] == []
        s.remove_all_tags(t)
        assert t.get_server(server.id).tags == []
    finally:
        conn.close()


def _instance_actions(c, server):
    """conn.compute.server_actions / get_server_action when they work.

    openstacksdk 0.101's ServerAction.base_path is
    '/servers/{server_id}/os-instance-actions' ({} where resource.py expects
    %(server_id)s), so server_actions() raises InvalidResourceQuery
    (server_id) and get_server_action() requests a literal '{server_id}'.
    With that version the same requests go through the proxy's own
    keystoneauth adapter, at the ServerAction resource's max microversion."""
    if "%(server_id)s" in _server_action.ServerAction.base_path:
        actions = [a.to_dict() for a in c.server_actions(server)]

        def show(req):
            return c.get_server_action(req, server).to_dict()
        return actions, show
    mv = _server_action.ServerAction._max_microversion
    base = "/servers/%s/os-instance-actions" % server.id
    r = c.get(base, microversion=mv)
    assert r.status_code == 200, r.text

    def show(req):
        r = c.get("%s/%s" % (base, req), microversion=mv)
        assert r.status_code == 200, r.text
        return r.json()["instanceAction"]
    return r.json()["instanceActions"], show


def test_server_actions(sdk, server):
    c = sdk.compute
    c.stop_server(server)
    c.wait_for_server(c.get_server(server.id), status="SHUTOFF", **WAIT)
    actions, show = _instance_actions(c, server)
    assert [a["action"] for a in actions] == ["stop", "create"], actions
    create = actions[-1]
    assert create["request_id"].startswith("req-")
    assert create["project_id"] == server.project_id
    assert create["user_id"] == server.user_id
    detail = show(create["request_id"])
    assert detail["request_id"] == create["request_id"]
    events = {e["event"]: e for e in detail["events"]}
    build = events["compute__do_build_and_run_instance"]
    assert build["result"] == "Success"
    assert build["host"] == server.compute_host        # admin, 2.62+
    assert "details" in build                          # admin, 2.84
    sched = events["conductor_schedule_and_build_instances"]
    assert sched["result"] == "Success"
    assert isinstance(sched["host"], str), sched  # Tempest v2_62: string
    stop = show(actions[0]["request_id"])
    assert [e["event"] for e in stop["events"]] == [
        "compute_stop_instance"], stop


def test_server_group_proxy(sdk, image):
    c = sdk.compute
    g = c.create_server_group(name=lib.unique("sdk-sg"), policy="affinity")
    assert g.policy == "affinity"
    assert g.member_ids == []
    assert c.get_server_group(g.id).name == g.name
    assert g.id in [x.id for x in c.server_groups()]
    s = boot(sdk, image, scheduler_hints={"group": g.id})
    try:
        assert c.get_server_group(g.id).member_ids == [s.id]
        assert c.get_server(s.id).server_groups == [g.id]     # 2.71
    finally:
        destroy(sdk, s)
    c.delete_server_group(g)
    assert c.find_server_group(g.id) is None
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        c.get_server_group(g.id)


def test_hypervisors_services_azs(sdk, server):
    c = sdk.compute
    hvs = list(c.hypervisors(details=True))
    assert hvs, "no hypervisors"
    mine = [h for h in hvs if h.name == server.hypervisor_hostname]
    assert len(mine) == 1, [h.name for h in hvs]
    h = mine[0]
    assert (h.state, h.status) == ("up", "enabled")
    assert c.get_hypervisor(h.id).name == h.name
    assert c.find_hypervisor(h.name).id == h.id

    svcs = list(c.services())
    comp = [s for s in svcs if s.binary == "nova-compute"
            and s.host == server.compute_host]
    assert len(comp) == 1, [(s.binary, s.host) for s in svcs]
    assert (comp[0].state, comp[0].status) == ("up", "enabled")
    assert comp[0].availability_zone == "nova"
    assert list(c.services(binary="nova-compute", host=server.compute_host)
                )[0].id == comp[0].id

    azs = {z.name: z for z in c.availability_zones()}
    assert azs["nova"].state == {"available": True}
    detailed = {z.name: z for z in c.availability_zones(details=True)}
    assert server.compute_host in detailed["nova"].hosts
    assert "nova-compute" in detailed["nova"].hosts[server.compute_host]


def test_delete_server_wait(sdk, image):
    s = boot(sdk, image)
    sdk.compute.delete_server(s)
    assert sdk.compute.wait_for_delete(s, **WAIT) is s
    assert sdk.compute.find_server(s.id) is None
    # ignore_missing: deleting a deleted server is fine, or a 404
    assert sdk.compute.delete_server(s, ignore_missing=True) is None
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        sdk.compute.delete_server(s, ignore_missing=False)
