"""Glance v2 subset over raw HTTP (requests) and openstacksdk.

Expected behaviour is Glance's (glance/api/v2/images.py, image_data.py,
image_members.py, common/wsgi.py; errors rendered by webob).  Quota runs
against a second daemon started with its own config file.
"""

import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
import uuid

import jsonschema
import pytest

import novalite_testlib as lib

MiB = lib.MiB
JSON = {"Accept": "application/json"}
OCTET = {"Content-Type": "application/octet-stream"}


def _ids(resp):
    assert resp.status_code == 200, resp.text
    return [i["id"] for i in resp.json()["images"]]


def _list(http, token=None, **params):
    kw = {} if token is None else {"token": token}
    return http.image("GET", "/v2/images", params=params, **kw)


def _json_error(resp, status, title):
    """Glance's (webob's) JSON error body, returns the message text."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"message", "code", "title"}, body
    assert body["code"] == "%d %s" % (status, title)
    assert body["title"] == title
    assert body["message"].endswith("<br /><br />\n\n\n"), body
    return body["message"][:-len("<br /><br />\n\n\n")]


# ---- discovery, catalog, schemas ------------------------------------------


def test_discovery_root_is_300_with_versions(daemon, http):
    r = http.image("GET", "/", token=None)
    assert r.status_code == 300, r.text
    versions = r.json()["versions"]
    assert sorted(v["id"] for v in versions) == sorted(
        "v2.%d" % i for i in range(17))
    current = [v["id"] for v in versions if v["status"] == "CURRENT"]
    assert current == ["v2.16"]
    for v in versions:
        assert v["status"] in ("CURRENT", "SUPPORTED"), v
        assert v["links"] == [{"rel": "self",
                               "href": daemon.image_root + "/v2/"}], v
    # /versions is the explicit form: same body, 200 (glance/api/versions.py)
    r2 = http.image("GET", "/versions", token=None)
    assert r2.status_code == 200
    assert r2.json() == r.json()


def test_catalog_has_image_endpoint(daemon, http):
    cat = http.admin_auth["token"]["catalog"]
    image = [c for c in cat if c["type"] == "image"]
    assert len(image) == 1, cat
    urls = {e["interface"]: e["url"] for e in image[0]["endpoints"]}
    assert urls.get("public") == daemon.image_root, urls


def test_unauthenticated_401(http):
    r = http.image("GET", "/v2/images", token=None, headers=JSON)
    _json_error(r, 401, "Unauthorized")
    r = http.image("GET", "/v2/images", token="not-a-token")
    assert r.status_code == 401


def test_schemas(http):
    r = http.image("GET", "/v2/schemas/image")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["name"] == "image"
    for k in ("id", "name", "status", "visibility", "protected", "os_hidden",
              "checksum", "owner", "size", "virtual_size", "disk_format",
              "container_format", "min_ram", "min_disk", "tags",
              "created_at", "updated_at", "self", "file", "schema",
              "os_hash_algo", "os_hash_value"):
        assert k in s["properties"], k
    assert sorted(s["properties"]["visibility"]["enum"]) == [
        "community", "private", "public", "shared"]
    assert s["additionalProperties"] == {"type": "string"}
    for name, title in (("images", "images"), ("member", "member"),
                        ("members", "members")):
        r = http.image("GET", "/v2/schemas/" + name)
        assert r.status_code == 200, (name, r.text)
        assert r.json()["name"] == title
    assert http.image("GET", "/v2/schemas/nope").status_code == 404


def test_images_validate_against_served_schema(http, images):
    """Clients validate with the served schema: glanceclient's
    images.update() builds a warlock model from the image it just fetched,
    so every image the API returns must satisfy /v2/schemas/image (Glance:
    status enum includes 'deactivated'; disk_format/container_format are
    nullable -- glance/api/v2/images.py get_base_properties())."""
    schema = http.image("GET", "/v2/schemas/image").json()
    bare = images(name=lib.unique("noformat"))          # formats null
    act = images(name=lib.unique("act"), disk_format="raw",
                 container_format="bare")
    assert lib.image_upload(http, act["id"],
                            lib.raw_payload(1000)).status_code == 204
    deact = images(name=lib.unique("deact"), disk_format="raw",
                   container_format="bare")
    assert lib.image_upload(http, deact["id"],
                            lib.raw_payload(1000)).status_code == 204
    r = http.image("POST", "/v2/images/%s/actions/deactivate" % deact["id"])
    assert r.status_code == 204, r.text
    problems = []
    for what, iid in (("queued, no formats", bare["id"]),
                      ("active", act["id"]), ("deactivated", deact["id"])):
        img = lib.image_get(http, iid)
        try:
            jsonschema.validate(img, schema)
        except jsonschema.ValidationError as e:
            problems.append("%s image: %s" % (what, e.message))
    assert not problems, ("images do not validate against "
                          "/v2/schemas/image:\n" + "\n".join(problems))


# ---- create ----------------------------------------------------------------


def test_create_defaults_and_location(daemon, http):
    name = lib.unique("img")
    r = http.image("POST", "/v2/images", json={"name": name, "foo": "bar"})
    assert r.status_code == 201, r.text
    img = r.json()
    try:
        iid = img["id"]
        uuid.UUID(iid)
        assert r.headers["Location"] == "%s/v2/images/%s" % (
            daemon.image_root, iid)
        expect = {
            "name": name, "status": "queued", "visibility": "shared",
            "protected": False, "os_hidden": False, "owner":
            http.admin_project_id, "disk_format": None,
            "container_format": None, "size": None, "virtual_size": None,
            "checksum": None, "os_hash_algo": None, "os_hash_value": None,
            "min_disk": 0, "min_ram": 0, "tags": [], "foo": "bar",
            "self": "/v2/images/%s" % iid,
            "file": "/v2/images/%s/file" % iid,
            "schema": "/v2/schemas/image",
        }
        for k, v in expect.items():
            assert img.get(k, "<missing>") == v, (k, img)
        assert img["created_at"] == img["updated_at"]
        assert img["created_at"].endswith("Z")
        assert lib.image_get(http, iid) == img
        assert lib.image_files(daemon, iid) == []
    finally:
        lib.image_purge(http, img["id"])


def test_create_with_id_tags_and_duplicate_id(http, images):
    iid = str(uuid.uuid4())
    img = images(id=iid, name=lib.unique("withid"), tags=["b", "a"],
                 min_ram=256, min_disk=2, disk_format="qcow2",
                 container_format="bare", visibility="private")
    assert img["id"] == iid
    assert sorted(img["tags"]) == ["a", "b"]
    assert (img["min_ram"], img["min_disk"]) == (256, 2)
    assert img["visibility"] == "private"
    r = http.image("POST", "/v2/images", json={"id": iid, "name": "dup"},
                   headers=JSON)
    assert r.status_code == 409, r.text


@pytest.mark.parametrize("body", [
    {"visibility": "bogus"},
    {"disk_format": "floppy"},
    {"container_format": "crate"},
    {"min_ram": -1},
    {"protected": "yes"},
    {"id": "not-a-uuid"},
    {"custom": 5},                     # additionalProperties: string
])
def test_create_invalid_400(http, body):
    before = _ids(_list(http, limit=1000))
    r = http.image("POST", "/v2/images", headers=JSON,
                   json=dict(body, name=lib.unique("bad")))
    _json_error(r, 400, "Bad Request")
    assert _ids(_list(http, limit=1000)) == before


@pytest.mark.parametrize("key", ["status", "size", "checksum", "self",
                                 "deleted", "location"])
def test_create_readonly_or_reserved_attribute_403(http, key):
    r = http.image("POST", "/v2/images", headers=JSON,
                   json={"name": lib.unique("ro"), key: "x"})
    msg = _json_error(r, 403, "Forbidden")
    assert msg in ("Attribute '%s' is read-only." % key,
                   "Attribute '%s' is reserved." % key), msg


def test_reserved_os_glance_namespace_403(http, images):
    """os_glance_* is Glance's reserved namespace (common.GLANCE_RESERVED_NS,
    checked in RequestDeserializer.create and _validate_change)."""
    r = http.image("POST", "/v2/images", headers=JSON,
                   json={"name": lib.unique("ns"), "os_glance_x": "1"})
    assert _json_error(r, 403, "Forbidden") == \
        "Attribute 'os_glance_x' is reserved."
    img = images(name=lib.unique("ns"))
    r = lib.image_patch(http, img["id"], [
        {"op": "add", "path": "/os_glance_x", "value": "1"}], headers=JSON)
    assert _json_error(r, 403, "Forbidden") == \
        "Attribute 'os_glance_x' is reserved."
    assert "os_glance_x" not in lib.image_get(http, img["id"])


def test_non_admin_cannot_create_public(http, tenant):
    name = lib.unique("pub")
    r = http.image("POST", "/v2/images", token=tenant.member.token,
                   headers=JSON, json={"name": name, "visibility": "public"})
    msg = _json_error(r, 403, "Forbidden")
    assert "publicize_image" in msg, msg
    assert _ids(_list(http, name=name)) == []


def test_reader_cannot_create(http, tenant):
    r = http.image("POST", "/v2/images", token=tenant.reader.token,
                   json={"name": lib.unique("rd")})
    assert r.status_code == 403, r.text
    assert _list(http, token=tenant.reader.token).status_code == 200


# ---- JSON patch ------------------------------------------------------------


def test_patch_add_replace_remove(http, images):
    img = images(name=lib.unique("p"), disk_format="raw",
                 container_format="bare")
    iid = img["id"]
    r = lib.image_patch(http, iid, [
        {"op": "add", "path": "/os_distro", "value": "debian"},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/min_ram", "value": 1024},
        {"op": "add", "path": "/min_disk", "value": 3},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]},
        {"op": "replace", "path": "/protected", "value": True},
    ])
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["os_distro"] == "debian"
    assert got["hw_disk_bus"] == "virtio"
    assert got["name"] == "renamed"
    assert (got["min_ram"], got["min_disk"]) == (1024, 3)
    assert sorted(got["tags"]) == ["x", "y"]
    assert got["protected"] is True
    assert lib.image_get(http, iid) == got

    r = lib.image_patch(http, iid, [
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},  # add = set
        {"op": "remove", "path": "/os_distro"},
        {"op": "replace", "path": "/protected", "value": False},
    ])
    assert r.status_code == 200, r.text
    got = r.json()
    assert "os_distro" not in got
    assert got["hw_disk_bus"] == "scsi"
    assert got["protected"] is False


def test_patch_ops_see_earlier_ops(http, images):
    """RFC 6902 / Glance: operations apply in order to the result of the
    previous ones (ImagesController.update loops over changes on one
    domain object), so 'replace' of a property added just before works."""
    img = images(name=lib.unique("seq"))
    r = lib.image_patch(http, img["id"], [
        {"op": "add", "path": "/a", "value": "1"},
        {"op": "replace", "path": "/a", "value": "2"},
    ], headers=JSON)
    assert r.status_code == 200, r.text
    assert r.json()["a"] == "2"
    r = lib.image_patch(http, img["id"], [
        {"op": "remove", "path": "/a"},
        {"op": "replace", "path": "/a", "value": "3"},
    ], headers=JSON)
    assert _json_error(r, 409, "Conflict") == "Property a does not exist."
    assert lib.image_get(http, img["id"])["a"] == "2"


def test_patch_is_atomic(http, images):
    img = images(name=lib.unique("atomic"))
    before = lib.image_get(http, img["id"])
    r = lib.image_patch(http, img["id"], [
        {"op": "add", "path": "/b", "value": "1"},
        {"op": "replace", "path": "/name", "value": "changed"},
        {"op": "replace", "path": "/missing", "value": "2"},
    ])
    assert r.status_code == 409, r.text
    assert lib.image_get(http, img["id"]) == before


def test_patch_replace_missing_custom_property_409(http, images):
    img = images(name=lib.unique("p"))
    r = lib.image_patch(http, img["id"], [
        {"op": "replace", "path": "/nope", "value": "1"}], headers=JSON)
    assert _json_error(r, 409, "Conflict") == "Property nope does not exist."
    r = lib.image_patch(http, img["id"], [
        {"op": "remove", "path": "/nope"}], headers=JSON)
    assert _json_error(r, 409, "Conflict") == "Property nope does not exist."
    assert "nope" not in lib.image_get(http, img["id"])


@pytest.mark.parametrize("attr", ["name", "visibility", "min_ram",
                                  "disk_format", "tags", "protected"])
def test_patch_remove_base_attribute_403(http, images, attr):
    img = images(name=lib.unique("p"), disk_format="raw")
    r = lib.image_patch(http, img["id"], [{"op": "remove",
                                           "path": "/" + attr}])
    assert r.status_code == 403, r.text
    assert lib.image_get(http, img["id"]) == img


def test_patch_remove_base_attribute_message(http, images):
    """glance/api/v2/images.py _do_remove: 'Property %s may not be
    removed.'"""
    img = images(name=lib.unique("p"))
    r = lib.image_patch(http, img["id"], [{"op": "remove", "path": "/name"}],
                        headers=JSON)
    assert _json_error(r, 403, "Forbidden") == \
        "Property name may not be removed."


@pytest.mark.parametrize("attr,value", [
    ("status", "active"), ("size", 5), ("checksum", "0" * 32),
    ("virtual_size", 5), ("os_hash_algo", "md5"), ("os_hash_value", "00"),
    ("created_at", "2020-01-01T00:00:00Z"), ("updated_at",
                                             "2020-01-01T00:00:00Z"),
    ("id", "3c2fea67-3ce9-42b4-85af-8b8c9f60568a"), ("self", "x"), ("file", "x"),
    ("schema", "x"),
])
@pytest.mark.parametrize("op", ["replace", "add"])
def test_patch_read_only_attribute_403(http, images, attr, value, op):
    img = images(name=lib.unique("ro"))
    r = lib.image_patch(http, img["id"], [{"op": op, "path": "/" + attr,
                                           "value": value}], headers=JSON)
    assert _json_error(r, 403, "Forbidden") == \
        "Attribute '%s' is read-only." % attr
    assert lib.image_get(http, img["id"]) == img


def test_patch_read_only_remove_403(http, images):
    img = images(name=lib.unique("ro"))
    for attr in ("status", "checksum", "size"):
        r = lib.image_patch(http, img["id"], [{"op": "remove",
                                               "path": "/" + attr}],
                            headers=JSON)
        assert _json_error(r, 403, "Forbidden") == \
            "Attribute '%s' is read-only." % attr


def test_patch_reserved_attribute_403(http, images):
    img = images(name=lib.unique("rs"))
    for op in ({"op": "add", "path": "/deleted", "value": "x"},
               {"op": "replace", "path": "/location", "value": "x"},
               {"op": "remove", "path": "/deleted"}):
        r = lib.image_patch(http, img["id"], [op], headers=JSON)
        assert _json_error(r, 403, "Forbidden") == \
            "Attribute '%s' is reserved." % op["path"][1:], op


@pytest.mark.parametrize("ctype", ["application/json",
                                   "application/json-patch+json",
                                   "text/plain"])
def test_patch_wrong_content_type_415(http, images, ctype):
    img = images(name=lib.unique("ct"))
    r = lib.image_patch(http, img["id"], [
        {"op": "replace", "path": "/name", "value": "x"}],
        content_type=ctype, headers=JSON)
    _json_error(r, 415, "Unsupported Media Type")
    assert lib.image_get(http, img["id"])["name"] == img["name"]


def test_patch_415_announces_accept_patch(http, images):
    """webob.exc.HTTPUnsupportedMediaType(headers={'Accept-Patch': ...}) in
    glance/api/v2/images.py RequestDeserializer.update."""
    img = images(name=lib.unique("ct"))
    r = lib.image_patch(http, img["id"], [], content_type="application/json")
    assert r.status_code == 415
    assert r.headers.get("Accept-Patch") == (
        "application/openstack-images-v2.0-json-patch, "
        "application/openstack-images-v2.1-json-patch"), dict(r.headers)


@pytest.mark.parametrize("ops", [
    {"op": "replace", "path": "/name", "value": "x"},      # not an array
    [{"op": "move", "path": "/name", "value": "x"}],
    [{"op": "replace", "value": "x"}],
    [{"op": "replace", "path": "/name"}],
    [{"op": "replace", "path": "/visibility", "value": "bogus"}],
    [{"op": "replace", "path": "/min_ram", "value": "lots"}],
    [{"op": "add", "path": "/custom", "value": 7}],
])
def test_patch_bad_document_400(http, images, ops):
    img = images(name=lib.unique("bad"))
    r = http.image("PATCH", "/v2/images/%s" % img["id"], headers={
        "Content-Type": lib.IMAGE_PATCH_CT, "Accept": "application/json"},
        data=json.dumps(ops))
    _json_error(r, 400, "Bad Request")
    assert lib.image_get(http, img["id"]) == img


def test_non_admin_cannot_publicize_by_patch(http, tenant, images):
    img = images(token=tenant.member.token, name=lib.unique("pp"))
    r = lib.image_patch(http, img["id"], [
        {"op": "replace", "path": "/visibility", "value": "public"}],
        token=tenant.member.token)
    assert r.status_code == 403, r.text
    assert lib.image_get(http, img["id"])["visibility"] == "shared"
    # community is allowed for the owner
    r = lib.image_patch(http, img["id"], [
        {"op": "replace", "path": "/visibility", "value": "community"}],
        token=tenant.member.token)
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == "community"


# ---- errors ----------------------------------------------------------------


def test_error_body_json_format(http):
    iid = str(uuid.uuid4())
    r = http.image("GET", "/v2/images/%s" % iid, headers=JSON)
    assert r.status_code == 404
    assert r.json() == {
        "message": "No image found with ID %s<br /><br />\n\n\n" % iid,
        "code": "404 Not Found", "title": "Not Found"}


def test_error_body_plain_format(http):
    iid = str(uuid.uuid4())
    r = http.image("GET", "/v2/images/%s" % iid)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text.startswith("404 Not Found\n\n"), repr(r.text)
    assert "No image found with ID %s" % iid in r.text


# ---- visibility and ownership ----------------------------------------------


def test_private_image_of_other_project_is_404(http, make_tenant, images,
                                               daemon):
    a, b = make_tenant("own"), make_tenant("oth")
    data = lib.raw_payload(4096)
    img = images(token=a.member.token, name=lib.unique("priv"),
                 visibility="private", disk_format="raw",
                 container_format="bare")
    iid = img["id"]
    assert lib.image_upload(http, iid, data,
                            token=a.member.token).status_code == 204
    tok = b.member.token
    path = "/v2/images/%s" % iid
    for method, p, kw in (
            ("GET", path, {}),
            ("GET", path + "/file", {}),
            ("PATCH", path, {"data": json.dumps([{"op": "replace",
                                                  "path": "/name",
                                                  "value": "x"}]),
                             "headers": {"Content-Type":
                                         lib.IMAGE_PATCH_CT}}),
            ("DELETE", path, {}),
            ("PUT", path + "/file", {"data": b"zz", "headers": OCTET}),
            ("GET", path + "/members", {}),
            ("POST", path + "/actions/deactivate", {}),
            ("PUT", path + "/tags/t", {})):
        headers = dict(kw.pop("headers", {}), Accept="application/json")
        r = http.image(method, p, token=tok, headers=headers, **kw)
        assert _json_error(r, 404, "Not Found") == \
            "No image found with ID %s" % iid, (method, p)
    assert iid not in _ids(_list(http, token=tok))
    assert iid not in _ids(_list(http, token=tok, visibility="private"))
    # untouched for the owner
    got = lib.image_get(http, iid, token=a.member.token)
    assert (got["name"], got["status"], got["tags"]) == (img["name"],
                                                        "active", [])
    r = http.image("GET", path + "/file", token=a.member.token)
    assert r.content == data


def test_shared_image_membership(http, make_tenant, images):
    a, b, c = make_tenant("sa"), make_tenant("sb"), make_tenant("sc")
    img = images(token=a.member.token, name=lib.unique("shared"),
                 disk_format="raw", container_format="bare")
    iid = img["id"]
    data = lib.raw_payload(2048)
    assert lib.image_upload(http, iid, data,
                            token=a.member.token).status_code == 204
    bt = b.member.token
    mpath = "/v2/images/%s/members" % iid

    assert http.image("GET", "/v2/images/" + iid, token=bt).status_code == 404

    r = http.image("POST", mpath, token=a.member.token,
                   json={"member": b.project_id})
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["image_id"], m["member_id"], m["status"], m["schema"]) == (
        iid, b.project_id, "pending", "/v2/schemas/member")
    assert http.image("POST", mpath, token=a.member.token,
                      json={"member": b.project_id}).status_code == 409

    # pending: GET by id works, not in the default list
    assert lib.image_get(http, iid, token=bt)["id"] == iid
    assert iid not in _ids(_list(http, token=bt))
    assert iid not in _ids(_list(http, token=bt, visibility="shared"))
    assert iid in _ids(_list(http, token=bt, member_status="pending"))
    assert iid in _ids(_list(http, token=bt, member_status="all"))
    r = http.image("GET", mpath, token=bt)
    assert [x["member_id"] for x in r.json()["members"]] == [b.project_id]

    # the owner cannot accept on the member's behalf
    r = http.image("PUT", "%s/%s" % (mpath, b.project_id),
                   token=a.member.token, json={"status": "accepted"})
    assert r.status_code == 403, r.text

    r = http.image("PUT", "%s/%s" % (mpath, b.project_id), token=bt,
                   json={"status": "accepted"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    assert iid in _ids(_list(http, token=bt))
    assert iid in _ids(_list(http, token=bt, visibility="shared"))
    assert http.image("GET", "/v2/images/%s/file" % iid,
                      token=bt).content == data

    # a member may not modify, delete or re-share
    r = lib.image_patch(http, iid, [{"op": "replace", "path": "/name",
                                     "value": "x"}], token=bt)
    assert r.status_code == 403, r.text
    assert http.image("DELETE", "/v2/images/" + iid,
                      token=bt).status_code == 403
    assert http.image("POST", mpath, token=bt,
                      json={"member": c.project_id}).status_code == 403

    # rejected: off the list again, still readable by id
    r = http.image("PUT", "%s/%s" % (mpath, b.project_id), token=bt,
                   json={"status": "rejected"})
    assert r.status_code == 200, r.text
    assert iid not in _ids(_list(http, token=bt))
    assert lib.image_get(http, iid, token=bt)["id"] == iid
    r = http.image("PUT", "%s/%s" % (mpath, b.project_id), token=bt,
                   json={"status": "maybe"})
    assert r.status_code == 400, r.text

    # a third project sees nothing
    ct = c.member.token
    assert http.image("GET", "/v2/images/" + iid, token=ct).status_code == 404
    assert iid not in _ids(_list(http, token=ct, member_status="all"))

    # removing the member hides the image again
    r = http.image("DELETE", "%s/%s" % (mpath, b.project_id),
                   token=a.member.token)
    assert r.status_code == 204, r.text
    assert http.image("GET", "/v2/images/" + iid, token=bt).status_code == 404
    assert http.image("GET", mpath,
                      token=a.member.token).json()["members"] == []


def test_member_update_ignores_extra_keys(http, make_tenant, images):
    """openstacksdk (hence `openstack image set --accept`) sends
    {"member": ..., "status": ...}; Glance's RequestDeserializer.update
    (glance/api/v2/image_members.py) only reads body['status']."""
    a, b = make_tenant("xa"), make_tenant("xb")
    img = images(token=a.member.token, name=lib.unique("x"))
    mpath = "/v2/images/%s/members" % img["id"]
    assert http.image("POST", mpath, token=a.member.token,
                      json={"member": b.project_id}).status_code == 200
    r = http.image("PUT", "%s/%s" % (mpath, b.project_id),
                   token=b.member.token,
                   json={"member": b.project_id, "status": "accepted"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"


def test_members_only_for_shared_images(http, images):
    img = images(name=lib.unique("pm"), visibility="private")
    r = http.image("POST", "/v2/images/%s/members" % img["id"],
                   json={"member": uuid.uuid4().hex}, headers=JSON)
    assert _json_error(r, 403, "Forbidden") == \
        "Only shared images have members."


def test_community_image_visibility(http, make_tenant, images):
    a, b = make_tenant("ca"), make_tenant("cb")
    img = images(token=a.member.token, name=lib.unique("comm"),
                 visibility="community")
    iid = img["id"]
    bt = b.member.token
    assert lib.image_get(http, iid, token=bt)["visibility"] == "community"
    assert iid not in _ids(_list(http, token=bt))
    assert iid in _ids(_list(http, token=bt, visibility="community"))
    assert iid in _ids(_list(http, token=a.member.token))   # own: listed
    r = lib.image_patch(http, iid, [{"op": "replace", "path": "/name",
                                     "value": "x"}], token=bt)
    assert r.status_code == 403, r.text


def test_os_hidden_not_listed_by_default(http, images):
    img = images(name=lib.unique("hid"), os_hidden=True)
    assert img["os_hidden"] is True
    assert img["id"] not in _ids(_list(http, limit=1000))
    assert img["id"] in _ids(_list(http, os_hidden="true", limit=1000))
    assert lib.image_get(http, img["id"])["os_hidden"] is True


# ---- list filters, sorting, paging -----------------------------------------


@pytest.fixture(scope="module")
def listing(http, make_tenant):
    """Five images of a fresh project, all with property suite=<uuid>."""
    t = make_tenant("lf")
    tok = t.member.token
    suite = uuid.uuid4().hex
    pfx = lib.unique("lf")
    spec = [
        # key, body, upload size
        ("a", dict(visibility="private", tags=["red"],
                   disk_format="raw", container_format="bare"), 100),
        ("b", dict(tags=["red", "blue"], disk_format="raw",
                   container_format="bare"), 1000),
        ("c", dict(color="green", disk_format="raw",
                   container_format="bare"), 5000),
        ("d", dict(disk_format="qcow2", container_format="bare"), None),
        ("e", dict(disk_format="iso", container_format="bare"), None),
    ]
    imgs = {}
    for key, body, size in spec:
        img = lib.image_create(http, token=tok, name="%s-%s" % (pfx, key),
                               suite=suite, **body)
        if size:
            r = lib.image_upload(http, img["id"], lib.raw_payload(size),
                                 token=tok)
            assert r.status_code == 204, r.text
        imgs[key] = img["id"]
    yield t, suite, pfx, imgs
    for iid in imgs.values():
        lib.image_purge(http, iid)


@pytest.mark.parametrize("params,expect", [
    ({}, "abcde"),
    ({"status": "active"}, "abc"),
    ({"status": "queued"}, "de"),
    ({"visibility": "private"}, "a"),
    ({"visibility": "shared"}, "bcde"),
    ({"tag": "red"}, "ab"),
    ({"tag": "blue"}, "b"),
    ({"tag": "green"}, ""),
    ({"disk_format": "qcow2"}, "d"),
    ({"disk_format": "raw"}, "abc"),
    ({"container_format": "bare"}, "abcde"),
    ({"size_min": "1000"}, "bc"),
    ({"size_max": "1000"}, "ab"),
    ({"size_min": "500", "size_max": "2000"}, "b"),
    ({"color": "green"}, "c"),
    ({"color": "blue"}, ""),
])
def test_list_filters(http, listing, params, expect):
    """size_min/size_max are SQL comparisons in Glance
    (db/sqlalchemy/api.py _make_conditions_from_filters): an image without
    data (size NULL) never matches them."""
    t, suite, pfx, imgs = listing
    got = set(_ids(_list(http, token=t.member.token, suite=suite,
                         **params)))
    assert got == {imgs[k] for k in expect}, params


def test_list_filter_name_and_owner(http, listing):
    t, suite, pfx, imgs = listing
    tok = t.member.token
    assert _ids(_list(http, token=tok, name=pfx + "-b")) == [imgs["b"]]
    assert _ids(_list(http, token=tok, name=pfx)) == []
    assert set(_ids(_list(http, token=tok, suite=suite,
                          owner=t.project_id))) == set(imgs.values())
    assert _ids(_list(http, token=tok, suite=suite,
                      owner=uuid.uuid4().hex)) == []


def test_list_sort(http, listing):
    t, suite, pfx, imgs = listing
    tok = t.member.token
    asc = [imgs[k] for k in "abcde"]
    assert _ids(_list(http, token=tok, suite=suite, sort="name:asc")) == asc
    assert _ids(_list(http, token=tok, suite=suite,
                      sort="name:desc")) == asc[::-1]
    assert _ids(_list(http, token=tok, suite=suite, sort_key="name",
                      sort_dir="asc")) == asc
    # default order: created_at desc
    assert _ids(_list(http, token=tok, suite=suite)) == asc[::-1]
    by_size = _ids(_list(http, token=tok, suite=suite, status="active",
                         sort="size:desc"))
    assert by_size == [imgs["c"], imgs["b"], imgs["a"]]


def test_list_limit_marker(http, listing):
    t, suite, pfx, imgs = listing
    tok = t.member.token
    r = _list(http, token=tok, suite=suite, sort="name:asc", limit=2)
    assert _ids(r) == [imgs["a"], imgs["b"]]
    assert "next" in r.json(), r.json()
    r = _list(http, token=tok, suite=suite, sort="name:asc", limit=2,
              marker=imgs["b"])
    assert _ids(r) == [imgs["c"], imgs["d"]]
    r = _list(http, token=tok, suite=suite, sort="name:asc", limit=2,
              marker=imgs["d"])
    assert _ids(r) == [imgs["e"]]
    assert "next" not in r.json()


def test_list_next_link_keeps_filters_and_sort(daemon, http, listing):
    """Glance's ResponseSerializer.index builds 'next' from the request's
    own parameters with the marker replaced, so following it walks the same
    filtered, sorted set (clients -- glanceclient, openstacksdk -- follow
    'next' verbatim)."""
    t, suite, pfx, imgs = listing
    tok = t.member.token
    r = _list(http, token=tok, suite=suite, sort="name:asc", limit=2)
    seen = _ids(r)
    pages = 1
    while "next" in r.json() and pages < 10:
        nxt = r.json()["next"]
        assert nxt.startswith("/v2/images?"), nxt
        r = http.image("GET", nxt, token=tok)
        seen += _ids(r)
        pages += 1
    assert seen == [imgs[k] for k in "abcde"], "next links gave %r" % seen


@pytest.mark.parametrize("params", [
    {"limit": "-1"}, {"limit": "abc"}, {"sort": "bogus:asc"},
    {"sort": "name:sideways"}, {"sort_key": "bogus"}, {"sort_dir": "up"},
    {"marker": str(uuid.uuid4())}, {"visibility": "bogus"},
    {"size_min": "abc"}, {"size_max": "1.5"},
])
def test_list_bad_params_400(http, params):
    r = http.image("GET", "/v2/images", params=params, headers=JSON)
    _json_error(r, 400, "Bad Request")


# ---- data: upload / download -----------------------------------------------


@pytest.fixture(scope="module")
def data_image(http):
    data = lib.raw_payload(1000)
    img = lib.image_create(http, name=lib.unique("data"), disk_format="raw",
                           container_format="bare")
    r = lib.image_upload(http, img["id"], data)
    assert r.status_code == 204, r.text
    assert r.content == b""
    yield img["id"], data
    lib.image_purge(http, img["id"])


def test_upload_result(http, daemon, data_image):
    iid, data = data_image
    img = lib.image_get(http, iid)
    assert img["status"] == "active"
    assert img["size"] == len(data)
    assert img["virtual_size"] == len(data)
    assert img["checksum"] == lib.md5_hex(data)
    assert img["os_hash_algo"] == "sha512"
    assert img["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert lib.image_files(daemon, iid) == [iid]
    assert (daemon.images_dir / iid).read_bytes() == data


def test_download_full_with_content_md5(http, data_image):
    iid, data = data_image
    r = http.image("GET", "/v2/images/%s/file" % iid)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Length"] == str(len(data))
    assert r.headers["Content-MD5"] == lib.md5_hex(data)
    assert r.headers["Content-MD5"] == lib.image_get(http, iid)["checksum"]


@pytest.mark.parametrize("rng,start,end", [
    ("bytes=0-99", 0, 99),
    ("bytes=100-100", 100, 100),
    ("bytes=-10", 990, 999),             # suffix range
    ("bytes=900-", 900, 999),
    ("bytes=990-5000", 990, 999),        # end clipped to the size
    ("bytes=-5000", 0, 999),             # suffix longer than the file
])
def test_download_range(http, data_image, rng, start, end):
    iid, data = data_image
    r = http.image("GET", "/v2/images/%s/file" % iid, headers={"Range": rng})
    assert r.status_code == 206, (rng, r.status_code)
    assert r.content == data[start:end + 1]
    assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (start, end,
                                                           len(data))
    assert r.headers["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize("rng", ["bytes=1000-1100", "bytes=5000-",
                                 "bytes=1000-"])
def test_download_range_unsatisfiable_416(http, data_image, rng):
    iid, _ = data_image
    r = http.image("GET", "/v2/images/%s/file" % iid,
                   headers={"Range": rng, "Accept": "application/json"})
    _json_error(r, 416, "Requested Range Not Satisfiable")


def test_download_malformed_range_416(http, data_image):
    """glance/common/wsgi.py get_range_from_request: webob cannot parse it
    -> HTTPRequestRangeNotSatisfiable."""
    iid, _ = data_image
    r = http.image("GET", "/v2/images/%s/file" % iid,
                   headers={"Range": "bytes=abc"})
    assert r.status_code == 416, (r.status_code, len(r.content))


def test_download_multi_range_400(http, data_image):
    """glance/common/wsgi.py get_range_from_request: 'Requests with multiple
    ranges are not supported in Glance.' -> 400."""
    iid, _ = data_image
    r = http.image("GET", "/v2/images/%s/file" % iid,
                   headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 400, (r.status_code, len(r.content))


def test_download_queued_image_204(http, images):
    img = images(name=lib.unique("empty"), disk_format="raw",
                 container_format="bare")
    r = http.image("GET", "/v2/images/%s/file" % img["id"])
    assert r.status_code == 204
    assert r.content == b""


def test_upload_without_disk_format_400(http, daemon, images):
    img = images(name=lib.unique("nofmt"))
    r = lib.image_upload(http, img["id"], lib.raw_payload(300),
                         headers=JSON)
    assert _json_error(r, 400, "Bad Request") == (
        "Properties disk_format, container_format must be set prior to "
        "saving data.")
    got = lib.image_get(http, img["id"])
    assert (got["status"], got["size"], got["checksum"]) == ("queued", None,
                                                             None)
    assert lib.image_files(daemon, img["id"]) == []


def test_second_upload_409(http, daemon, images):
    img = images(name=lib.unique("twice"), disk_format="raw",
                 container_format="bare")
    first = lib.raw_payload(700)
    assert lib.image_upload(http, img["id"], first).status_code == 204
    r = lib.image_upload(http, img["id"], lib.raw_payload(900), headers=JSON)
    _json_error(r, 409, "Conflict")
    got = lib.image_get(http, img["id"])
    assert (got["status"], got["size"], got["checksum"]) == (
        "active", 700, lib.md5_hex(first))
    assert http.image("GET", "/v2/images/%s/file" % img["id"]).content == \
        first
    assert lib.image_files(daemon, img["id"]) == [img["id"]]


def test_upload_missing_image_404(http):
    r = lib.image_upload(http, str(uuid.uuid4()), b"x" * 10)
    assert r.status_code == 404


def test_upload_chunked_body(http, images):
    """Transfer-Encoding: chunked (no Content-Length), as glanceclient
    sends a pipe."""
    img = images(name=lib.unique("chunk"), disk_format="raw",
                 container_format="bare")
    parts = [lib.raw_payload(70000)] + [os.urandom(65536) for _ in range(5)]
    r = lib.image_upload(http, img["id"], iter(parts))
    assert r.status_code == 204, r.text
    data = b"".join(parts)
    got = lib.image_get(http, img["id"])
    assert (got["size"], got["checksum"]) == (len(data), lib.md5_hex(data))


def test_delete_removes_data(http, daemon, images):
    img = images(name=lib.unique("del"), disk_format="raw",
                 container_format="bare")
    assert lib.image_upload(http, img["id"],
                            lib.raw_payload(100)).status_code == 204
    assert lib.image_files(daemon, img["id"]) == [img["id"]]
    r = http.image("DELETE", "/v2/images/%s" % img["id"])
    assert r.status_code == 204
    assert http.image("GET", "/v2/images/%s" % img["id"]).status_code == 404
    assert lib.image_files(daemon, img["id"]) == []
    assert http.image("DELETE",
                      "/v2/images/%s" % img["id"]).status_code == 404


def test_protected_delete_403(http, images):
    img = images(name=lib.unique("prot"), protected=True)
    r = http.image("DELETE", "/v2/images/%s" % img["id"], headers=JSON)
    _json_error(r, 403, "Forbidden")
    assert lib.image_get(http, img["id"])["protected"] is True


def test_deactivate_reactivate_actions(http, tenant, images):
    tok = tenant.member.token
    img = images(token=tok, name=lib.unique("act"), disk_format="raw",
                 container_format="bare")
    path = "/v2/images/%s" % img["id"]
    # only active images can be deactivated (glance/domain Image.deactivate)
    r = http.image("POST", path + "/actions/deactivate", token=tok)
    assert r.status_code == 403, r.text
    data = lib.raw_payload(512)
    assert lib.image_upload(http, img["id"], data,
                            token=tok).status_code == 204
    assert http.image("POST", path + "/actions/deactivate",
                      token=tok).status_code == 204
    assert lib.image_get(http, img["id"], token=tok)["status"] == \
        "deactivated"
    r = http.image("GET", path + "/file", token=tok, headers=JSON)
    assert _json_error(r, 403, "Forbidden") == (
        "The requested image has been deactivated. Image data download is "
        "forbidden.")
    assert http.image("GET", path + "/file").content == data   # admin
    assert http.image("POST", path + "/actions/reactivate",
                      token=tok).status_code == 204
    assert http.image("GET", path + "/file", token=tok).content == data


# ---- openstacksdk ------------------------------------------------------------


def test_sdk_create_upload_download(sdk, http):
    data = lib.raw_payload(200 * 1024 + 3)
    md5 = lib.md5_hex(data)
    name = lib.unique("sdk")
    img = sdk.image.create_image(
        name=name, data=data, disk_format="raw", container_format="bare",
        validate_checksum=True, allow_duplicates=True, tags=["sdk"],
        properties={"os_distro": "debian"})
    try:
        got = sdk.image.get_image(img.id)
        assert got.status == "active"
        assert got.checksum == md5
        assert got.size == len(data)
        assert got.name == name
        assert got.tags == ["sdk"]
        assert lib.image_get(http, img.id)["os_distro"] == "debian"

        assert sdk.image.download_image(img.id).content == data

        resp = sdk.image.download_image(img.id, stream=True)
        h = hashlib.md5()
        for chunk in resp.iter_content(chunk_size=4096):
            h.update(chunk)
        assert h.hexdigest() == md5 == resp.headers["Content-MD5"]

        buf = io.BytesIO()
        sdk.image.download_image(img.id, output=buf)
        assert buf.getvalue() == data

        assert [i.id for i in sdk.image.images(name=name)] == [img.id]
        upd = sdk.image.update_image(img.id, name=name + "-2",
                                     hw_disk_bus="scsi")
        assert upd.name == name + "-2"
        assert lib.image_get(http, img.id)["hw_disk_bus"] == "scsi"
    finally:
        sdk.image.delete_image(img.id, ignore_missing=True)
    assert sdk.image.find_image(img.id) is None


def test_sdk_paging_follows_next(sdk, http, listing):
    """openstacksdk pages with the 'next' link."""
    t, suite, pfx, imgs = listing
    # (the SDK only passes known filters: owner, not the custom property)
    got = [i.id for i in sdk.image.images(owner=t.project_id,
                                          sort="name:asc", limit=2)]
    assert got == [imgs[k] for k in "abcde"]


# ---- quota (second daemon) -------------------------------------------------


@pytest.fixture
def quota_daemon(tmp_path):
    conf = tmp_path / "novalite.conf"
    conf.write_text("[quota]\nimage_count = 2\nimage_size_total = 1\n")
    d = lib.start_daemon(tmp_path, extra_args=("--config", str(conf)))
    rc = d.openrc
    h = lib.Http(d, rc["OS_USERNAME"], rc["OS_PASSWORD"],
                 rc["OS_PROJECT_NAME"])
    yield d, h
    lib.stop_daemon(d)


def test_quota_image_count(quota_daemon):
    d, h = quota_daemon
    a = lib.image_create(h, name="q1")
    lib.image_create(h, name="q2")
    r = h.image("POST", "/v2/images", json={"name": "q3"}, headers=JSON)
    _json_error(r, 413, "Request Entity Too Large")
    assert sorted(i["name"] for i in _list(h).json()["images"]) == \
        ["q1", "q2"]
    # deleting one frees a slot
    assert h.image("DELETE", "/v2/images/" + a["id"]).status_code == 204
    lib.image_create(h, name="q3")


def test_quota_image_size(quota_daemon):
    d, h = quota_daemon
    one = lib.image_create(h, name="s1", disk_format="raw",
                           container_format="bare")["id"]
    two = lib.image_create(h, name="s2", disk_format="raw",
                           container_format="bare")["id"]

    def state(iid):
        img = lib.image_get(h, iid)
        return img["status"], img["size"], img["checksum"]

    def no_files():
        return not d.images_dir.exists() or os.listdir(d.images_dir) == []

    # announced too big (Content-Length > 1 MiB)
    r = lib.image_upload(h, one, b"\0" * (MiB + 1), headers=JSON)
    _json_error(r, 413, "Request Entity Too Large")
    assert state(one) == ("queued", None, None)
    assert no_files(), os.listdir(d.images_dir)

    # chunked: found too big while streaming
    r = lib.image_upload(h, one, iter([b"\0" * (512 * 1024)] * 3),
                         headers=JSON)
    _json_error(r, 413, "Request Entity Too Large")
    assert state(one) == ("queued", None, None)
    assert no_files(), os.listdir(d.images_dir)

    # within the quota
    small = lib.raw_payload(700 * 1024)
    assert lib.image_upload(h, one, small).status_code == 204
    assert state(one) == ("active", len(small), lib.md5_hex(small))

    # the project's total would exceed 1 MiB
    r = lib.image_upload(h, two, lib.raw_payload(400 * 1024), headers=JSON)
    _json_error(r, 413, "Request Entity Too Large")
    assert state(two) == ("queued", None, None)
    assert os.listdir(d.images_dir) == [one]

    # freeing space lets it through
    assert h.image("DELETE", "/v2/images/" + one).status_code == 204
    assert lib.image_upload(h, two,
                            lib.raw_payload(400 * 1024)).status_code == 204
    assert state(two)[0] == "active"


# ---- large upload with bounded memory --------------------------------------

BIG = 512 * MiB
RSS_SLACK_KIB = 16 * 1024


def _free_disk():
    return shutil.disk_usage(tempfile.gettempdir()).free


@pytest.mark.skipif(
    _free_disk() < 2 * 1024 * MiB,
    reason="needs 2 GiB free in %s: a 512 MiB source file plus the daemon's "
           "512 MiB copy in STATE/images, with headroom"
           % tempfile.gettempdir())
def test_512mib_upload_download_bounded_rss(http, daemon, images, tmp_path):
    src = tmp_path / "big.raw"
    h = hashlib.md5()
    with open(src, "wb") as f:
        block = lib.raw_payload(MiB)
        h.update(block)
        f.write(block)
        for _ in range(BIG // MiB - 1):
            block = os.urandom(MiB)
            h.update(block)
            f.write(block)
    md5 = h.hexdigest()
    img = images(name=lib.unique("big"), disk_format="raw",
                 container_format="bare")
    pid = daemon.proc.pid

    class Peak:
        def __init__(self):
            self.base = lib.vm_rss_kib(pid)
            self.peak = self.base
            self.stop = threading.Event()
            self.t = threading.Thread(target=self.run, daemon=True)

        def run(self):
            while not self.stop.is_set():
                self.peak = max(self.peak, lib.vm_rss_kib(pid))
                time.sleep(0.005)

        def __enter__(self):
            self.t.start()
            return self

        def __exit__(self, *a):
            self.stop.set()
            self.t.join()

    with Peak() as up:
        with open(src, "rb") as f:
            r = lib.image_upload(http, img["id"], f, timeout=600)
    assert r.status_code == 204, r.text
    assert up.peak - up.base <= RSS_SLACK_KIB, (
        "daemon RSS grew by %d KiB during a 512 MiB upload (baseline %d KiB)"
        % (up.peak - up.base, up.base))
    got = lib.image_get(http, img["id"])
    assert (got["status"], got["size"], got["checksum"]) == ("active", BIG,
                                                             md5)
    assert lib.image_files(daemon, img["id"]) == [img["id"]]
    os.unlink(src)

    with Peak() as down:
        r = http.image("GET", "/v2/images/%s/file" % img["id"], stream=True,
                       timeout=600)
        assert r.status_code == 200
        h = hashlib.md5()
        n = 0
        for chunk in r.iter_content(chunk_size=MiB):
            h.update(chunk)
            n += len(chunk)
    assert n == BIG
    assert h.hexdigest() == md5 == r.headers["Content-MD5"]
    assert down.peak - down.base <= RSS_SLACK_KIB, (
        "daemon RSS grew by %d KiB during a 512 MiB download"
        % (down.peak - down.base))
