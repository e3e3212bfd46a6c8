"""Hostile / malformed input over raw HTTP (requests), compute API.

Expected wording comes from Nova 26 (python3-nova), cited per test:
  nova/api/openstack/wsgi.py            fault names, Malformed request body,
                                        Unsupported Content-Type, versions
  nova/api/validation/validators.py     "Invalid input for field/attribute"
  nova/api/validation/parameter_types.py  name / keypair name formats
  nova/api/openstack/compute/schemas/{flavor_manage,keypairs,quota_sets}.py
  nova/exception.py                     message formats
Authentication / policy errors live in test_auth_policy.py.
"""

import json
import re
import socket
import string
import time

import pytest

import novalite_testlib as lib

BODY_LIMIT = 114688          # oslo.middleware sizelimit max_request_body_size


def fault(r, status, name):
    """Assert a Nova fault body {name: {code, message}}; return message."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").startswith("application/json"), \
        r.headers
    body = r.json()
    assert list(body) == [name], body
    assert body[name]["code"] == status, body
    assert isinstance(body[name]["message"], str)
    return body[name]["message"]


def valid_flavor(**over):
    f = {"name": lib.unique("bad"), "ram": 64, "vcpus": 1, "disk": 0}
    f.update(over)
    return f


def post_raw(http, path, data, ctype="application/json", **kw):
    return http.compute("POST", path, data=data,
                        headers={"Content-Type": ctype}, **kw)


# --------------------------------------------------------------------------
# malformed JSON
# --------------------------------------------------------------------------

MALFORMED = [
    b'{"flavor": {"name": "x", "ram": 1',            # truncated
    b'{"flavor": {"name": "x"}} trailing',            # trailing garbage
    b'not json at all',
    b"{'flavor': {}}",                                # single quotes
    b'{"flavor": {"name": "\xff\xfe"}}',             # invalid UTF-8
    b'{"flavor": {,}}',
]


@pytest.mark.parametrize("path", ["/flavors", "/os-keypairs"])
@pytest.mark.parametrize("data", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json(http, unchanged, path, data):
    # nova/api/openstack/wsgi.py: MalformedRequestBody -> this exact fault
    with unchanged():
        r = post_raw(http, path, data)
        assert r.status_code == 400, r.text
        assert r.json() == {"badRequest": {
            "code": 400, "message": "Malformed request body"}}


def test_duplicate_json_keys_rejected(http, unchanged):
    # novalite contract: duplicate keys are refused as malformed (upstream
    # json.loads would silently keep the last one).
    name1, name2 = lib.unique("dup"), lib.unique("dup")
    data = ('{"flavor": {"name": "%s", "name": "%s", "ram": 64, '
            '"vcpus": 1, "disk": 0}}' % (name1, name2)).encode()
    with unchanged():
        r = post_raw(http, "/flavors", data)
        assert r.json() == {"badRequest": {
            "code": 400, "message": "Malformed request body"}}, r.text
    data = ('{"keypair": {"name": "%s"}, "keypair": {"name": "%s"}}'
            % (name1, name2)).encode()
    with unchanged():
        r = post_raw(http, "/os-keypairs", data)
        assert r.json() == {"badRequest": {
            "code": 400, "message": "Malformed request body"}}, r.text


@pytest.mark.parametrize("data,ctype", [
    (b"", "application/json"),
    (b"", None),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"flavor"', "application/json"),
])
def test_empty_or_non_object_body(http, unchanged, data, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    with unchanged():
        r = http.compute("POST", "/flavors", data=data, headers=headers)
        fault(r, 400, "badRequest")


def test_top_level_required_and_extra(http, unchanged):
    # path is empty -> the bare jsonschema message (validators.py)
    with unchanged():
        r = http.compute("POST", "/flavors", json={})
        assert fault(r, 400, "badRequest") == \
            "'flavor' is a required property"
        r = http.compute("POST", "/os-keypairs", json={})
        assert fault(r, 400, "badRequest") == \
            "'keypair' is a required property"
        r = http.compute("POST", "/flavors",
                         json={"flavor": valid_flavor(), "extra": 1})
        assert fault(r, 400, "badRequest") == \
            "Additional properties are not allowed ('extra' was unexpected)"


# --------------------------------------------------------------------------
# schema validation: flavors (schemas/flavor_manage.py)
# --------------------------------------------------------------------------

FLAVOR_BAD = [
    # (overrides / removals, field in message, fragment of jsonschema text)
    ({"ram": "abc"}, "ram", "does not match"),
    ({"ram": [1]}, "ram", "is not of type"),
    ({"ram": 1.5}, "ram", "is not of type"),
    ({"ram": None}, "ram", "is not of type"),
    ({"ram": True}, "ram", "is not of type"),
    ({"ram": 0}, "ram", "is less than the minimum of 1"),
    ({"vcpus": -1}, "vcpus", "is less than the minimum of 1"),
    ({"disk": -1}, "disk", "is less than the minimum of 0"),
    ({"ram": 2147483648}, "ram", "is greater than the maximum of 2147483647"),
    ({"swap": "x"}, "swap", "does not match"),
    ({"OS-FLV-EXT-DATA:ephemeral": -5}, "OS-FLV-EXT-DATA:ephemeral",
     "is less than the minimum of 0"),
    ({"rxtx_factor": 0}, "rxtx_factor", "minimum"),
    ({"os-flavor-access:is_public": "maybe"}, "os-flavor-access:is_public",
     "is not one of"),
    ({"name": 123}, "name", "is not of type 'string'"),
    ({"name": ""}, "name", "is too short"),
    ({"name": "a" * 256}, "name", "is too long"),
    ({"id": " lead"}, "id", "does not match"),
    ({"id": "a/b"}, "id", "does not match"),
    ({"id": "x" * 256}, "id", "is too long"),
    ({"bogus": 1}, "flavor",
     "Additional properties are not allowed ('bogus' was unexpected)"),
    # 'description' only exists from 2.55 on
    ({"description": "d"}, "flavor",
     "Additional properties are not allowed ('description' was unexpected)"),
    ({"-disk": None}, "flavor", "'disk' is a required property"),
    ({"-name": None}, "flavor", "'name' is a required property"),
]


@pytest.mark.parametrize("over,field,fragment", FLAVOR_BAD,
                         ids=[str(i) for i in range(len(FLAVOR_BAD))])
def test_flavor_create_invalid_fields(http, unchanged, over, field, fragment):
    body = valid_flavor()
    for k, v in over.items():
        if k.startswith("-"):
            body.pop(k[1:])
        else:
            body[k] = v
    with unchanged():
        r = http.compute("POST", "/flavors", json={"flavor": body})
        msg = fault(r, 400, "badRequest")
        assert msg.startswith("Invalid input for field/attribute %s." % field), \
            msg
        assert fragment in msg, msg


def test_flavor_not_an_object(http, unchanged):
    with unchanged():
        r = http.compute("POST", "/flavors", json={"flavor": "m1.tiny"})
        msg = fault(r, 400, "badRequest")
        assert msg.startswith("Invalid input for field/attribute flavor."), msg
        assert "is not of type 'object'" in msg


def test_flavor_description_too_long_at_255(http, unchanged):
    body = valid_flavor(description="d" * 65536)
    with unchanged():
        r = http.compute("POST", "/flavors", json={"flavor": body},
                         microversion="2.55")
        msg = fault(r, 400, "badRequest")
        assert msg.startswith("Invalid input for field/attribute "
                              "description."), msg


def test_flavor_numeric_strings_accepted(http):
    """ram/vcpus/disk accept digit strings (parameter_types.volume_size)."""
    name = lib.unique("strnum")
    r = http.compute("POST", "/flavors", json={"flavor": {
        "name": name, "ram": "96", "vcpus": "2", "disk": "3",
        "os-flavor-access:is_public": "true"}})
    assert r.status_code == 200, r.text
    f = r.json()["flavor"]
    assert (f["ram"], f["vcpus"], f["disk"]) == (96, 2, 3)
    assert f["os-flavor-access:is_public"] is True
    assert http.compute("DELETE", "/flavors/" + f["id"]).status_code == 202


def test_flavor_name_cjk_accepted(http):
    name = "小型风味-" + lib.unique("cjk")
    r = http.compute("POST", "/flavors", json={"flavor": valid_flavor(
        name=name)})
    assert r.status_code == 200, r.text
    fid = r.json()["flavor"]["id"]
    assert r.json()["flavor"]["name"] == name
    g = http.compute("GET", "/flavors/" + fid)
    assert g.json()["flavor"]["name"] == name
    assert "charset" not in g.headers["Content-Type"] or \
        "utf-8" in g.headers["Content-Type"].lower()
    listed = http.compute("GET", "/flavors").json()["flavors"]
    assert name in {f["name"] for f in listed}
    assert http.compute("DELETE", "/flavors/" + fid).status_code == 202


def test_flavor_name_255_accepted(http):
    name = lib.unique("n") + "x" * (255 - 12)
    assert len(name) == 255
    r = http.compute("POST", "/flavors", json={"flavor": valid_flavor(
        name=name)})
    assert r.status_code == 200, r.text
    assert r.json()["flavor"]["name"] == name
    http.compute("DELETE", "/flavors/" + r.json()["flavor"]["id"])


# nova/exception.py InvalidName + parameter_types.valid_name_regex reason.
# The printable range is built over the BMP only (_get_all_chars), so
# astral-plane characters such as emoji are rejected.
INVALID_NAME_PRINTABLE = (
    "An invalid 'name' value was provided. The name must be: printable "
    "characters. Can not start or end with whitespace.")


@pytest.mark.parametrize("name", ["flavor-\U0001F600", " leading",
                                  "trailing ", "tab\there", "nl\nx"])
def test_flavor_name_unprintable_rejected(http, unchanged, name):
    with unchanged():
        r = http.compute("POST", "/flavors", json={"flavor": valid_flavor(
            name=name)})
        assert fault(r, 400, "badRequest") == INVALID_NAME_PRINTABLE


def test_flavor_conflicts(http, unchanged):
    # nova/exception.py FlavorExists / FlavorIdExists -> 409
    with unchanged():
        r = http.compute("POST", "/flavors", json={"flavor": valid_flavor(
            name="m1.tiny")})
        assert fault(r, 409, "conflictingRequest") == \
            "Flavor with name m1.tiny already exists."
        r = http.compute("POST", "/flavors", json={"flavor": valid_flavor(
            id="1")})
        assert fault(r, 409, "conflictingRequest") == \
            "Flavor with ID 1 already exists."


# --------------------------------------------------------------------------
# schema validation: keypairs (schemas/keypairs.py)
# --------------------------------------------------------------------------

KP_SAFE_20 = "_- " + string.digits + string.ascii_letters
KP_SAFE_292 = "@._- " + string.digits + string.ascii_letters

KEYPAIR_BAD = [
    # (microversion, keypair body, field, fragment)
    (None, {}, "keypair", "'name' is a required property"),
    (None, {"name": "k", "bogus": 1}, "keypair",
     "Additional properties are not allowed ('bogus' was unexpected)"),
    (None, {"name": 123}, "name", "is not of type 'string'"),
    (None, {"name": ""}, "name", "is too short"),
    (None, {"name": "a" * 256}, "name", "is too long"),
    (None, {"name": "k", "public_key": 5}, "public_key",
     "is not of type 'string'"),
    (None, {"name": "k", "type": "ssh"}, "keypair",
     "Additional properties are not allowed ('type' was unexpected)"),
    ("2.2", {"name": "k", "type": "rsa"}, "type", "is not one of"),
    ("2.2", {"name": "k", "user_id": "u"}, "keypair",
     "Additional properties are not allowed ('user_id' was unexpected)"),
    ("2.10", {"name": "k", "user_id": 7}, "user_id", "is not of type"),
    ("2.92", {"name": "k"}, "keypair", "'public_key' is a required property"),
]


@pytest.mark.parametrize("mv,body,field,fragment", KEYPAIR_BAD,
                         ids=[str(i) for i in range(len(KEYPAIR_BAD))])
def test_keypair_create_invalid_fields(http, unchanged, mv, body, field,
                                       fragment):
    with unchanged():
        r = http.compute("POST", "/os-keypairs", json={"keypair": body},
                         microversion=mv)
        msg = fault(r, 400, "badRequest")
        assert msg.startswith("Invalid input for field/attribute %s." % field), \
            msg
        assert fragment in msg, msg


def test_keypair_not_an_object(http, unchanged):
    with unchanged():
        r = http.compute("POST", "/os-keypairs", json={"keypair": ["k"]})
        msg = fault(r, 400, "badRequest")
        assert msg.startswith("Invalid input for field/attribute keypair."), \
            msg


@pytest.mark.parametrize("mv,name,reason", [
    # CJK is printable but not in the keypair safe set
    # (validators.py _validate_keypair_name_20)
    (None, "鍵ペア", "Only expected characters: [%s]" % KP_SAFE_20),
    ("2.10", "key@host", "Only expected characters: [%s]" % KP_SAFE_20),
    ("2.92", "鍵ペア", "Only expected characters: [%s]" % KP_SAFE_292),
    ("2.92", "key/slash", "Only expected characters: [%s]" % KP_SAFE_292),
    # emoji fails the generic printable 'name' format first
    (None, "key-\U0001F511", "printable characters. Can not start or end "
                             "with whitespace."),
    (None, " lead", "printable characters. Can not start or end "
                    "with whitespace."),
])
def test_keypair_name_charset(http, unchanged, ed25519, mv, name, reason):
    pub = ed25519[1].read_text().strip()
    with unchanged():
        r = http.compute("POST", "/os-keypairs", json={"keypair": {
            "name": name, "public_key": pub}}, microversion=mv)
        assert fault(r, 400, "badRequest") == (
            "An invalid 'name' value was provided. The name must be: "
            + reason)


def test_keypair_292_allows_at_and_dot(http, ed25519):
    pub = ed25519[1].read_text().strip()
    name = "user@host.%s" % lib.unique("x")
    r = http.compute("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": pub}}, microversion="2.92")
    assert r.status_code == 201, r.text
    assert r.json()["keypair"]["name"] == name
    r = http.compute("DELETE", "/os-keypairs/" + name, microversion="2.92")
    assert r.status_code == 204, r.text


def test_keypair_name_255_accepted(http, ed25519):
    pub = ed25519[1].read_text().strip()
    name = ("k" + lib.unique("")).replace("-", "_")
    name = name + "a" * (255 - len(name))
    r = http.compute("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": pub}})
    assert r.status_code == 200, r.text        # 2.1: 200 (no 201 until 2.2)
    assert http.compute("DELETE", "/os-keypairs/" + name).status_code == 202


@pytest.mark.parametrize("key", [
    "not a key",
    "ssh-rsa",
    "ssh-ed25519 AAAA!!!notbase64 comment",
    "ssh-ed25519 QUJD comment",            # valid base64, not a key blob
    "",
])
def test_keypair_invalid_public_key(http, unchanged, key):
    # nova/crypto.py generate_fingerprint -> InvalidKeypair
    with unchanged():
        r = http.compute("POST", "/os-keypairs", json={"keypair": {
            "name": lib.unique("badkey"), "public_key": key}})
        assert fault(r, 400, "badRequest") == \
            "Keypair data is invalid: failed to generate fingerprint"


def test_keypair_duplicate(http, ed25519):
    pub = ed25519[1].read_text().strip()
    name = lib.unique("dupkp")
    r = http.compute("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": pub}}, microversion="2.2")
    assert r.status_code == 201, r.text
    before = http.compute_state()
    r = http.compute("POST", "/os-keypairs", json={"keypair": {
        "name": name, "public_key": pub}}, microversion="2.2")
    assert fault(r, 409, "conflictingRequest") == \
        "Key pair '%s' already exists." % name
    assert http.compute_state() == before
    assert http.compute("DELETE", "/os-keypairs/" + name,
                        microversion="2.2").status_code == 204


# --------------------------------------------------------------------------
# quota update validation (schemas/quota_sets.py)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mv,body,field,fragment", [
    (None, {"instances": "abc"}, "instances", "does not match"),
    (None, {"instances": -2}, "instances", "is less than the minimum of -1"),
    (None, {"bogus": 1}, "quota_set",
     "Additional properties are not allowed ('bogus' was unexpected)"),
    ("2.36", {"floating_ips": 1}, "quota_set",
     "Additional properties are not allowed ('floating_ips' was unexpected)"),
    ("2.57", {"injected_files": 1}, "quota_set",
     "Additional properties are not allowed ('injected_files' was "
     "unexpected)"),
])
def test_quota_update_invalid(http, tenant, mv, body, field, fragment):
    path = "/os-quota-sets/" + tenant.project_id
    before = http.compute("GET", path).json()
    r = http.compute("PUT", path, json={"quota_set": body}, microversion=mv)
    msg = fault(r, 400, "badRequest")
    assert msg.startswith("Invalid input for field/attribute %s." % field), msg
    assert fragment in msg, msg
    assert http.compute("GET", path).json() == before


def test_quota_update_unknown_project(http):
    # nova/api/openstack/identity.py verify_project_id
    r = http.compute("PUT", "/os-quota-sets/0123456789abcdef",
                     json={"quota_set": {"instances": 3}})
    assert fault(r, 400, "badRequest") == \
        "Project ID 0123456789abcdef is not a valid project."


# --------------------------------------------------------------------------
# size limit / content type
# --------------------------------------------------------------------------

def _padded_flavor_body(total, name):
    core = json.dumps({"flavor": {"name": name, "ram": 64, "vcpus": 1,
                                  "disk": 0}})
    assert core.endswith("}")
    pad = total - len(core.encode())
    assert pad > 0
    return (core[:-1] + " " * pad + "}").encode()


def test_body_at_limit_accepted(http):
    name = lib.unique("big-ok")
    data = _padded_flavor_body(BODY_LIMIT, name)
    assert len(data) == BODY_LIMIT
    r = post_raw(http, "/flavors", data)
    assert r.status_code == 200, r.text[:500]
    http.compute("DELETE", "/flavors/" + r.json()["flavor"]["id"])


def _raw_post_status(daemon, token, path, body, timeout=10):
    """POST via a raw socket, tolerating an early answer + close."""
    s = socket.create_connection(("127.0.0.1", daemon.compute_port),
                                 timeout=timeout)
    try:
        s.sendall((
            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (path, token, len(body))).encode())
        try:
            for i in range(0, len(body), 16384):
                s.sendall(body[i:i + 16384])
        except (BrokenPipeError, ConnectionResetError):
            pass                  # server answered early and closed: fine
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        return data.split(b"\r\n", 1)[0].decode("latin-1")
    finally:
        s.close()


@pytest.mark.parametrize("size", [BODY_LIMIT + 1, 4 * BODY_LIMIT])
def test_body_over_limit_413(daemon, http, unchanged, size):
    with unchanged():
        data = _padded_flavor_body(size, lib.unique("big"))
        assert len(data) == size
        status = _raw_post_status(daemon, http.admin_token, "/v2.1/flavors",
                                  data)
        assert re.match(r"^HTTP/1\.[01] 413 ", status), status


@pytest.mark.parametrize("ctype", ["application/xml", "text/html",
                                   "application/x-www-form-urlencoded"])
def test_wrong_content_type_415(http, unchanged, ctype):
    data = json.dumps({"flavor": valid_flavor()}).encode()
    with unchanged():
        r = post_raw(http, "/flavors", data, ctype=ctype)
        assert r.status_code == 415, r.text
        assert r.json() == {"badMediaType": {
            "code": 415, "message": "Unsupported Content-Type"}}


def test_json_content_type_with_charset_ok(http):
    name = lib.unique("charset")
    data = json.dumps({"flavor": valid_flavor(name=name)}).encode()
    r = post_raw(http, "/flavors", data,
                 ctype="application/json; charset=UTF-8")
    assert r.status_code == 200, r.text
    http.compute("DELETE", "/flavors/" + r.json()["flavor"]["id"])


# --------------------------------------------------------------------------
# not found / routing / methods
# --------------------------------------------------------------------------

@pytest.mark.parametrize("fid", ["doesnotexist", "99999",
                                 "5c3f3a9e-2a6b-4b5e-9d1e-0a1b2c3d4e5f"])
def test_unknown_flavor_404(http, unchanged, fid):
    # nova/exception.py FlavorNotFound
    expected = {"itemNotFound": {
        "code": 404, "message": "Flavor %s could not be found." % fid}}
    r = http.compute("GET", "/flavors/" + fid)
    assert r.status_code == 404 and r.json() == expected, r.text
    with unchanged():
        r = http.compute("DELETE", "/flavors/" + fid)
        assert r.status_code == 404 and r.json() == expected, r.text
    r = http.compute("GET", "/flavors/%s/os-extra_specs" % fid)
    fault(r, 404, "itemNotFound")


def test_unknown_keypair_404(http, unchanged):
    msg = "Keypair nosuchkey not found for user %s" % http.admin_user_id
    r = http.compute("GET", "/os-keypairs/nosuchkey")
    assert fault(r, 404, "itemNotFound") == msg
    with unchanged():
        r = http.compute("DELETE", "/os-keypairs/nosuchkey")
        assert fault(r, 404, "itemNotFound") == msg


def test_unknown_extra_spec_key_404(http):
    r = http.compute("GET", "/flavors/1/os-extra_specs/no:such")
    # nova/exception.py FlavorExtraSpecsNotFound
    assert fault(r, 404, "itemNotFound") == \
        "Flavor 1 has no extra specs with key no:such."


@pytest.mark.parametrize("path", ["/os-nonexistent", "/flavors/1/bogus",
                                  "/servers-of-doom", "/../etc/passwd"])
def test_unknown_route_404(http, path):
    r = http.compute("GET", path)
    assert r.status_code == 404, r.text


def test_unknown_identity_route_404(http):
    r = http.identity("GET", "/no-such-collection")
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("method,path", [
    ("PUT", "/flavors"),
    ("DELETE", "/flavors"),
    ("PATCH", "/flavors/1"),
    ("PUT", "/os-keypairs"),
    ("POST", "/limits"),
    ("POST", "/os-keypairs/somekey"),
])
def test_wrong_method_405(http, unchanged, method, path):
    with unchanged():
        r = http.compute(method, path, json={})
        assert r.status_code == 405, (r.status_code, r.text)


def test_wrong_method_405_identity(http):
    r = http.identity("PATCH", "/auth/tokens", json={})
    assert r.status_code == 405, r.text


# --------------------------------------------------------------------------
# microversions (nova/api/openstack/wsgi.py set_api_version_request)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("mv", ["2.999", "3.0", "2.94", "2.0"])
def test_unsupported_microversion_406(http, mv):
    r = http.compute("GET", "/flavors", microversion=mv)
    assert r.status_code == 406, r.text
    req = "%d.%d" % tuple(int(x) for x in mv.split("."))
    assert r.json() == {"computeFault": {
        "code": 406,
        "message": "Version %s is not supported by the API. Minimum is 2.1 "
                   "and maximum is %s." % (req, lib.MAX_MICROVERSION)}}


@pytest.mark.parametrize("mv", ["abc", "2", "2.x", "2.1.1"])
def test_malformed_microversion_400(http, mv):
    r = http.compute("GET", "/flavors", microversion=mv)
    assert fault(r, 400, "badRequest") == (
        "API Version String %s is of invalid format. Must be of format "
        "MajorNum.MinorNum." % mv)


@pytest.mark.parametrize("sent,expect", [
    (None, "2.1"), ("2.1", "2.1"), ("2.10", "2.10"), ("2.55", "2.55"),
    ("latest", lib.MAX_MICROVERSION),
])
def test_microversion_echoed(http, sent, expect):
    r = http.compute("GET", "/flavors", microversion=sent)
    assert r.status_code == 200, r.text
    assert r.headers["OpenStack-API-Version"] == "compute " + expect
    vary = [v.strip().lower() for v in r.headers.get("Vary", "").split(",")]
    assert "openstack-api-version" in vary, r.headers


def test_legacy_microversion_header(http):
    r = http.compute("GET", "/flavors",
                     headers={"X-OpenStack-Nova-API-Version": "2.10"})
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == "compute 2.10"


def test_microversion_for_other_service_ignored(http):
    r = http.compute("GET", "/flavors",
                     headers={"OpenStack-API-Version": "volume 3.50"})
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == "compute 2.1"


def test_description_only_from_255(http):
    r = http.compute("GET", "/flavors/1", microversion="2.54")
    assert "description" not in r.json()["flavor"]
    r = http.compute("GET", "/flavors/1", microversion="2.55")
    assert "description" in r.json()["flavor"]


# --------------------------------------------------------------------------
# request ids + version headers on every response
# --------------------------------------------------------------------------

REQ_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                    r"[0-9a-f]{12}$")

# (name, callable(http) -> response, is it a compute API response that went
#  through the API layer (and so carries OpenStack-API-Version + Vary)?)
HEADER_CASES = [
    ("compute-ok", lambda h: h.compute("GET", "/flavors"), True),
    ("compute-ok-mv", lambda h: h.compute("GET", "/flavors/1",
                                          microversion="2.61"), True),
    ("compute-400", lambda h: h.compute("POST", "/flavors", json={}), True),
    ("compute-404", lambda h: h.compute("GET", "/flavors/nope"), True),
    ("compute-415", lambda h: post_raw(h, "/flavors", b"{}",
                                       ctype="application/xml"), True),
    ("compute-malformed", lambda h: post_raw(h, "/flavors", b"{"), True),
    ("compute-401", lambda h: h.compute("GET", "/flavors", token=None),
     False),
    ("compute-406", lambda h: h.compute("GET", "/flavors",
                                        microversion="2.999"), False),
    ("compute-route-404", lambda h: h.compute("GET", "/nope"), False),
    ("compute-405", lambda h: h.compute("DELETE", "/flavors"), False),
    ("identity-ok", lambda h: h.identity("GET", "/projects"), None),
    ("identity-401", lambda h: h.auth("admin", "wrong-password", "admin"),
     None),
    ("identity-404", lambda h: h.identity("GET", "/projects/nope"), None),
]


@pytest.mark.parametrize("name,call,api", HEADER_CASES,
                         ids=[c[0] for c in HEADER_CASES])
def test_request_id_headers(http, name, call, api):
    r1, r2 = call(http), call(http)
    for r in (r1, r2):
        rid = r.headers.get("x-openstack-request-id")
        assert rid and REQ_ID.match(rid), r.headers
        if api is not None:                         # compute port
            assert r.headers.get("x-compute-request-id") == rid, r.headers
    assert r1.headers["x-openstack-request-id"] != \
        r2.headers["x-openstack-request-id"]
    if api:
        ver = r1.headers.get("OpenStack-API-Version", "")
        assert re.match(r"^compute 2\.\d+$", ver), r1.headers
        vary = [v.strip().lower()
                for v in r1.headers.get("Vary", "").split(",")]
        assert "openstack-api-version" in vary, r1.headers


# --------------------------------------------------------------------------
# a slow, half-sent request must not block the server
# --------------------------------------------------------------------------

def test_half_sent_request_does_not_block(daemon, http):
    port = daemon.compute_port
    token = http.admin_token
    before = http.compute_state()
    t0 = time.monotonic()
    # 1) headers complete, body announced as 100 bytes, only 10 sent
    s1 = socket.create_connection(("127.0.0.1", port), timeout=5)
    s1.sendall((
        "POST /v2.1/flavors HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        "X-Auth-Token: %s\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n" % (port, token)).encode()
        + b'{"flavor":')
    # 2) headers never finished (slowloris)
    s2 = socket.create_connection(("127.0.0.1", port), timeout=5)
    s2.sendall(b"GET /v2.1/flavors HTTP/1.1\r\nHost: x\r\nX-Auth-")

    # other clients are served meanwhile, on both ports, well before the
    # stalled connections could time out (~10 s)
    for _ in range(3):
        r = http.compute("GET", "/flavors", timeout=5)
        assert r.status_code == 200, r.text
        r = http.identity("GET", "/projects", timeout=5)
        assert r.status_code == 200, r.text
    assert time.monotonic() - t0 < 8

    # the server closes the stalled connections itself (timeout ~10 s)
    deadline = t0 + 14.5
    for s in (s1, s2):
        data = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail("server kept a stalled connection open for "
                            "more than 14 s")
            s.settimeout(left)
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        s.close()
        if data:           # a 408/400 before closing is fine
            assert re.match(rb"^HTTP/1\.[01] 4\d\d ", data), data[:200]
    # and nothing was created by the partial POST
    assert http.compute_state() == before
