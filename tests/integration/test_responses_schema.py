"""Validate compute responses against Tempest's JSON schemas.

Schemas: tempest/lib/api_schema/response/compute/v2_*/ (python3-tempest).
Which schema module applies to which microversion is taken from the Tempest
service clients' own `schema_versions_info` tables
(tempest/lib/services/compute/{flavors,keypairs,limits,quotas}_client.py),
and selected exactly as BaseComputeClient.get_schema() does.  Validation uses
Tempest's validator + format checker (tempest/lib/common/jsonschema_validator),
like RestClient.validate_response().
"""

import re

import jsonschema
import pytest

import novalite_testlib as lib

pytest.importorskip("tempest.lib.services.compute.flavors_client",
                    reason="python3-tempest is required for schema tests")

from tempest.lib.api_schema.response.compute.v2_1 import (  # noqa: E402
    flavors_access as access_schema,
    flavors_extra_specs as extra_specs_schema,
    versions as versions_schema,
)
from tempest.lib.common import api_version_request as avr  # noqa: E402
from tempest.lib.common.jsonschema_validator import (  # noqa: E402
    FORMAT_CHECKER, JSONSCHEMA_VALIDATOR)
from tempest.lib.services.compute import (  # noqa: E402
    flavors_client, keypairs_client, limits_client, quotas_client)

MICROVERSIONS = ["2.1", "2.2", "2.10", "2.35", "2.55", "2.61", "2.75",
                 "2.92"]


def vge(mv, other):
    return avr.APIVersionRequest(mv) >= avr.APIVersionRequest(other)


def pick(client_cls, mv):
    """BaseComputeClient.get_schema() for microversion mv."""
    want = avr.APIVersionRequest(mv)
    for item in client_cls.schema_versions_info:
        if want.matches(avr.APIVersionRequest(item["min"]),
                        avr.APIVersionRequest(item["max"])):
            return item["schema"]
    raise AssertionError("no tempest schema for %s" % mv)


def validate(schema, r, mv=None):
    """RestClient.validate_response() + microversion header check."""
    assert r.status_code in schema["status_code"], (
        "status %s not in %s (microversion %s): %s"
        % (r.status_code, schema["status_code"], mv, r.text[:1500]))
    body = None
    body_schema = schema.get("response_body")
    if body_schema:
        body = r.json()
        try:
            jsonschema.validate(body, body_schema, cls=JSONSCHEMA_VALIDATOR,
                                format_checker=FORMAT_CHECKER)
        except jsonschema.ValidationError as e:
            pytest.fail("response body does not match the Tempest schema "
                        "(microversion %s):\n%s\n--- body ---\n%s"
                        % (mv, e, r.text[:3000]), pytrace=False)
    else:
        assert not r.content, "body should be empty: %r" % r.content[:200]
    hdr_schema = schema.get("response_header")
    if hdr_schema:
        headers = {k.lower(): v for k, v in r.headers.items()}
        jsonschema.validate(headers, hdr_schema, cls=JSONSCHEMA_VALIDATOR,
                            format_checker=FORMAT_CHECKER)
    if mv is not None:
        assert r.headers.get("OpenStack-API-Version") == "compute " + mv, \
            dict(r.headers)
    return body


def check_links(links, collection, item_id, daemon):
    rels = {link["rel"]: link["href"] for link in links}
    assert {"self", "bookmark"} <= set(rels), links
    assert rels["self"] == "%s/%s/%s" % (daemon.compute_url, collection,
                                         item_id), links
    assert rels["bookmark"] == "%s/%s/%s" % (daemon.compute_root,
                                             collection, item_id), links


mv_param = pytest.mark.parametrize("mv", MICROVERSIONS)


# --------------------------------------------------------------------------
# flavors
# --------------------------------------------------------------------------

@mv_param
def test_flavor_list(http, daemon, mv):
    s = pick(flavors_client.FlavorsClient, mv)
    body = validate(s.list_flavors, http.compute("GET", "/flavors",
                                                 microversion=mv), mv)
    flavors = {f["id"]: f for f in body["flavors"]}
    assert {k: f["name"] for k, f in flavors.items()
            if k in lib.DEFAULT_FLAVORS} == {
        k: v[0] for k, v in lib.DEFAULT_FLAVORS.items()}
    check_links(flavors["1"]["links"], "flavors", "1", daemon)
    if vge(mv, "2.55"):
        assert all("description" in f for f in body["flavors"])


@mv_param
def test_flavor_detail(http, mv):
    s = pick(flavors_client.FlavorsClient, mv)
    body = validate(s.list_flavors_details,
                    http.compute("GET", "/flavors/detail", microversion=mv),
                    mv)
    tiny = [f for f in body["flavors"] if f["id"] == "1"][0]
    assert (tiny["ram"], tiny["vcpus"], tiny["disk"]) == (512, 1, 1)
    # nova/api/openstack/compute/views/flavors.py: swap "" before 2.75
    assert tiny["swap"] == (0 if vge(mv, "2.75") else "")
    assert ("extra_specs" in tiny) == vge(mv, "2.61")     # admin can read
    assert ("description" in tiny) == vge(mv, "2.55")


@mv_param
def test_flavor_show(http, daemon, mv):
    s = pick(flavors_client.FlavorsClient, mv)
    body = validate(s.create_update_get_flavor_details,
                    http.compute("GET", "/flavors/3", microversion=mv), mv)
    f = body["flavor"]
    assert (f["name"], f["ram"], f["vcpus"], f["disk"]) == (
        "m1.medium", 4096, 2, 40)
    assert f["os-flavor-access:is_public"] is True
    assert f["OS-FLV-DISABLED:disabled"] is False
    assert f["rxtx_factor"] == 1.0
    check_links(f["links"], "flavors", "3", daemon)


@mv_param
def test_flavor_create_update_delete(http, mv):
    s = pick(flavors_client.FlavorsClient, mv)
    name = lib.unique("schema-flv")
    flavor = {"name": name, "ram": 128, "vcpus": 2, "disk": 3, "swap": 64,
              "OS-FLV-EXT-DATA:ephemeral": 1, "rxtx_factor": 1.5}
    if vge(mv, "2.55"):
        flavor["description"] = "created at " + mv
    body = validate(s.create_update_get_flavor_details,
                    http.compute("POST", "/flavors", microversion=mv,
                                 json={"flavor": flavor}), mv)
    f = body["flavor"]
    fid = f["id"]
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                    r"[0-9a-f]{12}$", fid), fid
    assert (f["name"], f["ram"], f["vcpus"], f["disk"], f["swap"],
            f["OS-FLV-EXT-DATA:ephemeral"], f["rxtx_factor"]) == (
        name, 128, 2, 3, 64, 1, 1.5)
    if vge(mv, "2.61"):
        assert f["extra_specs"] == {}
    if vge(mv, "2.55"):
        assert f["description"] == "created at " + mv
        body = validate(s.create_update_get_flavor_details,
                        http.compute("PUT", "/flavors/" + fid,
                                     microversion=mv,
                                     json={"flavor": {"description": None}}),
                        mv)
        assert body["flavor"]["description"] is None
    else:
        # PUT /flavors/{id} only exists from 2.55 on
        r = http.compute("PUT", "/flavors/" + fid, microversion=mv,
                         json={"flavor": {"description": "x"}})
        assert r.status_code in (404, 405), r.text
    validate(s.delete_flavor, http.compute("DELETE", "/flavors/" + fid,
                                           microversion=mv), mv)
    assert http.compute("GET", "/flavors/" + fid).status_code == 404


@mv_param
def test_flavor_extra_specs(http, mv):
    name = lib.unique("schema-es")
    fid = http.compute("POST", "/flavors", json={"flavor": {
        "name": name, "ram": 64, "vcpus": 1, "disk": 0}}).json()[
        "flavor"]["id"]
    base = "/flavors/%s/os-extra_specs" % fid
    body = validate(extra_specs_schema.set_get_flavor_extra_specs,
                    http.compute("POST", base, microversion=mv, json={
                        "extra_specs": {"hw:cpu_policy": "dedicated",
                                        "hw:numa_nodes": "1"}}), mv)
    assert body == {"extra_specs": {"hw:cpu_policy": "dedicated",
                                    "hw:numa_nodes": "1"}}
    body = validate(extra_specs_schema.set_get_flavor_extra_specs,
                    http.compute("GET", base, microversion=mv), mv)
    assert body["extra_specs"]["hw:numa_nodes"] == "1"
    body = validate(extra_specs_schema.set_get_flavor_extra_specs_key,
                    http.compute("GET", base + "/hw:cpu_policy",
                                 microversion=mv), mv)
    assert body == {"hw:cpu_policy": "dedicated"}
    body = validate(extra_specs_schema.set_get_flavor_extra_specs_key,
                    http.compute("PUT", base + "/hw:cpu_policy",
                                 microversion=mv,
                                 json={"hw:cpu_policy": "shared"}), mv)
    assert body == {"hw:cpu_policy": "shared"}
    validate(extra_specs_schema.unset_flavor_extra_specs,
             http.compute("DELETE", base + "/hw:cpu_policy",
                          microversion=mv), mv)
    assert http.compute("GET", base).json() == {
        "extra_specs": {"hw:numa_nodes": "1"}}
    if vge(mv, "2.61"):
        s = pick(flavors_client.FlavorsClient, mv)
        body = validate(s.create_update_get_flavor_details,
                        http.compute("GET", "/flavors/" + fid,
                                     microversion=mv), mv)
        assert body["flavor"]["extra_specs"] == {"hw:numa_nodes": "1"}
    http.compute("DELETE", "/flavors/" + fid)


@mv_param
def test_flavor_access(http, tenant, mv):
    fid = http.compute("POST", "/flavors", json={"flavor": {
        "name": lib.unique("schema-acc"), "ram": 64, "vcpus": 1, "disk": 0,
        "os-flavor-access:is_public": False}}).json()["flavor"]["id"]
    action = "/flavors/%s/action" % fid
    entry = {"flavor_id": fid, "tenant_id": tenant.project_id}
    body = validate(access_schema.add_remove_list_flavor_access,
                    http.compute("POST", action, microversion=mv, json={
                        "addTenantAccess": {"tenant": tenant.project_id}}),
                    mv)
    assert body == {"flavor_access": [entry]}
    body = validate(access_schema.add_remove_list_flavor_access,
                    http.compute("GET", "/flavors/%s/os-flavor-access" % fid,
                                 microversion=mv), mv)
    assert body == {"flavor_access": [entry]}
    body = validate(access_schema.add_remove_list_flavor_access,
                    http.compute("POST", action, microversion=mv, json={
                        "removeTenantAccess": {"tenant": tenant.project_id}}),
                    mv)
    assert body == {"flavor_access": []}
    http.compute("DELETE", "/flavors/" + fid)


# --------------------------------------------------------------------------
# keypairs
# --------------------------------------------------------------------------

@mv_param
def test_keypair_import_list_show_delete(http, ed25519, mv):
    s = pick(keypairs_client.KeyPairsClient, mv)
    pub = ed25519[1].read_text().strip()
    name = lib.unique("schema-kp")
    kp = {"name": name, "public_key": pub}
    if vge(mv, "2.2"):
        kp["type"] = "ssh"
    body = validate(s.create_keypair, http.compute(
        "POST", "/os-keypairs", microversion=mv, json={"keypair": kp}), mv)
    k = body["keypair"]
    assert k["name"] == name
    assert k["fingerprint"] == lib.ssh_fingerprint(pub)
    assert k["user_id"] == http.admin_user_id
    assert lib.key_blob(k["public_key"]) == lib.key_blob(pub)
    assert "private_key" not in k
    if vge(mv, "2.2"):
        assert k["type"] == "ssh"

    body = validate(s.list_keypairs, http.compute(
        "GET", "/os-keypairs", microversion=mv), mv)
    mine = [x["keypair"] for x in body["keypairs"]
            if x["keypair"]["name"] == name]
    assert len(mine) == 1
    assert mine[0]["fingerprint"] == k["fingerprint"]

    body = validate(s.get_keypair, http.compute(
        "GET", "/os-keypairs/" + name, microversion=mv), mv)
    g = body["keypair"]
    assert (g["name"], g["user_id"], g["deleted"], g["deleted_at"]) == (
        name, http.admin_user_id, False, None)
    assert isinstance(g["id"], int)

    validate(s.delete_keypair, http.compute(
        "DELETE", "/os-keypairs/" + name, microversion=mv), mv)
    assert http.compute("GET", "/os-keypairs/" + name).status_code == 404


@mv_param
def test_keypair_generate(http, tmp_path, mv):
    s = pick(keypairs_client.KeyPairsClient, mv)
    name = lib.unique("schema-gen")
    r = http.compute("POST", "/os-keypairs", microversion=mv,
                     json={"keypair": {"name": name}})
    if vge(mv, "2.92"):
        # generation removed in 2.92 (schemas/keypairs.py create_v292)
        assert r.status_code == 400, r.text
        assert "'public_key' is a required property" in \
            r.json()["badRequest"]["message"]
        return
    body = validate(s.create_keypair, r, mv)
    k = body["keypair"]
    assert k["private_key"]
    derived = lib.public_from_private(k["private_key"], tmp_path)
    assert lib.key_blob(derived) == lib.key_blob(k["public_key"])
    assert k["fingerprint"] == lib.ssh_fingerprint(k["public_key"])
    validate(s.delete_keypair, http.compute(
        "DELETE", "/os-keypairs/" + name, microversion=mv), mv)


@pytest.mark.parametrize("mv", ["2.35", "2.75", "2.92"])
def test_keypair_list_pagination(http, ed25519, mv):
    pub = ed25519[1].read_text().strip()
    names = sorted(lib.unique("page") for _ in range(3))
    for n in names:
        assert http.compute("POST", "/os-keypairs", microversion="2.10",
                            json={"keypair": {"name": n, "public_key": pub}}
                            ).status_code == 201
    try:
        r = http.compute("GET", "/os-keypairs", microversion=mv,
                         params={"limit": 1})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["keypairs"]) == 1
        assert "keypairs_links" in body, body
        assert body["keypairs_links"][0]["rel"] == "next"
        if vge(mv, "2.75"):
            # unknown query parameters are rejected from 2.75 on
            # (schemas/keypairs.py index_query_schema_v275)
            r = http.compute("GET", "/os-keypairs", microversion=mv,
                             params={"bogus": "1"})
            assert r.status_code == 400, r.text
    finally:
        for n in names:
            http.compute("DELETE", "/os-keypairs/" + n)


# --------------------------------------------------------------------------
# limits / quotas
# --------------------------------------------------------------------------

@mv_param
def test_limits(http, mv):
    s = pick(limits_client.LimitsClient, mv)
    body = validate(s.get_limit, http.compute("GET", "/limits",
                                              microversion=mv), mv)
    a = body["limits"]["absolute"]
    assert a["maxTotalInstances"] == lib.DEFAULT_QUOTAS["instances"]
    assert a["maxTotalKeypairs"] == lib.DEFAULT_QUOTAS["key_pairs"]
    assert a["totalInstancesUsed"] == 0
    assert body["limits"]["rate"] == []


@mv_param
def test_quota_show_detail_defaults(http, mv):
    s = pick(quotas_client.QuotasClient, mv)
    pid = http.admin_project_id
    body = validate(s.get_quota_set, http.compute(
        "GET", "/os-quota-sets/" + pid, microversion=mv), mv)
    q = body["quota_set"]
    assert q["id"] == pid
    for k in ("instances", "cores", "ram", "key_pairs", "metadata_items"):
        assert q[k] == lib.DEFAULT_QUOTAS[k], k
    body = validate(s.get_quota_set_details, http.compute(
        "GET", "/os-quota-sets/%s/detail" % pid, microversion=mv), mv)
    d = body["quota_set"]
    assert d["instances"] == {"limit": 10, "in_use": 0, "reserved": 0}
    assert d["key_pairs"]["limit"] == 100
    body = validate(s.get_quota_set, http.compute(
        "GET", "/os-quota-sets/%s/defaults" % pid, microversion=mv), mv)
    assert body["quota_set"]["instances"] == 10


@mv_param
def test_quota_update_and_revert(http, make_tenant, mv):
    s = pick(quotas_client.QuotasClient, mv)
    t = make_tenant("schema-q")
    path = "/os-quota-sets/" + t.project_id
    body = validate(s.update_quota_set, http.compute(
        "PUT", path, microversion=mv,
        json={"quota_set": {"instances": 4, "cores": "8"}}), mv)
    assert body["quota_set"]["instances"] == 4
    assert body["quota_set"]["cores"] == 8
    assert "id" not in body["quota_set"]
    assert http.compute("GET", path).json()["quota_set"]["instances"] == 4
    validate(s.delete_quota, http.compute("DELETE", path, microversion=mv),
             mv)
    assert http.compute("GET", path).json()["quota_set"]["instances"] == 10


# --------------------------------------------------------------------------
# versions (tempest/lib/services/compute/versions_client.py)
# --------------------------------------------------------------------------

def test_versions_root(http, daemon):
    r = http.compute_root("GET", "/")
    body = validate(versions_schema.list_versions, r)
    by_id = {v["id"]: v for v in body["versions"]}
    v21 = by_id["v2.1"]
    assert v21["status"] == "CURRENT"
    assert v21["min_version"] == "2.1"
    assert v21["version"] == lib.MAX_MICROVERSION
    assert any(link["rel"] == "self" and
               link["href"].rstrip("/") == daemon.compute_url
               for link in v21["links"]), v21
    if "v2.0" in by_id:
        assert by_id["v2.0"]["status"] == "SUPPORTED"


def test_version_v21_document(http, daemon):
    r = http.compute_root("GET", "/v2.1/", token=http.admin_token)
    body = validate(versions_schema.get_one_version, r)
    v = body["version"]
    assert v["id"] == "v2.1"
    assert v["status"] == "CURRENT"
    assert (v["min_version"], v["version"]) == ("2.1", lib.MAX_MICROVERSION)
    assert {"base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2.1"} \
        in v["media-types"]
