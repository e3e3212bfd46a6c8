"""Nova admin views: os-services, os-hypervisors, os-availability-zone,
os-aggregates, os-server-groups and os-simple-tenant-usage.

Driven through the openstack and nova CLIs and raw HTTP, with every response
checked against Tempest's schema for its microversion.  Compute hosts and
instances are written straight into the daemon's database (the test owns
their names): the tests never assume they are alone, since the daemon's
embedded agent registers a host of its own.
"""

import datetime
import sqlite3
import time
import uuid

import pytest

import novalite_testlib as lib

pytest.importorskip("tempest.lib.services.compute.services_client",
                    reason="python3-tempest is required for schema tests")

from tempest.lib.api_schema.response.compute.v2_1 import (  # noqa: E402
    availability_zone as az_schema,
    tenant_usages as usage_schema,
)
from tempest.lib.common import api_version_request as avr  # noqa: E402
from tempest.lib.services.compute import (  # noqa: E402
    aggregates_client, hypervisor_client, server_groups_client,
    services_client)
from test_responses_schema import pick, validate  # noqa: E402

US = 1000000
BUILTIN = {"nova-scheduler", "nova-conductor"}


def newer(mv, than):
    return avr.APIVersionRequest(mv) >= avr.APIVersionRequest(than)


def now_us():
    return int(time.time() * US)


def at(text):
    """'2020-01-01T03:00' (UTC) in microseconds."""
    d = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp()) * US


class Db:
    """Rows the agent would write, written into the daemon's database."""

    def __init__(self, daemon):
        self.path = str(daemon.state_dir / "novalite.db")

    def run(self, sql, args=()):
        with sqlite3.connect(self.path, timeout=30) as c:
            return c.execute(sql, args).fetchall()

    def add_host(self, prefix="h", up=True, vcpus=8, memory_mb=8192,
                 local_gb=100):
        host = lib.unique(prefix)
        row = dict(host=host, uuid=str(uuid.uuid4()),
                   hypervisor_uuid=str(uuid.uuid4()))
        self.run("INSERT INTO compute_hosts (uuid, hypervisor_uuid, host, "
                 "hypervisor_hostname, agent, hypervisor_type, "
                 "hypervisor_version, vcpus, memory_mb, local_gb, cpu_info, "
                 "last_seen_at, created_at) VALUES (?, ?, ?, ?, ?, 'QEMU', "
                 "7002000, ?, ?, ?, '{\"arch\": \"x86_64\"}', ?, ?)",
                 (row["uuid"], row["hypervisor_uuid"], host, host + ".local",
                  host, vcpus, memory_mb, local_gb,
                  now_us() if up else None, now_us() - 3 * 3600 * US))
        row["id"] = self.run("SELECT id FROM compute_hosts WHERE host = ?",
                             (host,))[0][0]
        return row

    def add_instance(self, project_id, host=None, launched=None, ended=None,
                     vcpus=1, memory_mb=512, root_gb=1, ephemeral_gb=0,
                     swap=0, name=None, task_state=None):
        iid = str(uuid.uuid4())
        created = launched or now_us()
        self.run("INSERT INTO instances (uuid, project_id, user_id, "
                 "display_name, hostname, reservation_id, flavor_id, "
                 "flavor_name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, "
                 "host, vm_state, task_state, launched_at, terminated_at, "
                 "deleted_at, deleted, created_at, updated_at) VALUES "
                 "(?, ?, 'u', ?, 'vm', 'r-1', '1', 'm1.test', ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (iid, project_id, name or "srv-" + iid[:8], memory_mb, vcpus,
                  root_gb, ephemeral_gb, swap, host,
                  "deleted" if ended else "active", task_state, launched,
                  ended, ended, 1 if ended else 0, created, created))
        return iid


@pytest.fixture(scope="module")
def db(daemon):
    return Db(daemon)


def get(http, path, mv="2.1", token=lib._DEFAULT, **kw):
    return http.compute("GET", path, microversion=mv, token=token, **kw)


def fault(r, status, text=None):
    assert r.status_code == status, r.text
    body = r.json()
    (name, f), = body.items()
    assert f["code"] == status, body
    if text is not None:
        assert f["message"] == text, f["message"]
    return f["message"]


# ---- os-services -----------------------------------------------------------

def test_service_list_cli(osc, db):
    h = db.add_host("svc")
    down = db.add_host("svcdown", up=False)
    rows = osc("compute", "service", "list")
    by = {(r["Binary"], r["Host"]): r for r in rows}
    assert {r["Binary"] for r in rows} >= BUILTIN | {"nova-compute"}
    for b in BUILTIN:
        assert [(r["Zone"], r["State"]) for r in rows
                if r["Binary"] == b] == [("internal", "up")]
    assert by[("nova-compute", h["host"])]["State"] == "up"
    assert by[("nova-compute", h["host"])]["Zone"] == "nova"
    assert by[("nova-compute", down["host"])]["State"] == "down"


@pytest.mark.parametrize("mv", ["2.1", "2.11", "2.53", "2.75", "2.93"])
def test_services_schema(http, db, mv):
    h = db.add_host("svcs")
    body = validate(pick(services_client.ServicesClient, mv).list_services,
                    get(http, "/os-services", mv), mv)
    s, = [s for s in body["services"] if s["host"] == h["host"]]
    assert s["id"] == (h["uuid"] if newer(mv, "2.53") else h["id"] + 2)
    assert ("forced_down" in s) == (mv != "2.1")
    # filters
    r = get(http, "/os-services", mv,
            params={"host": h["host"], "binary": "nova-compute"})
    assert [x["host"] for x in r.json()["services"]] == [h["host"]]
    r = get(http, "/os-services", mv, params={"binary": "nova-conductor"})
    assert [x["binary"] for x in r.json()["services"]] == ["nova-conductor"]


def test_strict_query_and_admin_policies(http, tenant):
    fault(get(http, "/os-services", "2.75", params={"bogus": "1"}), 400)
    assert get(http, "/os-services", "2.74",
               params={"bogus": "1"}).status_code == 200
    fault(get(http, "/os-services", token=tenant.member.token), 403,
          "Policy doesn't allow os_compute_api:os-services:list to be "
          "performed.")
    for path in ("/os-hypervisors", "/os-hypervisors/detail",
                 "/os-hypervisors/statistics", "/os-aggregates",
                 "/os-availability-zone/detail", "/os-simple-tenant-usage"):
        fault(get(http, path, token=tenant.member.token), 403)


def test_service_legacy_actions(http, db):
    h = db.add_host("legacy")
    schema = pick(services_client.ServicesClient, "2.1")
    body = {"host": h["host"], "binary": "nova-compute"}

    def put(action, mv="2.1", **extra):
        return http.compute("PUT", "/os-services/" + action, microversion=mv,
                            json=dict(body, **extra))

    r = validate(schema.enable_disable_service, put("disable"), "2.1")
    assert r["service"] == dict(body, status="disabled")
    r = validate(schema.disable_log_reason,
                 put("disable-log-reason", disabled_reason="maint"), "2.1")
    assert r["service"]["disabled_reason"] == "maint"
    svc = [s for s in get(http, "/os-services").json()["services"]
           if s["host"] == h["host"]][0]
    assert (svc["status"], svc["disabled_reason"]) == ("disabled", "maint")
    validate(schema.enable_disable_service, put("enable"), "2.1")
    fault(put("disable-log-reason"), 400, "Missing disabled reason field")
    fault(put("force-down", forced_down=True), 400)   # not in the 2.1 body
    fault(http.compute("PUT", "/os-services/force-down", microversion="2.10",
                       json=body), 404, "Unknown action")
    r = put("force-down", "2.11", forced_down=True)
    r = validate(pick(services_client.ServicesClient, "2.11")
                 .update_forced_down, r, "2.11")
    assert r["service"]["forced_down"] is True
    put("force-down", "2.11", forced_down=False)
    fault(http.compute("PUT", "/os-services/disable", json={
        "host": h["host"], "binary": "nova-scheduler"}), 400,
        "Updating a nova-scheduler service is not supported. Only "
        "nova-compute services can be updated.")
    fault(http.compute("PUT", "/os-services/disable", json={
        "host": "nosuchhost", "binary": "nova-compute"}), 404,
        "Host 'nosuchhost' is not mapped to any cell")
    # the legacy routes are gone at 2.53: the path is a service uuid
    fault(put("disable", "2.53"), 400)


def test_service_update_v253(http, db, osc):
    h = db.add_host("upd")
    schema = pick(services_client.ServicesClient, "2.53").update_service

    def put(sid, **b):
        return http.compute("PUT", "/os-services/" + sid,
                            microversion="2.53", json=b)

    r = validate(schema, put(h["uuid"], status="disabled",
                             disabled_reason="broken"), "2.53")
    assert r["service"]["status"] == "disabled"
    assert r["service"]["disabled_reason"] == "broken"
    assert r["service"]["id"] == h["uuid"]
    r = validate(schema, put(h["uuid"], status="enabled"), "2.53")
    assert r["service"]["disabled_reason"] is None
    r = validate(schema, put(h["uuid"], forced_down=True), "2.53")
    assert (r["service"]["state"], r["service"]["forced_down"]) == ("down",
                                                                    True)
    r = put(h["uuid"], forced_down="false")
    assert r.json()["service"]["state"] == "up", r.text
    fault(put(h["uuid"], status="enabled", disabled_reason="x"), 400,
          "Specifying 'disabled_reason' with status 'enabled' is invalid.")
    fault(put(h["uuid"]), 400, "No updates were requested. Fields 'status' "
          "or 'forced_down' should be specified.")
    fault(put(h["uuid"], disabled_reason="x"), 400)
    fault(put("not-a-uuid", status="enabled"), 400,
          "Invalid uuid not-a-uuid")
    missing = str(uuid.uuid4())
    fault(put(missing, status="enabled"), 404,
          "Service %s could not be found." % missing)
    fault(put(h["uuid"], status="off"), 400)
    builtin = [s for s in get(http, "/os-services", "2.53").json()["services"]
               if s["binary"] == "nova-scheduler"][0]
    fault(put(builtin["id"], status="disabled"), 400)
    # openstack compute service set (2.53 path when the CLI negotiates it)
    osc("--os-compute-api-version", "2.53", "compute", "service", "set",
        "--disable", "--disable-reason", "cli", h["host"], "nova-compute")
    svc = [s for s in get(http, "/os-services").json()["services"]
           if s["host"] == h["host"]][0]
    assert (svc["status"], svc["disabled_reason"]) == ("disabled", "cli")


def test_service_delete(http, db, tenant):
    busy = db.add_host("busy")
    iid = db.add_instance(tenant.project_id, busy["host"], launched=now_us())
    fault(http.compute("DELETE", "/os-services/" + busy["uuid"],
                       microversion="2.53"), 409,
          "Unable to delete compute service that is hosting instances. "
          "Migrate or delete the instances first.")
    db.run("UPDATE instances SET deleted = 1 WHERE uuid = ?", (iid,))
    # deleting the service takes the host out of its aggregates
    agg = http.compute("POST", "/os-aggregates", json={"aggregate": {
        "name": lib.unique("agg-del")}}).json()["aggregate"]
    r = http.compute("POST", "/os-aggregates/%d/action" % agg["id"],
                     json={"add_host": {"host": busy["host"]}})
    assert r.status_code == 200, r.text
    r = http.compute("DELETE", "/os-services/" + busy["uuid"],
                     microversion="2.53")
    assert r.status_code == 204 and not r.content, r.text
    r = get(http, "/os-aggregates/%d" % agg["id"])
    assert r.json()["aggregate"]["hosts"] == []
    fault(http.compute("DELETE", "/os-services/" + busy["uuid"],
                       microversion="2.53"), 404,
          "Service %s not found." % busy["uuid"])
    # before 2.53 ids are integers
    h = db.add_host("delint")
    fault(http.compute("DELETE", "/os-services/abc"), 400,
          "Invalid input received: id must be an integer")
    r = http.compute("DELETE", "/os-services/%d" % (h["id"] + 2))
    assert r.status_code == 204, r.text
    assert not db.run("SELECT 1 FROM compute_hosts WHERE host = ?",
                      (h["host"],))
    fault(http.compute("DELETE", "/os-services/1"), 400)   # the scheduler
    fault(http.compute("DELETE", "/os-services/" + busy["uuid"]), 400)


# ---- os-hypervisors --------------------------------------------------------

def hv_ids(body):
    return [h["id"] for h in body["hypervisors"]]


@pytest.mark.parametrize("mv", ["2.1", "2.28", "2.33", "2.53", "2.75",
                                "2.87"])
def test_hypervisors_schema(http, db, tenant, mv):
    h = db.add_host("hv", vcpus=16, memory_mb=16384, local_gb=200)
    db.add_instance(tenant.project_id, h["host"], launched=now_us(),
                    vcpus=2, memory_mb=2048, root_gb=10, ephemeral_gb=5,
                    swap=512, task_state="rebooting", name="on-hv")
    db.add_instance(tenant.project_id, h["host"], launched=now_us() - US,
                    ended=now_us(), vcpus=4, memory_mb=4096)   # deleted
    schema = pick(hypervisor_client.HypervisorClient, mv)
    new = newer(mv, "2.53")
    hid = h["hypervisor_uuid"] if new else h["id"]
    validate(schema.list_search_hypervisors, get(http, "/os-hypervisors", mv),
             mv)
    body = validate(schema.list_hypervisors_detail,
                    get(http, "/os-hypervisors/detail", mv), mv)
    assert hid in hv_ids(body)
    hv = validate(schema.get_hypervisor,
                  get(http, "/os-hypervisors/%s" % hid, mv), mv)["hypervisor"]
    # 512 MiB of the host's reserve; swap rounds up to a whole GiB
    assert [hv[k] for k in ("vcpus_used", "memory_mb_used", "local_gb_used",
                            "running_vms", "current_workload", "free_ram_mb",
                            "free_disk_gb")] == [2, 2560, 16, 1, 1, 13824, 184]
    assert hv["service"] == {"host": h["host"], "disabled_reason": None,
                             "id": h["uuid"] if new else h["id"] + 2}
    assert isinstance(hv["cpu_info"], str if mv == "2.1" else dict)
    validate(schema.get_hypervisor_statistics,
             get(http, "/os-hypervisors/statistics", mv), mv)
    body = validate(schema.get_hypervisor_uptime,
                    get(http, "/os-hypervisors/%s/uptime" % hid, mv), mv)
    assert " up " in body["hypervisor"]["uptime"]
    if not new:
        body = validate(schema.list_search_hypervisors,
                        get(http, "/os-hypervisors/%s/search" % h["host"],
                            mv), mv)
        assert hv_ids(body) == [hid]
        body = validate(schema.get_hypervisors_servers,
                        get(http, "/os-hypervisors/%s/servers" % h["host"],
                            mv), mv)
        assert [s["name"] for s in body["hypervisors"][0]["servers"]] == \
            ["on-hv"]
        fault(get(http, "/os-hypervisors/nomatch-xyz/search", mv), 404,
              "No hypervisor matching 'nomatch-xyz' could be found.")
    else:
        r = get(http, "/os-hypervisors/detail", mv, params={
            "hypervisor_hostname_pattern": h["host"], "with_servers": "true"})
        body = validate(schema.list_hypervisors_detail, r, mv)
        assert hv_ids(body) == [hid]
        assert body["hypervisors"][0]["servers"][0]["name"] == "on-hv"
        assert "hypervisors_links" not in body
        fault(get(http, "/os-hypervisors", mv, params={
            "hypervisor_hostname_pattern": "nomatch-xyz"}), 404)
        fault(get(http, "/os-hypervisors", mv, params={
            "hypervisor_hostname_pattern": h["host"], "limit": "1"}), 400)
        fault(get(http, "/os-hypervisors/%s/search" % h["host"], mv), 404)
        fault(get(http, "/os-hypervisors/1", mv), 400, "Invalid uuid 1")


def test_hypervisors_paging(http, db):
    for mv, key in (("2.33", "id"), ("2.53", "hypervisor_uuid")):
        db.add_host("page")
        db.add_host("page")
        all_ids = hv_ids(get(http, "/os-hypervisors", mv).json())
        r = get(http, "/os-hypervisors", mv, params={"limit": 1})
        body = validate(pick(hypervisor_client.HypervisorClient, mv)
                        .list_search_hypervisors, r, mv)
        assert hv_ids(body) == all_ids[:1]
        href = body["hypervisors_links"][0]["href"]
        assert href == "%s/os-hypervisors?limit=1&marker=%s" % (
            http.d.compute_url, all_ids[0])
        r = http.s.get(href, headers={"X-Auth-Token": http.admin_token,
                                      "OpenStack-API-Version":
                                      "compute " + mv})
        assert hv_ids(r.json()) == all_ids[1:2]
        fault(get(http, "/os-hypervisors", mv, params={"marker": "999999"}),
              400, "marker [999999] not found")
    fault(get(http, "/os-hypervisors", "2.53", params={"bogus": 1}), 400)


def test_hypervisors_v288(http, db):
    h = db.add_host("hv88")
    down = db.add_host("hv88down", up=False)
    body = get(http, "/os-hypervisors/detail", "2.88").json()
    mine = {x["hypervisor_hostname"]: x for x in body["hypervisors"]}
    hv = mine[h["host"] + ".local"]
    assert "vcpus" not in hv and "cpu_info" not in hv
    assert hv["uptime"].startswith(" ") and " up " in hv["uptime"]
    assert mine[down["host"] + ".local"]["uptime"] is None
    fault(get(http, "/os-hypervisors/%s/uptime" % h["hypervisor_uuid"],
              "2.88"), 404)
    fault(get(http, "/os-hypervisors/statistics", "2.88"), 404)
    # a down host has no uptime to tell (Nova: ComputeServiceUnavailable)
    fault(get(http, "/os-hypervisors/%d/uptime" % down["id"]), 400,
          "Compute service of %s is unavailable at this time."
          % down["host"])
    fault(get(http, "/os-hypervisors/999999"), 404,
          "Hypervisor with ID '999999' could not be found.")


def test_hypervisor_cli(osc, db):
    h = db.add_host("hvcli", vcpus=4)
    names = [r["Hypervisor Hostname"] for r in osc("hypervisor", "list")]
    assert h["host"] + ".local" in names
    shown = osc("hypervisor", "show", h["host"] + ".local")
    assert shown["vcpus"] == 4 and shown["service_host"] == h["host"]
    stats = osc("hypervisor", "stats", "show")
    assert stats["count"] >= 1 and stats["vcpus"] >= 4


# ---- os-availability-zone --------------------------------------------------

def test_availability_zones(http, db, tenant, osc):
    h = db.add_host("az")
    zone = lib.unique("zone")
    agg = http.compute("POST", "/os-aggregates", json={"aggregate": {
        "name": lib.unique("azagg"), "availability_zone": zone}})
    agg_id = agg.json()["aggregate"]["id"]
    # an AZ without hosts is no zone yet
    body = validate(az_schema.list_availability_zone_list,
                    get(http, "/os-availability-zone"))
    assert zone not in [z["zoneName"] for z in body["availabilityZoneInfo"]]
    http.compute("POST", "/os-aggregates/%d/action" % agg_id,
                 json={"add_host": {"host": h["host"]}})
    body = validate(az_schema.list_availability_zone_list,
                    get(http, "/os-availability-zone",
                        token=tenant.member.token))
    zones = {z["zoneName"]: z for z in body["availabilityZoneInfo"]}
    assert zones[zone] == {"zoneName": zone, "hosts": None,
                           "zoneState": {"available": True}}
    assert "internal" not in zones
    body = validate(az_schema.list_availability_zone_list_detail,
                    get(http, "/os-availability-zone/detail"))
    zones = {z["zoneName"]: z for z in body["availabilityZoneInfo"]}
    svc = zones[zone]["hosts"][h["host"]]["nova-compute"]
    assert svc["available"] is True and svc["active"] is True
    internal = list(zones["internal"]["hosts"].values())[0]
    assert set(internal) == BUILTIN
    rows = osc("availability", "zone", "list", "--compute", "--long")
    assert any(r["Zone Name"] == zone and r["Host Name"] == h["host"]
               for r in rows)
    # a zone whose only host is disabled is not available
    http.compute("PUT", "/os-services/" + h["uuid"], microversion="2.53",
                 json={"status": "disabled"})
    zones = {z["zoneName"]: z for z in get(
        http, "/os-availability-zone").json()["availabilityZoneInfo"]}
    assert zones[zone]["zoneState"]["available"] is False


# ---- os-aggregates ---------------------------------------------------------

def test_aggregates_cli(osc, db):
    h = db.add_host("aggcli")
    name = lib.unique("agg")
    created = osc("aggregate", "create", "--zone", "cli-zone", name)
    assert created["availability_zone"] == "cli-zone"
    osc("aggregate", "add", "host", name, h["host"])
    osc("aggregate", "set", "--property", "ssd=true", name)
    shown = osc("aggregate", "show", name)
    assert shown["hosts"] == [h["host"]]
    assert shown["properties"].get("ssd") == "true"
    osc("aggregate", "unset", "--property", "ssd", name)
    assert "ssd" not in osc("aggregate", "show", name)["properties"]
    osc("aggregate", "remove", "host", name, h["host"])
    osc("aggregate", "delete", name)
    assert name not in [a["Name"] for a in osc("aggregate", "list")]


@pytest.mark.parametrize("mv", ["2.1", "2.41"])
def test_aggregates_schema(http, db, mv):
    schema = pick(aggregates_client.AggregatesClient, mv)
    h = db.add_host("aggs")

    def post(path, body):
        return http.compute("POST", path, microversion=mv, json=body)

    r = post("/os-aggregates", {"aggregate": {"name": lib.unique("a"),
                                              "availability_zone": None}})
    agg = validate(schema.create_aggregate, r, mv)["aggregate"]
    assert agg["availability_zone"] is None
    assert ("uuid" in agg) == (mv == "2.41")
    path = "/os-aggregates/%d" % agg["id"]
    act = path + "/action"
    body = validate(schema.aggregate_add_remove_host,
                    post(act, {"add_host": {"host": h["host"]}}), mv)
    assert body["aggregate"]["hosts"] == [h["host"]]
    body = validate(schema.aggregate_set_metadata, post(act, {
        "set_metadata": {"metadata": {"k1": "v1", "k2": "v2"}}}), mv)
    assert body["aggregate"]["metadata"] == {"k1": "v1", "k2": "v2"}
    body = validate(schema.aggregate_set_metadata, post(act, {
        "set_metadata": {"metadata": {"k1": None, "gone": None}}}), mv)
    assert body["aggregate"]["metadata"] == {"k2": "v2"}
    body = validate(schema.update_aggregate, http.compute(
        "PUT", path, microversion=mv, json={"aggregate": {
            "name": "  renamed-%s " % agg["id"],
            "availability_zone": "z-%d" % agg["id"]}}), mv)
    assert body["aggregate"]["name"] == "renamed-%s" % agg["id"]
    assert body["aggregate"]["availability_zone"] == "z-%d" % agg["id"]
    assert body["aggregate"]["metadata"]["availability_zone"] == \
        "z-%d" % agg["id"]
    validate(schema.get_aggregate, get(http, path, mv), mv)
    body = validate(schema.list_aggregates, get(http, "/os-aggregates", mv),
                    mv)
    assert agg["id"] in [a["id"] for a in body["aggregates"]]
    validate(schema.aggregate_add_remove_host,
             post(act, {"remove_host": {"host": h["host"]}}), mv)
    r = http.compute("DELETE", path, microversion=mv)
    validate(schema.delete_aggregate, r, mv)
    fault(get(http, path, mv), 404,
          "Aggregate %d could not be found." % agg["id"])


def test_aggregate_errors(http, db, tenant):
    h = db.add_host("aggerr")
    name = lib.unique("agge")

    def post(path, body, **kw):
        return http.compute("POST", path, json=body, **kw)

    a1 = post("/os-aggregates", {"aggregate": {
        "name": name, "availability_zone": "zone-a"}}).json()["aggregate"]
    fault(post("/os-aggregates", {"aggregate": {"name": name}}), 409,
          "Aggregate %s already exists." % name)
    act = "/os-aggregates/%d/action" % a1["id"]
    fault(post(act, {"add_host": {"host": "nosuch"}}), 404,
          "Compute host nosuch could not be found.")
    assert post(act, {"add_host": {"host": h["host"]}}).status_code == 200
    fault(post(act, {"add_host": {"host": h["host"]}}), 409,
          "Aggregate %d already has host %s." % (a1["id"], h["host"]))
    a2 = post("/os-aggregates", {"aggregate": {
        "name": lib.unique("agge"),
        "availability_zone": "zone-b"}}).json()["aggregate"]
    act2 = "/os-aggregates/%d/action" % a2["id"]
    fault(post(act2, {"add_host": {"host": h["host"]}}), 409,
          "Cannot add host to aggregate %d. Reason: One or more hosts "
          "already in availability zone(s) ['zone-a']." % a2["id"])
    # a zone-less aggregate takes the host; then it may not get another zone
    a3 = post("/os-aggregates", {"aggregate": {
        "name": lib.unique("agge")}}).json()["aggregate"]
    act3 = "/os-aggregates/%d/action" % a3["id"]
    assert post(act3, {"add_host": {"host": h["host"]}}).status_code == 200
    fault(post(act3, {"set_metadata": {"metadata": {
        "availability_zone": "zone-c"}}}), 400,
        "Cannot update metadata of aggregate %d. Reason: One or more hosts "
        "already in availability zone(s) ['zone-a']." % a3["id"])
    fault(http.compute("PUT", "/os-aggregates/%d" % a3["id"], json={
        "aggregate": {"availability_zone": None}}), 400,
        "Cannot update aggregate %d. Reason: Aggregate %s does not support "
        "empty named availability zone." % (a3["id"], a3["name"]))
    fault(http.compute("PUT", "/os-aggregates/%d" % a3["id"], json={
        "aggregate": {}}), 400,
        "Invalid input for field/attribute aggregate. Value: {}. {} is not "
        "valid under any of the given schemas")
    fault(post("/os-aggregates", {"aggregate": {
        "name": lib.unique("x"), "availability_zone": "a:b"}}), 400)
    fault(http.compute("DELETE", "/os-aggregates/%d" % a1["id"]), 400,
          "Cannot remove host from aggregate %d. Reason: Host aggregate is "
          "not empty." % a1["id"])
    fault(post(act, {"remove_host": {"host": "nosuch"}}), 404,
          "Cannot remove host nosuch in aggregate %d" % a1["id"])
    fault(get(http, "/os-aggregates/abc"), 400,
          "Invalid input received: id must be an integer")
    fault(post(act, {"bogus": {}}), 400, "There is no such action: bogus")
    fault(post(act, {"set_metadata": {"metadata": {"bad/key": "v"}}}), 400)
    fault(post(act, {"add_host": {"host": h["host"]}},
               token=tenant.member.token), 403,
          "Policy doesn't allow os_compute_api:os-aggregates:add_host to be "
          "performed.")


# ---- os-server-groups ------------------------------------------------------

def test_server_group_cli(osc, nova):
    name = lib.unique("sg")
    g = osc("server", "group", "create", "--policy", "anti-affinity", name)
    assert g["name"] == name
    out = nova("server-group-list").stdout
    rows = [r for t in lib.parse_table(out) for r in t]
    assert any(r.get("Name") == name for r in rows), out
    osc("server", "group", "delete", name)
    assert name not in [x["Name"] for x in osc("server", "group", "list")]


@pytest.mark.parametrize("mv,body", [
    ("2.1", {"policies": ["anti-affinity"]}),
    ("2.13", {"policies": ["affinity"]}),
    ("2.15", {"policies": ["soft-anti-affinity"]}),
    ("2.64", {"policy": "anti-affinity",
              "rules": {"max_server_per_host": "3"}}),
    ("2.64", {"policy": "soft-affinity"}),
])
def test_server_group_schema(http, tenant, mv, body):
    schema = pick(server_groups_client.ServerGroupsClient, mv)
    tok = tenant.member.token
    body = dict(body, name=lib.unique("sg"))
    r = http.compute("POST", "/os-server-groups", microversion=mv, token=tok,
                     json={"server_group": body})
    g = validate(schema.create_show_server_group, r, mv)["server_group"]
    if mv == "2.64":
        assert g["rules"] == ({"max_server_per_host": 3}
                              if "rules" in body else {})
    else:
        assert g["policies"] == body["policies"] and g["metadata"] == {}
    if mv != "2.1":
        assert g["project_id"] == tenant.project_id
    path = "/os-server-groups/" + g["id"]
    validate(schema.create_show_server_group,
             get(http, path, mv, token=tok), mv)
    lst = validate(schema.list_server_groups,
                   get(http, "/os-server-groups", mv, token=tok), mv)
    assert g["id"] in [x["id"] for x in lst["server_groups"]]
    validate(schema.delete_server_group,
             http.compute("DELETE", path, microversion=mv, token=tok), mv)
    fault(get(http, path, mv, token=tok), 404,
          "Instance group %s could not be found." % g["id"])


def test_server_group_errors(http, make_tenant):
    t = make_tenant("sgq")
    tok = t.member.token

    def create(body, mv="2.1", token=tok):
        return http.compute("POST", "/os-server-groups", microversion=mv,
                            token=token, json={"server_group": dict(
                                body, name=lib.unique("sg"))})

    fault(create({"policies": ["soft-affinity"]}, "2.14"), 400)
    fault(create({"policies": []}), 400,
          "Invalid input for field/attribute policies. Value: []. [] is too "
          "short")
    fault(create({"policies": ["affinity", "anti-affinity"]}), 400)
    fault(create({"policies": ["affinity", "affinity"]}), 400)
    fault(create({"policy": "affinity", "rules": {
        "max_server_per_host": 2}}, "2.64"), 400,
        "Only anti-affinity policy supports rules.")
    fault(create({"policies": ["affinity"]}, "2.64"), 400)
    fault(create({"policies": ["affinity"]}, token=t.reader.token), 403)
    # quota
    r = http.compute("PUT", "/os-quota-sets/" + t.project_id,
                     json={"quota_set": {"server_groups": 1}})
    assert r.status_code == 200, r.text
    g = create({"policies": ["affinity"]}).json()["server_group"]
    fault(create({"policies": ["affinity"]}), 403,
          "Quota exceeded, too many server groups.")
    # another project's group is not found; admins see it
    other = make_tenant("sgo")
    fault(get(http, "/os-server-groups/" + g["id"],
              token=other.member.token), 404)
    fault(http.compute("DELETE", "/os-server-groups/" + g["id"],
                       token=other.member.token), 404)
    assert get(http, "/os-server-groups/" + g["id"]).status_code == 200
    ids = [x["id"] for x in get(http, "/os-server-groups", token=other.member
                                .token).json()["server_groups"]]
    assert g["id"] not in ids
    allp = get(http, "/os-server-groups", params={"all_projects": "True"})
    assert g["id"] in [x["id"] for x in allp.json()["server_groups"]]
    mine = get(http, "/os-server-groups").json()["server_groups"]
    assert g["id"] not in [x["id"] for x in mine]
    # limit / offset
    n = len(allp.json()["server_groups"])
    page = get(http, "/os-server-groups", params={
        "all_projects": "1", "limit": "1", "offset": str(n - 1)})
    assert [x["id"] for x in page.json()["server_groups"]] == \
        [allp.json()["server_groups"][-1]["id"]]
    fault(get(http, "/os-server-groups", params={"limit": "-1"}), 400)


# ---- os-simple-tenant-usage ------------------------------------------------

WINDOW = {"start": "2020-01-01T00:00:00", "end": "2020-01-02T00:00:00"}


def test_usage(http, db, make_tenant, osc):
    t = make_tenant("usage")
    p = t.project_id
    # 3 h inside the window, 2 vCPUs, 1024 MiB, 10+5 GiB
    a = db.add_instance(p, launched=at("2019-12-31T22:00"),
                        ended=at("2020-01-01T03:00"), vcpus=2,
                        memory_mb=1024, root_gb=10, ephemeral_gb=5)
    # still running: counted to the end of the window (24 h)
    b = db.add_instance(p, launched=at("2019-06-01T00:00"))
    # outside the window, and never launched: not counted
    db.add_instance(p, launched=at("2019-01-01T00:00"),
                    ended=at("2019-02-01T00:00"))
    db.add_instance(p)

    r = get(http, "/os-simple-tenant-usage/" + p, params=WINDOW,
            token=t.member.token)
    u = validate(usage_schema.get_tenant_usage, r)["tenant_usage"]
    assert sorted(s["instance_id"] for s in u["server_usages"]) == \
        sorted([a, b])
    assert u["total_hours"] == pytest.approx(27.0)
    assert u["total_vcpus_usage"] == pytest.approx(2 * 3 + 24)
    assert u["total_memory_mb_usage"] == pytest.approx(1024 * 3 + 512 * 24)
    assert u["total_local_gb_usage"] == pytest.approx(15 * 3 + 24)
    assert (u["start"], u["stop"]) == ("2020-01-01T00:00:00.000000",
                                       "2020-01-02T00:00:00.000000")
    by = {s["instance_id"]: s for s in u["server_usages"]}
    assert by[a]["state"] == "terminated" and by[a]["uptime"] == 5 * 3600
    assert by[a]["ended_at"] == "2020-01-01T03:00:00.000000"
    assert by[b]["state"] == "active" and by[b]["ended_at"] is None

    body = validate(usage_schema.list_tenant_usage,
                    get(http, "/os-simple-tenant-usage",
                        params=dict(WINDOW, detailed="1")))
    mine = [x for x in body["tenant_usages"] if x["tenant_id"] == p]
    assert len(mine) == 1 and len(mine[0]["server_usages"]) == 2
    body = get(http, "/os-simple-tenant-usage", params=WINDOW).json()
    assert all("server_usages" not in x for x in body["tenant_usages"])

    # 2.40 paging by instance, with Nova's link
    r = get(http, "/os-simple-tenant-usage/" + p, "2.40",
            params=dict(WINDOW, limit=1))
    body = validate(usage_schema.get_tenant_usage, r, "2.40")
    first = body["tenant_usage"]["server_usages"][0]["instance_id"]
    assert first == min(a, b)
    href = body["tenant_usage_links"][0]["href"]
    assert href == ("%s/os-simple-tenant-usage/%s?end=2020-01-02T00%%3A00%%3A"
                    "00&limit=1&marker=%s&start=2020-01-01T00%%3A00%%3A00"
                    % (http.d.compute_url, p, first))
    fault(get(http, "/os-simple-tenant-usage/" + p, "2.40",
              params=dict(WINDOW, marker="nosuch")), 400,
          "Marker nosuch could not be found.")

    # no period: from now to now, nothing to bill, no error
    assert get(http, "/os-simple-tenant-usage").status_code == 200
    # errors and policy
    fault(get(http, "/os-simple-tenant-usage", params={
        "start": "2020-01-02T00:00:00", "end": "2020-01-01T00:00:00"}), 400,
        "Invalid start time. The start time cannot occur after the end time.")
    fault(get(http, "/os-simple-tenant-usage", params={"start": "yesterday"}),
          400, "Invalid datetime string: Datetime is in invalid format")
    other = make_tenant("usageo")
    fault(get(http, "/os-simple-tenant-usage/" + p,
              token=other.member.token), 403)
    # a project without usage still gets a summary the CLI can print
    shown = osc("usage", "show", "--project", other.project_id)
    assert shown["Servers"] in (0, "0", [])
    rows = osc("usage", "list", "--start", "2020-01-01", "--end",
               "2020-01-02")
    assert rows, rows
