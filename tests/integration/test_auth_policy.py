"""Authentication (Keystone tokens) and authorization (Nova policy).

Nova policy defaults: nova/policies/{flavor_manage,flavor_access,keypairs,
quota_sets}.py; message: nova/exception.py PolicyNotAuthorized.
Keystone error body: {"error": {"code", "title", "message"}}.
"""

import pytest

import novalite_testlib as lib


def policy_msg(rule):
    return "Policy doesn't allow %s to be performed." % rule


def forbidden(r, rule):
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.json() == {"forbidden": {"code": 403,
                                      "message": policy_msg(rule)}}, r.text


def keystone_error(r, code, title):
    assert r.status_code == code, (r.status_code, r.text)
    body = r.json()
    assert list(body) == ["error"], body
    assert body["error"]["code"] == code
    assert body["error"]["title"] == title
    assert isinstance(body["error"]["message"], str) and \
        body["error"]["message"]
    return body["error"]["message"]


# --------------------------------------------------------------------------
# tokens
# --------------------------------------------------------------------------

def test_missing_token_401(http, daemon, unchanged):
    for method, path in [("GET", "/flavors"), ("GET", "/flavors/1"),
                         ("GET", "/os-keypairs"), ("GET", "/limits")]:
        r = http.compute(method, path, token=None)
        assert r.status_code == 401, (path, r.text)
        www = r.headers.get("WWW-Authenticate", "")
        assert www.startswith('Keystone uri="'), r.headers
        assert "127.0.0.1:%d" % daemon.identity_port in www, www
    with unchanged():
        r = http.compute("POST", "/flavors", token=None, json={"flavor": {
            "name": lib.unique("noauth"), "ram": 1, "vcpus": 1, "disk": 0}})
        assert r.status_code == 401


@pytest.mark.parametrize("token", ["garbage", "x" * 8000, "gAAAAAB" + "A" * 180,
                                   "tok\u00e9n".encode().decode("latin-1")])
def test_garbage_token_401(http, token):
    r = http.compute("GET", "/flavors", token=token)
    assert r.status_code == 401, r.text
    assert r.headers.get("WWW-Authenticate", "").startswith("Keystone uri=")


def test_token_validate(http):
    tok, body = http.token(http.admin_user, http.admin_password, "admin")
    r = http.identity("GET", "/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 200, r.text
    assert r.headers.get("X-Subject-Token") == tok
    t = r.json()["token"]
    assert t["user"]["name"] == "admin"
    assert t["user"]["domain"]["id"] == "default"
    assert t["project"]["name"] == "admin"
    assert {x["name"] for x in t["roles"]} >= {"admin", "member", "reader"}
    assert t["expires_at"] and t["issued_at"]
    assert "password" in t["methods"]
    r = http.identity("HEAD", "/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 200


def test_token_catalog(http, daemon):
    _, body = http.token(http.admin_user, http.admin_password, "admin")
    cat = {s["type"]: s for s in body["token"]["catalog"]}
    assert "compute" in cat and "identity" in cat, cat
    pub = [e for e in cat["compute"]["endpoints"] if e["interface"] == "public"]
    assert pub and pub[0]["url"].rstrip("/") == daemon.compute_url
    assert pub[0]["region_id"] == "RegionOne"


def test_revoked_token(http):
    tok, _ = http.token(http.admin_user, http.admin_password, "admin")
    assert http.compute("GET", "/flavors", token=tok).status_code == 200
    r = http.identity("DELETE", "/auth/tokens",
                      headers={"X-Subject-Token": tok})
    assert r.status_code == 204, r.text
    r = http.compute("GET", "/flavors", token=tok)
    assert r.status_code == 401, r.text
    assert r.headers.get("WWW-Authenticate", "").startswith("Keystone uri=")
    r = http.identity("GET", "/auth/tokens", headers={"X-Subject-Token": tok})
    keystone_error(r, 404, "Not Found")
    r = http.identity("HEAD", "/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 404
    # the revoked token can't be used against identity either
    r = http.identity("GET", "/projects", token=tok)
    keystone_error(r, 401, "Unauthorized")


def test_validate_garbage_subject_token(http):
    r = http.identity("GET", "/auth/tokens",
                      headers={"X-Subject-Token": "not-a-token"})
    keystone_error(r, 404, "Not Found")


# --------------------------------------------------------------------------
# Keystone errors
# --------------------------------------------------------------------------

def test_keystone_bad_password(http):
    r = http.auth(http.admin_user, "definitely-wrong", "admin")
    keystone_error(r, 401, "Unauthorized")
    assert "X-Subject-Token" not in r.headers


def test_keystone_unknown_user(http):
    r = http.auth("no-such-user-" + lib.unique("u"), "pw", "admin")
    keystone_error(r, 401, "Unauthorized")


def test_keystone_unknown_project_scope(http):
    r = http.auth(http.admin_user, http.admin_password, lib.unique("nope"))
    keystone_error(r, 401, "Unauthorized")


@pytest.mark.parametrize("data", [b"{", b"[]", b'{"auth": {}}',
                                  b'{"auth": {"identity": {"methods": '
                                  b'["password"]}}}'])
def test_keystone_malformed_auth_400(http, data):
    r = http.s.post(http.d.identity_url + "/auth/tokens", data=data,
                    headers={"Content-Type": "application/json"}, timeout=10)
    keystone_error(r, 400, "Bad Request")


def test_keystone_requires_token(http):
    r = http.identity("GET", "/projects", token=None)
    keystone_error(r, 401, "Unauthorized")
    r = http.identity("GET", "/users", token="garbage")
    keystone_error(r, 401, "Unauthorized")


def test_keystone_member_cannot_administer(http, tenant):
    tok = tenant.member.token
    keystone_error(http.identity("GET", "/users", token=tok), 403,
                   "Forbidden")
    keystone_error(http.identity("POST", "/projects", token=tok, json={
        "project": {"name": lib.unique("evil"), "domain_id": "default"}}),
        403, "Forbidden")
    keystone_error(http.identity(
        "PUT", "/projects/%s/users/%s/roles/%s" % (
            tenant.project_id, tenant.member.id, http.role_id("admin")),
        token=tok), 403, "Forbidden")


def test_keystone_unknown_ids_404(http):
    keystone_error(http.identity("GET", "/projects/" + "0" * 32), 404,
                   "Not Found")
    keystone_error(http.identity("GET", "/users/" + "0" * 32), 404,
                   "Not Found")


def test_keystone_duplicate_project_409(http):
    name = lib.unique("dupe")
    http.create_project(name)
    r = http.identity("POST", "/projects", json={"project": {
        "name": name, "domain_id": "default"}})
    keystone_error(r, 409, "Conflict")


# --------------------------------------------------------------------------
# Nova policy
# --------------------------------------------------------------------------

def test_member_cannot_create_flavor(http, tenant, unchanged):
    with unchanged():
        for user in (tenant.member, tenant.reader):
            r = http.compute("POST", "/flavors", token=user.token,
                             json={"flavor": {"name": lib.unique("x"),
                                              "ram": 64, "vcpus": 1,
                                              "disk": 0}})
            forbidden(r, "os_compute_api:os-flavor-manage:create")


def test_member_cannot_delete_flavor(http, tenant, unchanged):
    with unchanged():
        r = http.compute("DELETE", "/flavors/1", token=tenant.member.token)
        forbidden(r, "os_compute_api:os-flavor-manage:delete")


def test_member_cannot_update_flavor_description(http, tenant, unchanged):
    with unchanged():
        r = http.compute("PUT", "/flavors/1", token=tenant.member.token,
                         microversion="2.55",
                         json={"flavor": {"description": "pwned"}})
        forbidden(r, "os_compute_api:os-flavor-manage:update")


def test_member_cannot_set_extra_specs(http, tenant):
    r = http.compute("POST", "/flavors/1/os-extra_specs",
                     token=tenant.member.token,
                     json={"extra_specs": {"hw:cpu_policy": "dedicated"}})
    forbidden(r, "os_compute_api:os-flavor-extra-specs:create")
    r = http.compute("GET", "/flavors/1/os-extra_specs")
    assert r.json() == {"extra_specs": {}}


def test_member_cannot_manage_flavor_access(http, tenant):
    r = http.compute("POST", "/flavors/1/action", token=tenant.member.token,
                     json={"addTenantAccess": {"tenant": tenant.project_id}})
    forbidden(r, "os_compute_api:os-flavor-access:add_tenant_access")
    r = http.compute("POST", "/flavors/1/action", token=tenant.member.token,
                     json={"removeTenantAccess": {
                         "tenant": tenant.project_id}})
    forbidden(r, "os_compute_api:os-flavor-access:remove_tenant_access")


def test_member_cannot_update_quota(http, tenant):
    path = "/os-quota-sets/" + tenant.project_id
    before = http.compute("GET", path).json()
    r = http.compute("PUT", path, token=tenant.member.token,
                     json={"quota_set": {"instances": 99}})
    forbidden(r, "os_compute_api:os-quota-sets:update")
    r = http.compute("DELETE", path, token=tenant.member.token)
    forbidden(r, "os_compute_api:os-quota-sets:delete")
    assert http.compute("GET", path).json() == before


def test_quota_show_own_project_only(http, tenant):
    r = http.compute("GET", "/os-quota-sets/" + tenant.project_id,
                     token=tenant.reader.token)
    assert r.status_code == 200, r.text
    assert r.json()["quota_set"]["id"] == tenant.project_id
    r = http.compute("GET", "/os-quota-sets/" + http.admin_project_id,
                     token=tenant.reader.token)
    forbidden(r, "os_compute_api:os-quota-sets:show")
    # defaults are readable by anyone (RULE_ANY)
    r = http.compute("GET", "/os-quota-sets/%s/defaults"
                     % http.admin_project_id, token=tenant.reader.token)
    assert r.status_code == 200, r.text
    assert r.json()["quota_set"]["instances"] == 10


def test_reader_keypairs(http, tenant, ed25519):
    """Keypair policy is '(rule:context_is_admin) or user_id:%(user_id)s'
    (nova/policies/keypairs.py): no role check, so a reader may manage its
    *own* keypairs but not another user's."""
    pub = ed25519[1].read_text().strip()
    tok = tenant.reader.token
    name = lib.unique("reader-kp")
    r = http.compute("POST", "/os-keypairs", token=tok, microversion="2.10",
                     json={"keypair": {"name": name, "public_key": pub}})
    assert r.status_code == 201, r.text
    assert r.json()["keypair"]["user_id"] == tenant.reader.id

    before = http.compute_state()
    r = http.compute("POST", "/os-keypairs", token=tok, microversion="2.10",
                     json={"keypair": {"name": lib.unique("x"),
                                       "public_key": pub,
                                       "user_id": http.admin_user_id}})
    forbidden(r, "os_compute_api:os-keypairs:create")
    assert http.compute_state() == before

    r = http.compute("GET", "/os-keypairs", token=tok, microversion="2.10",
                     params={"user_id": http.admin_user_id})
    forbidden(r, "os_compute_api:os-keypairs:index")
    r = http.compute("GET", "/os-keypairs/" + name, token=tok,
                     microversion="2.10",
                     params={"user_id": http.admin_user_id})
    forbidden(r, "os_compute_api:os-keypairs:show")
    r = http.compute("DELETE", "/os-keypairs/" + name, token=tok,
                     microversion="2.10",
                     params={"user_id": http.admin_user_id})
    forbidden(r, "os_compute_api:os-keypairs:delete")

    # admin can see the reader's keypair via ?user_id= (2.10+)
    r = http.compute("GET", "/os-keypairs/" + name, microversion="2.10",
                     params={"user_id": tenant.reader.id})
    assert r.status_code == 200, r.text
    assert r.json()["keypair"]["user_id"] == tenant.reader.id
    # ... but not without it (keypairs are per user)
    r = http.compute("GET", "/os-keypairs/" + name, microversion="2.10")
    assert r.status_code == 404

    r = http.compute("DELETE", "/os-keypairs/" + name, token=tok,
                     microversion="2.10")
    assert r.status_code == 204, r.text


def test_admin_creates_keypair_for_other_user(http, tenant, ed25519):
    pub = ed25519[1].read_text().strip()
    name = lib.unique("for-member")
    r = http.compute("POST", "/os-keypairs", microversion="2.10", json={
        "keypair": {"name": name, "public_key": pub,
                    "user_id": tenant.member.id}})
    assert r.status_code == 201, r.text
    assert r.json()["keypair"]["user_id"] == tenant.member.id
    r = http.compute("GET", "/os-keypairs/" + name,
                     token=tenant.member.token, microversion="2.10")
    assert r.status_code == 200, r.text
    r = http.compute("DELETE", "/os-keypairs/" + name,
                     token=tenant.member.token)
    assert r.status_code == 202, r.text


def test_reader_can_read_compute(http, tenant):
    tok = tenant.reader.token
    assert http.compute("GET", "/flavors", token=tok).status_code == 200
    assert http.compute("GET", "/flavors/detail", token=tok).status_code \
        == 200
    assert http.compute("GET", "/flavors/1", token=tok).status_code == 200
    assert http.compute("GET", "/flavors/1/os-extra_specs",
                        token=tok).status_code == 200
    r = http.compute("GET", "/limits", token=tok)
    assert r.status_code == 200
    assert r.json()["limits"]["absolute"]["maxTotalInstances"] == 10


# --------------------------------------------------------------------------
# private flavors across projects (nova/api/openstack/compute/flavor_access.py)
# --------------------------------------------------------------------------

def test_private_flavor_cross_project(http, tenant, make_tenant):
    other = make_tenant("other")
    name = lib.unique("private")
    r = http.compute("POST", "/flavors", json={"flavor": {
        "name": name, "ram": 64, "vcpus": 1, "disk": 0,
        "os-flavor-access:is_public": False}})
    assert r.status_code == 200, r.text
    fid = r.json()["flavor"]["id"]
    notfound = {"itemNotFound": {
        "code": 404, "message": "Flavor %s could not be found." % fid}}

    def visible(user):
        r = http.compute("GET", "/flavors/" + fid, token=user.token)
        listed = http.compute("GET", "/flavors/detail", token=user.token)
        in_list = fid in {f["id"] for f in listed.json()["flavors"]}
        if r.status_code == 404:
            assert r.json() == notfound, r.text
            assert not in_list
            return False
        assert r.status_code == 200, r.text
        assert in_list
        return True

    assert not visible(tenant.member)
    assert not visible(other.member)

    r = http.compute("POST", "/flavors/%s/action" % fid, json={
        "addTenantAccess": {"tenant": tenant.project_id}})
    assert r.status_code == 200, r.text
    assert r.json() == {"flavor_access": [
        {"flavor_id": fid, "tenant_id": tenant.project_id}]}

    assert visible(tenant.member)
    assert visible(tenant.reader)
    assert not visible(other.member)

    # adding twice -> 409 (nova/exception.py FlavorAccessExists)
    r = http.compute("POST", "/flavors/%s/action" % fid, json={
        "addTenantAccess": {"tenant": tenant.project_id}})
    assert r.status_code == 409, r.text
    assert r.json()["conflictingRequest"]["message"] == (
        "Flavor access already exists for flavor %s and project %s "
        "combination." % (fid, tenant.project_id))

    r = http.compute("GET", "/flavors/%s/os-flavor-access" % fid)
    assert r.status_code == 200, r.text
    assert r.json() == {"flavor_access": [
        {"flavor_id": fid, "tenant_id": tenant.project_id}]}
    r = http.compute("GET", "/flavors/%s/os-flavor-access" % fid,
                     token=tenant.member.token)
    forbidden(r, "os_compute_api:os-flavor-access")

    r = http.compute("POST", "/flavors/%s/action" % fid, json={
        "removeTenantAccess": {"tenant": tenant.project_id}})
    assert r.status_code == 200, r.text
    assert r.json() == {"flavor_access": []}
    assert not visible(tenant.member)

    # removing again -> 404 (FlavorAccessNotFound)
    r = http.compute("POST", "/flavors/%s/action" % fid, json={
        "removeTenantAccess": {"tenant": tenant.project_id}})
    assert r.status_code == 404, r.text
    assert r.json()["itemNotFound"]["message"] == (
        "Flavor access not found for %s / %s combination."
        % (fid, tenant.project_id))

    assert http.compute("DELETE", "/flavors/" + fid).status_code == 202


def test_flavor_access_on_public_flavor_409_since_27(http, tenant):
    r = http.compute("POST", "/flavors/1/action", microversion="2.7", json={
        "addTenantAccess": {"tenant": tenant.project_id}})
    assert r.status_code == 409, r.text
    assert r.json()["conflictingRequest"]["message"] == \
        "Can not add access to a public flavor."


def test_flavor_access_unknown_project_400(http):
    name = lib.unique("priv2")
    r = http.compute("POST", "/flavors", json={"flavor": {
        "name": name, "ram": 64, "vcpus": 1, "disk": 0,
        "os-flavor-access:is_public": False}})
    fid = r.json()["flavor"]["id"]
    r = http.compute("POST", "/flavors/%s/action" % fid, json={
        "addTenantAccess": {"tenant": "0123456789abcdef"}})
    assert r.status_code == 400, r.text
    assert r.json()["badRequest"]["message"] == \
        "Project ID 0123456789abcdef is not a valid project."
    r = http.compute("GET", "/flavors/%s/os-flavor-access" % fid)
    assert r.json() == {"flavor_access": []}
    http.compute("DELETE", "/flavors/" + fid)


def test_flavor_access_list_public_flavor_404(http):
    r = http.compute("GET", "/flavors/1/os-flavor-access")
    assert r.status_code == 404, r.text
    assert r.json()["itemNotFound"]["message"] == \
        "Access list not available for public flavors."


def test_default_admin_on_any_project_is_cloud_admin_but_not_on_a_domain(http):
    """[identity] admin_project_only = 0 (the default): admin on any project is the
    cloud admin, as Nova's context_is_admin (role:admin) and Keystone without
    admin_project_name; admin on a domain is that domain's admin, never the cloud's
    (the strict mode is tested in test_security_identity.py)."""
    r = http.identity("POST", "/projects", json={"project": {
        "name": lib.unique("padm"), "domain_id": "default"}})
    assert r.status_code == 201, r.text
    project = r.json()["project"]
    name, pw = lib.unique("projadmin"), lib.unique("pw")
    u = http.create_user(name, pw, project["id"])
    http.grant(project["id"], u["id"], "admin")
    r = http.auth(name, pw, project["name"])
    assert r.status_code == 201, r.text
    assert r.json()["token"]["is_admin_project"] is True
    t = r.headers["X-Subject-Token"]
    assert http.compute("GET", "/os-services", token=t).status_code == 200
    assert http.identity("GET", "/users", token=t).status_code == 200

    # the same user as admin of the Default domain: not a compute admin
    r = http.identity("PUT", "/domains/default/users/%s/roles/%s"
                      % (u["id"], http.role_id("admin")))
    assert r.status_code == 204, r.text
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": name, "domain": {"id": "default"}, "password": pw}}},
        "scope": {"domain": {"id": "default"}}}}
    r = http.s.post(http.d.identity_url + "/auth/tokens", json=body, timeout=15)
    assert r.status_code == 201, r.text
    dt = r.headers["X-Subject-Token"]
    r = http.compute("GET", "/os-services", token=dt)
    assert r.status_code == 403, r.text
    assert r.json() == {"forbidden": {"code": 403, "message":
                        "Policy doesn't allow os_compute_api:os-services:list "
                        "to be performed."}}, r.text
