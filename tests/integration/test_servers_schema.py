"""Validate the servers API responses against Tempest's JSON schemas.

Schemas: tempest/lib/api_schema/response/compute/v2_*/servers.py
(python3-tempest).  The schema module for a microversion is chosen from
ServersClient.schema_versions_info exactly like BaseComputeClient.get_schema()
does (the newest module <= the microversion); the requests mirror what
tempest/lib/services/compute/servers_client.py sends and validates:

  create_server           v2_1 create_server_with_admin_pass (any version)
  show/list/detail/update get_schema(...).get_server / list_servers /
                          list_servers_detail / update_server
  os-instance-actions     v2_1 list_instance_actions, get_schema(...)
                          .show_instance_action
  ips/metadata/console    v2_1 list_addresses*, *_metadata*,
                          get_console_output
  tags                    get_schema(...).list_tags & friends
  createImage             images_client: v2_1 create_image (Location), v2_45
                          (image_id)

Remote consoles (v2_1 get_vnc_console, v2_6/v2_8 get_remote_consoles) are
validated in test_snapshots_consoles.py, whose raw agent reports the guest's
VNC address.

Where Tempest has no schema for a field Nova adds (instance-action list
`updated_at` from 2.58, event `details` from 2.84) the Tempest schema is
extended by exactly that field, citing Nova's source; everything else is
Tempest's schema unchanged.  Every test also checks concrete values.
"""

import copy
import hashlib
import re

import pytest

import novalite_testlib as lib
from test_responses_schema import validate  # noqa: E402  (one validator for all schema tests)

pytestmark = pytest.mark.usefixtures("roomy_quota")
wait_status = lib.wait_server

pytest.importorskip("tempest.lib.services.compute.servers_client",
                    reason="python3-tempest is required for schema tests")

from tempest.lib.api_schema.response.compute.v2_1 import (  # noqa: E402
    parameter_types,
    servers as servers_v21,
)
from tempest.lib.common import api_version_request as avr  # noqa: E402
from tempest.lib.services.compute import servers_client  # noqa: E402

VIEW_MVS = ["2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.54",
            "2.57", "2.62", "2.63", "2.70", "2.71", "2.73", "2.75", "2.79",
            "2.89", "2.90"]
CREATE_MVS = ["2.1", "2.19", "2.37", "2.52", "2.57", "2.63", "2.74", "2.90"]
ACTION_MVS = ["2.1", "2.21", "2.51", "2.58", "2.62", "2.84"]
ROLES = ["admin", "member"]

DATE_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# views/servers.py: launched_at is str() of a naive datetime, serialized by
# oslo jsonutils as %Y-%m-%dT%H:%M:%S.%f
LAUNCHED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")
MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
TRUSTED_CERT = "0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8"


# --------------------------------------------------------------------------
# schema selection / validation
# --------------------------------------------------------------------------

def vge(mv, other):
    return avr.APIVersionRequest(mv) >= avr.APIVersionRequest(other)


def schema_module(mv):
    """BaseComputeClient.get_schema(ServersClient.schema_versions_info)."""
    want = avr.APIVersionRequest(mv)
    for item in servers_client.ServersClient.schema_versions_info:
        if want.matches(avr.APIVersionRequest(item["min"]),
                        avr.APIVersionRequest(item["max"])):
            return item["schema"]
    raise AssertionError("no tempest servers schema for %s" % mv)


def list_actions_schema(mv):
    """Tempest validates the list with v2_1 at every version.  From 2.58 Nova
    adds updated_at to each action (instance_actions.py ACTION_KEYS_V258) and
    `links` when paging (2.58 index: actions_dict['links']): extend for it."""
    s = copy.deepcopy(servers_v21.list_instance_actions)
    if vge(mv, "2.58"):
        body = s["response_body"]
        item = body["properties"]["instanceActions"]["items"]
        item["properties"]["updated_at"] = parameter_types.date_time_or_null
        item["required"].append("updated_at")
        body["properties"]["links"] = parameter_types.links
    return s


def show_action_schema(mv):
    """get_schema(...).show_instance_action; from 2.84 Nova's _format_event
    adds event['details'] (instance_actions.py `if show_details:`), which no
    Tempest module describes: extend the newest one by that field."""
    s = copy.deepcopy(schema_module(mv).show_instance_action)
    if vge(mv, "2.84"):
        ev = s["response_body"]["properties"]["instanceAction"][
            "properties"]["events"]["items"]
        ev["properties"]["details"] = {"type": ["string", "null"]}
    return s




# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def host_id(project_id, host):
    """nova/utils.py generate_hostid()."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode("utf-8")).hexdigest()




def boot(http, image, token=lib._DEFAULT, microversion=None, flavor="1",
         name=None, **extra):
    """POST /servers; returns (server id, create response)."""
    body = {"server": dict({"name": name or lib.unique("schema-vm"),
                            "imageRef": image, "flavorRef": flavor}, **extra)}
    hints = body["server"].pop("scheduler_hints", None)
    if hints:
        body["os:scheduler_hints"] = hints
    r = http.compute("POST", "/servers", token=token, json=body,
                     microversion=microversion)
    assert r.status_code == 202, r.text
    return r.json()["server"]["id"], r


def delete(http, sid):
    r = http.compute("DELETE", "/servers/%s" % sid)
    assert r.status_code in (204, 404), r.text
    wait_status(http, sid, "DELETED")


def check_links(links, sid, daemon):
    rels = {link["rel"]: link["href"] for link in links}
    assert rels == {
        "self": "%s/servers/%s" % (daemon.compute_url, sid),
        "bookmark": "%s/servers/%s" % (daemon.compute_root, sid)}, links


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------





@pytest.fixture(scope="module")
def group(http):
    r = http.compute("POST", "/os-server-groups", microversion="2.64",
                     json={"server_group": {"name": lib.unique("schema-sg"),
                                            "policy": "anti-affinity"}})
    assert r.status_code == 200, r.text
    return r.json()["server_group"]["id"]


class Shared:
    """One ACTIVE server per role, booted at 2.52 with tags, description and
    metadata; the admin's is in a server group."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.fixture(scope="module")
def shared(http, image, tenant, group):
    out = {}
    for role in ROLES:
        token = lib._DEFAULT if role == "admin" else tenant.member.token
        name = lib.unique("schema-%s" % role)
        extra = {"networks": "auto", "tags": ["alpha", "beta"],
                 "description": "shared %s box" % role,
                 "metadata": {"k": "v"}}
        if role == "admin":
            extra["scheduler_hints"] = {"group": group}
        sid, r = boot(http, image, token=token, microversion="2.52",
                      name=name, **extra)
        out[role] = Shared(sid=sid, name=name, role=role, token=token,
                           create_req=r.headers["x-openstack-request-id"],
                           project_id=(http.admin_project_id
                                       if role == "admin"
                                       else tenant.project_id),
                           user_id=(http.admin_user_id if role == "admin"
                                    else tenant.member.id),
                           group=group if role == "admin" else None)
    for srv in out.values():
        s = wait_status(http, srv.sid, "ACTIVE")     # admin view: host
        srv.host = s["OS-EXT-SRV-ATTR:host"]
        srv.node = s["OS-EXT-SRV-ATTR:hypervisor_hostname"]
        assert srv.host, s
    return out


@pytest.fixture(scope="module")
def huge_flavor(http):
    r = http.compute("POST", "/flavors", json={"flavor": {
        "name": lib.unique("schema-huge"), "ram": 10 ** 7, "vcpus": 1,
        "disk": 1}})
    assert r.status_code == 200, r.text
    return r.json()["flavor"]["id"]


@pytest.fixture(scope="module")
def errored(http, image, tenant, huge_flavor):
    """A member's server that no host fits: ERROR with a fault."""
    r = http.compute("PUT", "/os-quota-sets/%s" % tenant.project_id,
                     json={"quota_set": {"ram": -1}})
    assert r.status_code == 200, r.text
    sid, _ = boot(http, image, token=tenant.member.token, flavor=huge_flavor,
                  name=lib.unique("schema-err"))
    wait_status(http, sid, "ERROR")
    return sid


def token_for(role, tenant):
    return lib._DEFAULT if role == "admin" else tenant.member.token


# --------------------------------------------------------------------------
# the server view
# --------------------------------------------------------------------------

def check_server(s, srv, mv, role, daemon, image, is_show):
    """Concrete values of the shared server's view (views/servers.py show)."""
    assert s["id"] == srv.sid
    assert s["name"] == srv.name
    assert s["status"] == "ACTIVE"
    assert s["tenant_id"] == srv.project_id
    assert s["user_id"] == srv.user_id
    assert s["metadata"] == {"k": "v"}
    assert s["hostId"] == host_id(srv.project_id, srv.host), s["hostId"]
    assert s["image"] == {"id": image, "links": [{
        "rel": "bookmark",
        "href": "%s/images/%s" % (daemon.compute_root, image)}]}
    if vge(mv, "2.47"):
        flavor = {"vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0,
                  "swap": 0, "original_name": "m1.tiny",
                  # servers:show:flavor-extra-specs is PROJECT_READER_OR_ADMIN
                  "extra_specs": {}}
        assert s["flavor"] == flavor
    else:
        assert s["flavor"] == {"id": "1", "links": [{
            "rel": "bookmark",
            "href": "%s/flavors/1" % daemon.compute_root}]}
    assert DATE_Z.match(s["created"]), s["created"]
    assert DATE_Z.match(s["updated"]), s["updated"]
    assert s["created"] <= s["updated"]
    check_links(s["links"], srv.sid, daemon)
    assert s["OS-DCF:diskConfig"] == "MANUAL"
    assert (s["accessIPv4"], s["accessIPv6"]) == ("", "")
    assert s["progress"] == 0
    assert "fault" not in s
    nets = s["addresses"]
    assert list(nets) == ["private"], nets
    a = nets["private"][0]
    assert a["version"] == 4 and a["OS-EXT-IPS:type"] == "fixed", a
    assert MAC.match(a["OS-EXT-IPS-MAC:mac_addr"]), a
    assert s["OS-EXT-AZ:availability_zone"] == "nova"
    assert s["config_drive"] == ""
    assert s["key_name"] is None
    assert LAUNCHED.match(s["OS-SRV-USG:launched_at"]), s
    assert s["OS-SRV-USG:terminated_at"] is None
    assert s["security_groups"] == [{"name": "default"}]
    assert (s["OS-EXT-STS:vm_state"], s["OS-EXT-STS:power_state"],
            s["OS-EXT-STS:task_state"]) == ("active", 1, None)
    assert s["os-extended-volumes:volumes_attached"] == []

    ext = {k for k in s if k.startswith("OS-EXT-SRV-ATTR:")}
    if role == "admin":       # os_compute_api:os-extended-server-attributes
        base = {"host", "instance_name", "hypervisor_hostname"}
        v23 = {"reservation_id", "launch_index", "hostname", "kernel_id",
               "ramdisk_id", "root_device_name", "user_data"}
        want = base | (v23 if vge(mv, "2.3") else set())
        assert ext == {"OS-EXT-SRV-ATTR:" + k for k in want}, ext
        assert s["OS-EXT-SRV-ATTR:host"] == srv.host
        assert s["OS-EXT-SRV-ATTR:hypervisor_hostname"] == srv.node
        assert re.match(r"^instance-[0-9a-f]{8}$",
                        s["OS-EXT-SRV-ATTR:instance_name"]), s
        if vge(mv, "2.3"):
            assert s["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
            assert s["OS-EXT-SRV-ATTR:launch_index"] == 0
            assert s["OS-EXT-SRV-ATTR:hostname"] == srv.name
            assert s["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
            assert s["OS-EXT-SRV-ATTR:user_data"] is None
    elif vge(mv, "2.90"):     # 2.90: hostname visible to everyone
        assert ext == {"OS-EXT-SRV-ATTR:hostname"}, ext
        assert s["OS-EXT-SRV-ATTR:hostname"] == srv.name
    else:
        assert ext == set(), ext

    def only_from(key, version, value):
        if vge(mv, version):
            assert key in s, (key, mv)
            got = s[key]
            if isinstance(value, list):
                got, value = sorted(got), sorted(value)
            assert got == value, (key, mv, s[key])
        else:
            assert key not in s, (key, mv)

    only_from("locked", "2.9", False)
    only_from("description", "2.19", "shared %s box" % role)
    only_from("tags", "2.26", ["alpha", "beta"])
    only_from("trusted_image_certificates", "2.63", None)
    only_from("locked_reason", "2.73", None)
    if role == "admin" and vge(mv, "2.16"):    # servers:show:host_status
        assert s["host_status"] == "UP"
    else:
        assert "host_status" not in s
    # server_groups: show (and update/rebuild) only, from 2.71
    if is_show and vge(mv, "2.71"):
        assert s["server_groups"] == ([srv.group] if srv.group else [])
    else:
        assert "server_groups" not in s


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mv", VIEW_MVS)
def test_show_server(http, daemon, image, shared, mv, role):
    srv = shared[role]
    s = validate(schema_module(mv).get_server,
                 http.compute("GET", "/servers/%s" % srv.sid,
                              token=srv.token, microversion=mv), mv)
    check_server(s["server"], srv, mv, role, daemon, image, is_show=True)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mv", VIEW_MVS)
def test_list_servers(http, daemon, shared, tenant, mv, role):
    srv = shared[role]
    body = validate(schema_module(mv).list_servers,
                    http.compute("GET", "/servers", token=srv.token,
                                 microversion=mv), mv)
    by_id = {s["id"]: s for s in body["servers"]}
    assert srv.sid in by_id, body
    assert by_id[srv.sid]["name"] == srv.name
    check_links(by_id[srv.sid]["links"], srv.sid, daemon)
    other = shared["member" if role == "admin" else "admin"]
    assert other.sid not in by_id            # own project only by default
    body = validate(schema_module(mv).list_servers,
                    http.compute("GET", "/servers", token=srv.token,
                                 microversion=mv,
                                 params={"name": srv.name}), mv)
    assert [s["id"] for s in body["servers"]] == [srv.sid]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mv", VIEW_MVS)
def test_list_servers_detail(http, daemon, image, shared, mv, role):
    srv = shared[role]
    body = validate(schema_module(mv).list_servers_detail,
                    http.compute("GET", "/servers/detail", token=srv.token,
                                 microversion=mv,
                                 params={"name": srv.name}), mv)
    assert [s["id"] for s in body["servers"]] == [srv.sid], body
    check_server(body["servers"][0], srv, mv, role, daemon, image,
                 is_show=False)


@pytest.mark.parametrize("mv", ["2.1", "2.47", "2.90"])
def test_admin_detail_all_tenants(http, shared, mv):
    body = validate(schema_module(mv).list_servers_detail,
                    http.compute("GET", "/servers/detail", microversion=mv,
                                 params={"all_tenants": "1"}), mv)
    ids = {s["id"]: s for s in body["servers"]}
    assert {shared["admin"].sid, shared["member"].sid} <= set(ids)
    assert ids[shared["member"].sid]["tenant_id"] == \
        shared["member"].project_id


def test_locked_reason(http, shared):
    """2.73: lock with a reason; locked_reason shows it to the owner."""
    srv = shared["member"]
    path = "/servers/%s" % srv.sid
    r = http.compute("POST", path + "/action", token=srv.token,
                     microversion="2.73",
                     json={"lock": {"locked_reason": "maintenance"}})
    assert r.status_code == 202, r.text
    try:
        for mv in ("2.73", "2.79", "2.90"):
            s = validate(schema_module(mv).get_server,
                         http.compute("GET", path, token=srv.token,
                                      microversion=mv), mv)["server"]
            assert s["locked"] is True
            assert s["locked_reason"] == "maintenance"
        s = http.compute("GET", path, token=srv.token,
                         microversion="2.72").json()["server"]
        assert s["locked"] is True and "locked_reason" not in s
    finally:
        r = http.compute("POST", path + "/action", token=srv.token,
                         json={"unlock": None})
        assert r.status_code == 202, r.text
    s = http.compute("GET", path, token=srv.token,
                     microversion="2.73").json()["server"]
    assert (s["locked"], s["locked_reason"]) == (False, None)


# --------------------------------------------------------------------------
# create
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mv", CREATE_MVS)
def test_create_server(http, daemon, image, shared, mv):
    name = lib.unique("schema-new")
    extra = {}
    if vge(mv, "2.37"):
        extra["networks"] = "auto"
    if vge(mv, "2.19"):
        extra["description"] = "created at " + mv
    if vge(mv, "2.52"):
        extra["tags"] = ["t-" + mv.replace(".", "-")]
    if vge(mv, "2.57"):
        extra["user_data"] = "IyEvYmluL3NoCmVjaG8gaGkK"   # #!/bin/sh echo hi
    if vge(mv, "2.63"):
        extra["trusted_image_certificates"] = [TRUSTED_CERT]
    if vge(mv, "2.74"):
        extra["host"] = shared["admin"].host
        extra["hypervisor_hostname"] = shared["admin"].node
    if vge(mv, "2.90"):
        extra["hostname"] = "custom-host-290"
    sid, r = boot(http, image, microversion=mv, name=name, **extra)
    try:
        body = validate(servers_v21.create_server_with_admin_pass, r, mv)
        s = body["server"]
        assert UUID.match(s["id"]), s
        check_links(s["links"], s["id"], daemon)
        assert r.headers["Location"] == "%s/servers/%s" % (
            daemon.compute_url, s["id"])
        assert len(s["adminPass"]) == 12      # CONF.password_length
        assert s["OS-DCF:diskConfig"] == "MANUAL"
        assert s["security_groups"] == [{"name": "default"}]

        wait_status(http, sid, "ACTIVE")
        show_mv = max(mv, "2.3", key=avr.APIVersionRequest)
        g = validate(schema_module(show_mv).get_server,
                     http.compute("GET", "/servers/%s" % sid,
                                  microversion=show_mv),
                     show_mv)["server"]
        assert g["name"] == name
        assert g["OS-EXT-SRV-ATTR:user_data"] == extra.get("user_data")
        if vge(mv, "2.19"):
            assert g["description"] == "created at " + mv
        if vge(mv, "2.52"):
            assert g["tags"] == extra["tags"]
        if vge(mv, "2.63"):
            assert g["trusted_image_certificates"] == [TRUSTED_CERT]
        if vge(mv, "2.74"):
            assert g["OS-EXT-SRV-ATTR:host"] == extra["host"]
            assert g["OS-EXT-SRV-ATTR:hypervisor_hostname"] == \
                extra["hypervisor_hostname"]
        if vge(mv, "2.90"):
            assert g["OS-EXT-SRV-ATTR:hostname"] == "custom-host-290"
        else:
            assert g["OS-EXT-SRV-ATTR:hostname"] == name
    finally:
        delete(http, sid)


def test_create_with_reservation_id(http, image):
    """2.52 return_reservation_id: body is {"reservation_id": ...} (Tempest
    skips the schema for it: servers_client.create_server)."""
    name = lib.unique("schema-rsv")
    r = http.compute("POST", "/servers", microversion="2.52", json={
        "server": {"name": name, "imageRef": image, "flavorRef": "1",
                   "networks": "none", "min_count": 2,
                   "return_reservation_id": True}})
    assert r.status_code == 202, r.text
    body = r.json()
    assert list(body) == ["reservation_id"], body
    rid = body["reservation_id"]
    assert re.match(r"^r-[0-9a-z]{8}$", rid), rid
    listed = validate(schema_module("2.52").list_servers_detail,
                      http.compute("GET", "/servers/detail",
                                   microversion="2.52",
                                   params={"reservation_id": rid}), "2.52")
    names = sorted(s["name"] for s in listed["servers"])
    assert names == ["%s-1" % name, "%s-2" % name]
    for s in listed["servers"]:
        assert s["OS-EXT-SRV-ATTR:reservation_id"] == rid
        delete(http, s["id"])


# --------------------------------------------------------------------------
# update
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def upd(http, image, tenant):
    out = {}
    for role in ROLES:
        token = token_for(role, tenant)
        sid, _ = boot(http, image, token=token,
                      name=lib.unique("schema-upd-%s" % role))
        out[role] = sid
    for sid in out.values():
        wait_status(http, sid, "ACTIVE")
    return out


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mv", ["2.1", "2.19", "2.75"])
def test_update_server(http, daemon, upd, tenant, mv, role):
    sid = upd[role]
    token = token_for(role, tenant)
    new = lib.unique("renamed")
    server = {"name": new}
    if vge(mv, "2.19"):
        server["description"] = "updated at " + mv
    r = http.compute("PUT", "/servers/%s" % sid, token=token,
                     microversion=mv, json={"server": server})
    s = validate(schema_module(mv).update_server, r, mv)["server"]
    assert s["id"] == sid and s["name"] == new
    assert s["status"] == "ACTIVE"
    assert s["metadata"] == {}
    check_links(s["links"], sid, daemon)
    if vge(mv, "2.19"):
        assert s["description"] == "updated at " + mv
    else:
        assert "description" not in s
    addr = s["addresses"]["private"][0]
    if vge(mv, "2.75"):
        # 2.75: PUT returns the same attributes as GET (servers.py update)
        assert addr["OS-EXT-IPS:type"] == "fixed"
        assert s["OS-EXT-STS:vm_state"] == "active"
        assert s["OS-EXT-AZ:availability_zone"] == "nova"
        assert s["key_name"] is None
        assert s["security_groups"] == [{"name": "default"}]
        assert s["server_groups"] == []
        assert s["locked_reason"] is None
        if role == "admin":
            assert s["OS-EXT-SRV-ATTR:host"]
            assert s["host_status"] == "UP"
        else:
            assert "OS-EXT-SRV-ATTR:host" not in s
            assert "host_status" not in s
    else:
        # extend_address=False and no extended attributes before 2.75
        assert set(addr) == {"version", "addr"}, addr
        for k in ("OS-EXT-STS:vm_state", "OS-EXT-SRV-ATTR:host",
                  "OS-EXT-AZ:availability_zone", "key_name",
                  "security_groups", "host_status", "config_drive",
                  "OS-SRV-USG:launched_at"):
            assert k not in s, k
    g = http.compute("GET", "/servers/%s" % sid, token=token,
                     microversion=mv).json()["server"]
    assert g["name"] == new


# --------------------------------------------------------------------------
# ERROR with a fault
# --------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mv", ["2.1", "2.16", "2.47", "2.71", "2.90"])
def test_error_server_fault(http, tenant, errored, huge_flavor, mv, role):
    token = token_for(role, tenant)
    s = validate(schema_module(mv).get_server,
                 http.compute("GET", "/servers/%s" % errored, token=token,
                              microversion=mv), mv)["server"]
    assert s["status"] == "ERROR"
    assert s["OS-EXT-STS:vm_state"] == "error"
    assert s["OS-EXT-STS:task_state"] is None
    assert s["OS-EXT-STS:power_state"] == 0          # NOSTATE
    assert "progress" not in s      # only for the _progress_statuses
    assert s["hostId"] == ""
    assert s["OS-SRV-USG:launched_at"] is None
    f = s["fault"]
    assert f["code"] == 500
    assert f["message"].startswith("No valid host was found."), f
    assert DATE_Z.match(f["created"]), f
    if role == "admin":
        assert s["OS-EXT-SRV-ATTR:host"] is None
        assert s["OS-EXT-SRV-ATTR:hypervisor_hostname"] is None
        if vge(mv, "2.16"):
            # compute API get_instance_host_status: no host -> NONE ("")
            assert s["host_status"] == ""
    else:
        # views/servers.py _get_fault: details of a 500 fault: admin only
        assert "details" not in f, f
        assert "host_status" not in s
    if vge(mv, "2.47"):
        assert s["flavor"]["ram"] == 10 ** 7
    else:
        assert s["flavor"]["id"] == huge_flavor
    if vge(mv, "2.71"):
        assert s["server_groups"] == []
    body = validate(schema_module(mv).list_servers_detail,
                    http.compute("GET", "/servers/detail", token=token,
                                 microversion=mv,
                                 params={"status": "ERROR",
                                         "all_tenants": "1"}
                                 if role == "admin" else
                                 {"status": "ERROR"}), mv)
    errs = {x["id"]: x for x in body["servers"]}
    assert errored in errs
    assert errs[errored]["fault"]["message"] == f["message"]
    # Scheduling failed before any network was allocated (Nova allocates
    # ports in the compute manager's _build_resources): no addresses.
    assert s["addresses"] == {}, s["addresses"]


# --------------------------------------------------------------------------
# os-instance-actions
# --------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mv", ACTION_MVS)
def test_instance_actions(http, shared, mv, role):
    srv = shared[role]
    base = "/servers/%s/os-instance-actions" % srv.sid
    body = validate(list_actions_schema(mv),
                    http.compute("GET", base, token=srv.token,
                                 microversion=mv), mv)
    acts = {a["request_id"]: a for a in body["instanceActions"]}
    assert srv.create_req in acts, body
    a = acts[srv.create_req]
    assert (a["action"], a["instance_uuid"], a["user_id"],
            a["project_id"], a["message"]) == (
        "create", srv.sid, srv.user_id, srv.project_id, None)
    assert ("updated_at" in a) == vge(mv, "2.58"), a

    body = validate(show_action_schema(mv),
                    http.compute("GET", "%s/%s" % (base, srv.create_req),
                                 token=srv.token, microversion=mv), mv)
    act = body["instanceAction"]
    assert (act["action"], act["request_id"], act["instance_uuid"]) == (
        "create", srv.create_req, srv.sid)
    assert act["start_time"] == a["start_time"]
    assert ("updated_at" in act) == vge(mv, "2.58"), act
    # instance_actions.py show(): events always for admin (policy
    # os-instance-actions:events is ADMIN); for others from 2.51.
    if role == "member" and not vge(mv, "2.51"):
        assert "events" not in act, act
        return
    events = {e["event"]: e for e in act["events"]}
    assert {"conductor_schedule_and_build_instances",
            "compute__do_build_and_run_instance"} <= set(events), events
    for e in events.values():
        assert e["result"] == "Success", e
        assert e["finish_time"] is not None
        keys = set(e)
        assert ("traceback" in keys) == (role == "admin"), e
        assert ("host" in keys) == (role == "admin" and vge(mv, "2.62")), e
        assert ("hostId" in keys) == vge(mv, "2.62"), e
        # events:details policy is ADMIN, shown from 2.84
        assert ("details" in keys) == (role == "admin" and
                                       vge(mv, "2.84")), e
        if role == "admin" and vge(mv, "2.62"):
            assert e["hostId"] == host_id(srv.project_id, e["host"]), e
    build = events["compute__do_build_and_run_instance"]
    if role == "admin" and vge(mv, "2.62"):
        assert build["host"] == srv.host
    if vge(mv, "2.62"):
        assert build["hostId"] == host_id(srv.project_id, srv.host)


def test_instance_actions_of_deleted_server(http, image):
    """2.21: actions of a deleted server stay readable (read_deleted=yes)."""
    sid, r = boot(http, image)
    wait_status(http, sid, "ACTIVE")
    d = http.compute("DELETE", "/servers/%s" % sid)
    assert d.status_code == 204
    del_req = d.headers["x-openstack-request-id"]
    wait_status(http, sid, "DELETED")
    base = "/servers/%s/os-instance-actions" % sid
    r1 = http.compute("GET", base, microversion="2.20")
    assert r1.status_code == 404, r1.text
    body = validate(list_actions_schema("2.21"),
                    http.compute("GET", base, microversion="2.21"), "2.21")
    got = {a["request_id"]: a["action"] for a in body["instanceActions"]}
    assert got[del_req] == "delete"
    assert got[r.headers["x-openstack-request-id"]] == "create"
    # newest first (nova/db actions_get: order by created_at desc)
    assert body["instanceActions"][0]["action"] == "delete"
    body = validate(show_action_schema("2.21"),
                    http.compute("GET", "%s/%s" % (base, del_req),
                                 microversion="2.21"), "2.21")
    assert body["instanceAction"]["action"] == "delete"


# --------------------------------------------------------------------------
# ips, metadata, tags, console
# --------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_ips(http, shared, role):
    srv = shared[role]
    full = http.compute("GET", "/servers/%s" % srv.sid,
                        token=srv.token).json()["server"]["addresses"]
    want = {net: [{"version": a["version"], "addr": a["addr"]}
                  for a in addrs] for net, addrs in full.items()}
    body = validate(servers_v21.list_addresses,
                    http.compute("GET", "/servers/%s/ips" % srv.sid,
                                 token=srv.token, microversion="2.1"), "2.1")
    assert body == {"addresses": want}
    body = validate(servers_v21.list_addresses_by_network,
                    http.compute("GET", "/servers/%s/ips/private" % srv.sid,
                                 token=srv.token, microversion="2.1"), "2.1")
    assert body == {"private": want["private"]}
    r = http.compute("GET", "/servers/%s/ips/nonet" % srv.sid,
                     token=srv.token)
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("role", ROLES)
def test_metadata(http, image, tenant, role):
    token = token_for(role, tenant)
    sid, _ = boot(http, image, token=token, metadata={"a": "1"})
    wait_status(http, sid, "ACTIVE")      # 409 while building, as in Nova
    try:
        base = "/servers/%s/metadata" % sid
        body = validate(servers_v21.list_server_metadata,
                        http.compute("GET", base, token=token))
        assert body == {"metadata": {"a": "1"}}
        body = validate(servers_v21.update_server_metadata,
                        http.compute("POST", base, token=token,
                                     json={"metadata": {"b": "2"}}))
        assert body == {"metadata": {"a": "1", "b": "2"}}
        body = validate(servers_v21.set_server_metadata,
                        http.compute("PUT", base, token=token,
                                     json={"metadata": {"c": "3",
                                                        "d": "4"}}))
        assert body == {"metadata": {"c": "3", "d": "4"}}
        body = validate(servers_v21.set_show_server_metadata_item,
                        http.compute("PUT", base + "/e", token=token,
                                     json={"meta": {"e": "5"}}))
        assert body == {"meta": {"e": "5"}}
        body = validate(servers_v21.set_show_server_metadata_item,
                        http.compute("GET", base + "/c", token=token))
        assert body == {"meta": {"c": "3"}}
        validate(servers_v21.delete_server_metadata_item,
                 http.compute("DELETE", base + "/d", token=token))
        body = validate(servers_v21.list_server_metadata,
                        http.compute("GET", base, token=token))
        assert body == {"metadata": {"c": "3", "e": "5"}}
        s = http.compute("GET", "/servers/%s" % sid,
                         token=token).json()["server"]
        assert s["metadata"] == {"c": "3", "e": "5"}
        assert http.compute("GET", base + "/d",
                            token=token).status_code == 404
    finally:
        delete(http, sid)


@pytest.mark.parametrize("mv", ["2.26", "2.79", "2.93"])
def test_tags(http, daemon, image, tenant, mv):
    token = tenant.member.token
    sid, _ = boot(http, image, token=token)
    wait_status(http, sid, "ACTIVE")      # 409 while building, as in Nova
    try:
        sch = schema_module(mv)
        base = "/servers/%s/tags" % sid
        body = validate(sch.list_tags, http.compute(
            "GET", base, token=token, microversion=mv), mv)
        assert body == {"tags": []}
        body = validate(sch.update_all_tags, http.compute(
            "PUT", base, token=token, microversion=mv,
            json={"tags": ["x", "y"]}), mv)
        assert sorted(body["tags"]) == ["x", "y"]
        r = http.compute("PUT", base + "/z", token=token, microversion=mv)
        validate(sch.update_tag, r, mv)
        assert r.status_code == 201      # a new tag (201), existing: 204
        assert r.headers["Location"] == "%s/servers/%s/tags/z" % (
            daemon.compute_url, sid)
        r = http.compute("PUT", base + "/z", token=token, microversion=mv)
        validate(sch.update_tag, r, mv)
        assert r.status_code == 204
        validate(sch.check_tag_existence, http.compute(
            "GET", base + "/x", token=token, microversion=mv), mv)
        assert http.compute("GET", base + "/nope", token=token,
                            microversion=mv).status_code == 404
        validate(sch.delete_tag, http.compute(
            "DELETE", base + "/x", token=token, microversion=mv), mv)
        body = validate(sch.list_tags, http.compute(
            "GET", base, token=token, microversion=mv), mv)
        assert sorted(body["tags"]) == ["y", "z"]
        validate(sch.delete_all_tags, http.compute(
            "DELETE", base, token=token, microversion=mv), mv)
        body = validate(sch.list_tags, http.compute(
            "GET", base, token=token, microversion=mv), mv)
        assert body == {"tags": []}
        # tags API does not exist before 2.26
        assert http.compute("GET", base, token=token,
                            microversion="2.25").status_code == 404
    finally:
        delete(http, sid)


@pytest.mark.parametrize("role", ROLES)
def test_console_output(http, shared, role):
    srv = shared[role]
    path = "/servers/%s/action" % srv.sid
    body = validate(servers_v21.get_console_output,
                    http.compute("POST", path, token=srv.token,
                                 microversion="2.1",
                                 json={"os-getConsoleOutput": {}}), "2.1")
    out = body["output"]
    assert "login" in out.lower(), out
    body = validate(servers_v21.get_console_output,
                    http.compute("POST", path, token=srv.token,
                                 json={"os-getConsoleOutput":
                                       {"length": 3}}))
    # Nova's tail: '\n'.join(log.split('\n')[-length:])
    assert body["output"] == "\n".join(out.split("\n")[-3:]), body
    assert len(body["output"].split("\n")) == 3
    # length -1 means the whole log (schemas/console_output.py)
    body = validate(servers_v21.get_console_output,
                    http.compute("POST", path, token=srv.token,
                                 json={"os-getConsoleOutput":
                                       {"length": -1}}))
    assert body["output"] == out


@pytest.mark.parametrize("mv", ["2.1", "2.44", "2.45", "2.93"])
def test_create_image(http, daemon, shared, mv):
    """images_client.create_image: before 2.45 202 + Location (a URI), from
    2.45 {"image_id"} (ImagesClient.schema_versions_info picks the module).
    Which agent finishes the snapshot does not matter here: the server only
    has to come back to ACTIVE with no task."""
    from tempest.lib.services.compute import images_client
    srv = shared["member"]
    want = avr.APIVersionRequest(mv)
    schema = [i["schema"] for i in images_client.ImagesClient
              .schema_versions_info
              if want.matches(avr.APIVersionRequest(i["min"]),
                              avr.APIVersionRequest(i["max"]))][0]
    r = http.compute("POST", "/servers/%s/action" % srv.sid, token=srv.token,
                     microversion=mv,
                     json={"createImage": {"name": lib.unique("schema-snap"),
                                           "metadata": {"k": "v"}}})
    body = validate(schema.create_image, r, mv)
    if vge(mv, "2.45"):
        image_id = body["image_id"]
    else:
        loc = r.headers["Location"]
        image_id = loc.rsplit("/", 1)[1]
        assert loc == "%s/v2/images/%s" % (daemon.image_root, image_id)
    assert UUID.match(image_id), image_id
    wait_status(http, srv.sid, "ACTIVE", token=srv.token)
    r = http.image("GET", "/v2/images/%s" % image_id, token=srv.token)
    if r.status_code == 200:          # a failed snapshot leaves no image
        img = r.json()
        assert (img["owner"], img["image_type"], img["instance_uuid"],
                img["k"]) == (srv.project_id, "snapshot", srv.sid, "v")
        http.image("DELETE", "/v2/images/%s" % image_id, token=srv.token)
    else:
        assert r.status_code == 404, r.text


def test_delete_server_schema(http, image):
    sid, _ = boot(http, image)
    wait_status(http, sid, "ACTIVE")
    validate(servers_v21.delete_server,
             http.compute("DELETE", "/servers/%s" % sid, microversion="2.1"),
             "2.1")
    wait_status(http, sid, "DELETED")
    assert http.compute("GET", "/servers/%s" % sid).status_code == 404
