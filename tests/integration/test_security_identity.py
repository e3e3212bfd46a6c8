"""Identity security: disabled domains, who counts as the cloud admin, and what the
service role may do with other users' tokens.

References (Debian python3-keystone 22 / python3-nova):
- keystone/identity/core.py assert_domain_enabled, keystone/models/token_model.py
  (_validate_domain_scope / _validate_project_scope): a user or project of a disabled
  domain, or a domain scope on one, is refused: 401 on authentication and on use,
  404 "Failed to validate token" on GET /v3/auth/tokens.
- keystone/common/policies/token.py: identity:validate_token allows the service role,
  identity:revoke_token is admin or the token's subject only.
- nova/policies/base.py ADMIN = rule:context_is_admin; nova/exception.py
  PolicyNotAuthorized "Policy doesn't allow %(action)s to be performed.";
  keystone/exception.py ForbiddenAction "You are not authorized to perform the
  requested action: %(action)s.".
"""

import uuid

import pytest

import novalite_testlib as lib


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """This module runs the strict mode: [identity] admin_project_only = 1 (Keystone's
    admin_project_name), where only the admin project's admin is the cloud admin. The
    default (admin on any project is the cloud admin, as Nova and Keystone by default;
    a domain's admin never is) is tested in test_auth_policy.py."""
    tmp = tmp_path_factory.mktemp("novalite")
    conf = tmp / "novalite.conf"
    conf.write_text("[identity]\nadmin_project_only = 1\n")
    d = lib.start_daemon(tmp, extra_args=["--config", str(conf)])
    yield d
    lib.stop_daemon(d)


UNAUTH = {"error": {"code": 401, "title": "Unauthorized",
                    "message": "The request you have made requires "
                               "authentication."}}
NOT_VALID = {"error": {"code": 404, "title": "Not Found",
                       "message": "Failed to validate token"}}
COMPUTE_UNAUTH = {"unauthorized": {
    "code": 401,
    "message": "The request you have made requires authentication."}}


def keystone_forbidden(rule):
    return {"error": {"code": 403, "title": "Forbidden",
                      "message": "You are not authorized to perform the "
                                 "requested action: %s." % rule}}


def nova_forbidden(rule):
    return {"forbidden": {"code": 403, "message":
                          "Policy doesn't allow %s to be performed." % rule}}


def expect(r, status, body):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.json() == body, r.text


def password_auth(http, user, password, domain_id, scope=None):
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"id": domain_id},
                 "password": password}}}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return http.s.post(http.d.identity_url + "/auth/tokens", json=body,
                       timeout=15)


def tok(r):
    assert r.status_code == 201, (r.status_code, r.text)
    return r.headers["X-Subject-Token"]


def validate(http, subject, token=None, method="GET"):
    """GET (or HEAD) /v3/auth/tokens as `token` (None: the admin)."""
    kw = {} if token is None else {"token": token}
    return http.identity(method, "/auth/tokens",
                         headers={"X-Subject-Token": subject}, **kw)


def put_grant(http, target, target_id, user_id, role, token=None):
    kw = {} if token is None else {"token": token}
    return http.identity("PUT", "/%s/%s/users/%s/roles/%s" % (
        target, target_id, user_id, http.role_id(role)), **kw)


class Domain:
    """A fresh domain with one project and one user holding `role` on both."""

    def __init__(self, http, role="member"):
        r = http.identity("POST", "/domains", json={"domain": {
            "name": lib.unique("dom")}})
        assert r.status_code == 201, r.text
        self.id = r.json()["domain"]["id"]
        r = http.identity("POST", "/projects", json={"project": {
            "name": lib.unique("dproj"), "domain_id": self.id}})
        assert r.status_code == 201, r.text
        self.project_id = r.json()["project"]["id"]
        self.user = lib.unique("duser")
        self.password = "pw-" + uuid.uuid4().hex
        r = http.identity("POST", "/users", json={"user": {
            "name": self.user, "password": self.password,
            "domain_id": self.id}})
        assert r.status_code == 201, r.text
        self.user_id = r.json()["user"]["id"]
        for target, tid in (("projects", self.project_id),
                            ("domains", self.id)):
            r = put_grant(http, target, tid, self.user_id, role)
            assert r.status_code == 204, r.text

    def project_scope(self):
        return {"project": {"id": self.project_id}}

    def domain_scope(self):
        return {"domain": {"id": self.id}}


def set_domain_enabled(http, domain_id, enabled):
    r = http.identity("PATCH", "/domains/" + domain_id,
                      json={"domain": {"enabled": enabled}})
    assert r.status_code == 200, r.text
    assert r.json()["domain"]["enabled"] is enabled


# --------------------------------------------------------------------------
# finding 2: a disabled domain locks out its users, projects and scope
# --------------------------------------------------------------------------

def test_disabling_domain_locks_out_its_tokens_and_logins(http):
    d = Domain(http)
    ptok = tok(password_auth(http, d.user, d.password, d.id,
                             d.project_scope()))
    dtok = tok(password_auth(http, d.user, d.password, d.id,
                             d.domain_scope()))
    utok = tok(password_auth(http, d.user, d.password, d.id))
    assert validate(http, ptok).status_code == 200
    assert http.compute("GET", "/flavors", token=ptok).status_code == 200

    set_domain_enabled(http, d.id, False)
    # existing tokens: validation 404, use 401 (identity and compute)
    for t in (ptok, dtok, utok):
        expect(validate(http, t), 404, NOT_VALID)
        r = validate(http, t, method="HEAD")
        assert r.status_code == 404, r.status_code
        expect(http.identity("GET", "/auth/projects", token=t), 401, UNAUTH)
    expect(http.compute("GET", "/flavors", token=ptok), 401, COMPUTE_UNAUTH)
    # a token of the disabled domain cannot be re-scoped either
    r = http.s.post(http.d.identity_url + "/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": utok}},
        "scope": d.project_scope()}}, timeout=15)
    expect(r, 401, UNAUTH)
    # new logins: unscoped, project-scoped, domain-scoped, by name or by id
    expect(password_auth(http, d.user, d.password, d.id), 401, UNAUTH)
    expect(password_auth(http, d.user, d.password, d.id, d.project_scope()),
           401, UNAUTH)
    expect(password_auth(http, d.user, d.password, d.id, d.domain_scope()),
           401, UNAUTH)
    r = http.s.post(http.d.identity_url + "/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "id": d.user_id, "password": d.password}}}}}, timeout=15)
    expect(r, 401, UNAUTH)

    # re-enabling lets new logins in; the old tokens stay revoked
    set_domain_enabled(http, d.id, True)
    for t in (ptok, dtok, utok):
        expect(validate(http, t), 404, NOT_VALID)
    fresh = tok(password_auth(http, d.user, d.password, d.id,
                              d.project_scope()))
    assert validate(http, fresh).status_code == 200


def test_scoping_into_disabled_domain_refused(http):
    """A user of an enabled domain with roles on a disabled domain and on its
    project: neither scope is granted, and an existing token for them dies."""
    d = Domain(http)
    name = lib.unique("outsider")
    pw = "pw-" + uuid.uuid4().hex
    u = http.create_user(name, pw)
    for target, tid in (("projects", d.project_id), ("domains", d.id)):
        assert put_grant(http, target, tid, u["id"], "member").status_code \
            == 204
    ptok = tok(password_auth(http, name, pw, "default", d.project_scope()))
    dtok = tok(password_auth(http, name, pw, "default", d.domain_scope()))

    set_domain_enabled(http, d.id, False)
    try:
        expect(password_auth(http, name, pw, "default", d.project_scope()),
               401, UNAUTH)
        expect(password_auth(http, name, pw, "default", d.domain_scope()),
               401, UNAUTH)
        expect(password_auth(http, name, pw, "default", {"domain": {
            "name": http.identity("GET", "/domains/" + d.id).json()
            ["domain"]["name"]}}), 401, UNAUTH)
        for t in (ptok, dtok):
            expect(validate(http, t), 404, NOT_VALID)
        expect(http.compute("GET", "/servers", token=ptok), 401,
               COMPUTE_UNAUTH)
        # the user's own domain is fine: an unscoped login still works
        assert password_auth(http, name, pw, "default").status_code == 201
    finally:
        set_domain_enabled(http, d.id, True)


# --------------------------------------------------------------------------
# the service role validates tokens but does not revoke other users' tokens
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def service_user(http):
    p = http.create_project(lib.unique("svcproj"))
    name = lib.unique("svc")
    pw = "pw-" + uuid.uuid4().hex
    u = http.create_user(name, pw, p["id"])
    http.grant(p["id"], u["id"], "service")
    return lib.User(http, name, u["id"], pw, p["name"], p["id"])


def test_service_validates_but_cannot_revoke_others(http, service_user):
    tenant = lib.Tenant(http, "svcvictim")
    victim = tok(http.auth(tenant.member.name, tenant.member.password,
                           tenant.project_name))
    svc = service_user.token
    r = validate(http, victim, token=svc)
    assert r.status_code == 200, r.text
    assert r.json()["token"]["user"]["id"] == tenant.member.id
    assert validate(http, victim, token=svc, method="HEAD").status_code == 200

    expect(http.identity("DELETE", "/auth/tokens", token=svc,
                         headers={"X-Subject-Token": victim}),
           403, keystone_forbidden("identity:revoke_token"))
    # nothing was revoked
    assert validate(http, victim).status_code == 200
    assert http.compute("GET", "/servers", token=victim).status_code == 200

    # its own token it may revoke; the admin may revoke anyone's
    own = tok(http.auth(service_user.name, service_user.password,
                        service_user.project_name))
    r = http.identity("DELETE", "/auth/tokens", token=own,
                      headers={"X-Subject-Token": own})
    assert r.status_code == 204, r.text
    r = http.identity("DELETE", "/auth/tokens",
                      headers={"X-Subject-Token": victim})
    assert r.status_code == 204, r.text
    expect(validate(http, victim, token=svc), 404, NOT_VALID)


# --------------------------------------------------------------------------
# finding 10: only the admin project's admin is the cloud admin
# --------------------------------------------------------------------------

FLAVOR = {"flavor": {"name": "x", "ram": 64, "vcpus": 1, "disk": 1}}


def test_project_admin_is_not_cloud_admin(http):
    """admin on an ordinary project: a member there, nothing more."""
    mine = lib.Tenant(http, "padm")
    other = lib.Tenant(http, "pother")
    name = lib.unique("projadmin")
    pw = "pw-" + uuid.uuid4().hex
    u = http.create_user(name, pw, mine.project_id)
    http.grant(mine.project_id, u["id"], "admin")
    r = http.auth(name, pw, mine.project_name)
    t = tok(r)
    assert {x["name"] for x in r.json()["token"]["roles"]} >= {"admin"}
    assert r.json()["token"]["is_admin_project"] is False

    # Nova admin-only APIs: 403 with Nova's body
    expect(http.compute("POST", "/flavors", token=t, json=FLAVOR), 403,
           nova_forbidden("os_compute_api:os-flavor-manage:create"))
    expect(http.compute("PUT", "/os-quota-sets/" + other.project_id,
                        token=t, json={"quota_set": {"instances": 99}}),
           403, nova_forbidden("os_compute_api:os-quota-sets:update"))
    expect(http.compute("GET", "/os-services", token=t), 403,
           nova_forbidden("os_compute_api:os-services:list"))
    # ?all_tenants=1 is not admin for it: its own servers only
    r = http.compute("GET", "/servers?all_tenants=1", token=t)
    assert r.status_code in (200, 403), r.text
    if r.status_code == 200:
        assert r.json()["servers"] == [], r.text
    # another project's quotas are not its business either
    r = http.compute("GET", "/os-quota-sets/" + other.project_id, token=t)
    assert r.status_code == 403, r.text
    # its own project still works as a member's
    assert http.compute("GET", "/servers", token=t).status_code == 200
    assert http.compute("GET", "/os-quota-sets/" + mine.project_id,
                        token=t).status_code == 200

    # Keystone admin APIs: 403 with Keystone's body
    expect(http.identity("GET", "/users", token=t), 403,
           keystone_forbidden("identity:list_users"))
    expect(http.identity("POST", "/projects", token=t, json={"project": {
        "name": lib.unique("evil"), "domain_id": "default"}}), 403,
        keystone_forbidden("identity:create_project"))
    expect(http.identity("PATCH", "/users/" + other.member.id, token=t,
                         json={"user": {"enabled": False}}), 403,
           keystone_forbidden("identity:update_user"))
    expect(put_grant(http, "projects", http.admin_project_id, u["id"],
                     "admin", token=t), 403,
           keystone_forbidden("identity:create_grant"))
    expect(http.identity("GET", "/domains", token=t), 403,
           keystone_forbidden("identity:list_domains"))
    # nor validate (or revoke) other users' tokens
    victim = other.member.token
    expect(validate(http, victim, token=t), 403,
           keystone_forbidden("identity:validate_token"))
    expect(http.identity("DELETE", "/auth/tokens", token=t,
                         headers={"X-Subject-Token": victim}), 403,
           keystone_forbidden("identity:revoke_token"))
    assert validate(http, victim).status_code == 200
    # the bootstrap admin still is the cloud admin
    assert http.admin_auth["token"]["is_admin_project"] is True
    assert http.identity("GET", "/users").status_code == 200


def test_domain_admin_manages_only_its_domain(http):
    d = Domain(http, role="admin")
    other = Domain(http)
    r = password_auth(http, d.user, d.password, d.id, d.domain_scope())
    t = tok(r)
    assert [x["name"] for x in r.json()["token"]["roles"]][:1] == ["admin"]

    # not a compute admin, and not a compute user at all (no project scope)
    expect(http.compute("POST", "/flavors", token=t, json=FLAVOR), 403,
           nova_forbidden("os_compute_api:os-flavor-manage:create"))
    expect(http.compute("GET", "/os-services", token=t), 403,
           nova_forbidden("os_compute_api:os-services:list"))
    # not a cloud-wide identity admin
    for method, path, rule, body in [
            ("GET", "/domains", "identity:list_domains", None),
            ("POST", "/domains", "identity:create_domain",
             {"domain": {"name": lib.unique("d")}}),
            ("PATCH", "/domains/" + other.id, "identity:update_domain",
             {"domain": {"enabled": False}}),
            ("POST", "/projects", "identity:create_project",
             {"project": {"name": lib.unique("p"), "domain_id": d.id}}),
            ("POST", "/roles", "identity:create_role",
             {"role": {"name": lib.unique("r")}}),
            ("GET", "/role_assignments", "identity:list_role_assignments",
             None),
            ("GET", "/users?domain_id=default", "identity:list_users", None),
            ("GET", "/projects?domain_id=" + other.id,
             "identity:list_projects", None),
            ("POST", "/users", "identity:create_user",
             {"user": {"name": lib.unique("u"), "domain_id": other.id}}),
            ("PATCH", "/users/" + other.user_id, "identity:update_user",
             {"user": {"password": "taken-over"}}),
            ("DELETE", "/users/" + http.admin_user_id, "identity:delete_user",
             None),
            ("GET", "/projects/" + other.project_id, "identity:get_project",
             None)]:
        expect(http.identity(method, path, token=t, json=body), 403,
               keystone_forbidden(rule))
    # grants: not on another domain's objects, and never admin or service
    expect(put_grant(http, "projects", other.project_id, d.user_id, "member",
                     token=t), 403, keystone_forbidden("identity:create_grant"))
    expect(put_grant(http, "projects", d.project_id, other.user_id, "member",
                     token=t), 403, keystone_forbidden("identity:create_grant"))
    for role in ("admin", "service"):
        expect(put_grant(http, "projects", d.project_id, d.user_id, role,
                         token=t), 403,
               keystone_forbidden("identity:create_grant"))
    # the other domain is untouched
    assert password_auth(http, other.user, other.password,
                         other.id).status_code == 201

    # inside its domain it manages users, projects' grants, and sees them
    r = http.identity("GET", "/users", token=t)
    assert r.status_code == 200, r.text
    assert {x["domain_id"] for x in r.json()["users"]} == {d.id}
    r = http.identity("GET", "/projects", token=t)
    assert r.status_code == 200, r.text
    assert [x["id"] for x in r.json()["projects"]] == [d.project_id]
    assert http.identity("GET", "/projects/" + d.project_id,
                         token=t).status_code == 200
    name, pw = lib.unique("dnew"), "pw-" + uuid.uuid4().hex
    r = http.identity("POST", "/users", token=t, json={"user": {
        "name": name, "password": pw}})
    assert r.status_code == 201, r.text
    new = r.json()["user"]
    assert new["domain_id"] == d.id
    assert put_grant(http, "projects", d.project_id, new["id"], "member",
                     token=t).status_code == 204
    ptok = tok(password_auth(http, name, pw, d.id, d.project_scope()))
    assert http.compute("GET", "/servers", token=ptok).status_code == 200
    assert http.identity("PATCH", "/users/" + new["id"], token=t, json={
        "user": {"enabled": False}}).status_code == 200
    expect(validate(http, ptok), 404, NOT_VALID)
    r = http.identity("DELETE", "/users/" + new["id"], token=t)
    assert r.status_code == 204, r.text


# --------------------------------------------------------------------------
# system scope: the cloud admin on identity, refused by compute
# --------------------------------------------------------------------------

SYSTEM = {"system": {"all": True}}


def test_system_scope(http):
    r = password_auth(http, http.admin_user, http.admin_password, "default",
                      SYSTEM)
    t = tok(r)
    body = r.json()["token"]
    assert body["system"] == {"all": True}
    assert "project" not in body and "domain" not in body
    assert {x["name"] for x in body["roles"]} >= {"admin", "member", "reader"}
    assert body["catalog"]
    # identity: the cloud admin
    assert http.identity("GET", "/users", token=t).status_code == 200
    assert http.identity("GET", "/domains", token=t).status_code == 200
    r = validate(http, t)
    assert r.status_code == 200 and r.json()["token"]["system"] == {
        "all": True}, r.text
    # compute: every policy is project-scoped (Nova scope_types ['project'])
    expect(http.compute("GET", "/os-services", token=t), 403,
           nova_forbidden("os_compute_api:os-services:list"))
    r = http.compute("GET", "/servers", token=t)
    assert r.status_code == 403 and list(r.json()) == ["forbidden"], r.text
    # the bootstrap grant shows in the assignments
    r = http.identity("GET", "/role_assignments", params={
        "scope.system": "all", "user.id": http.admin_user_id})
    assert r.status_code == 200, r.text
    assert {"all": True} in [a["scope"].get("system")
                             for a in r.json()["role_assignments"]]

    # a user without a system role gets no system token
    tenant = lib.Tenant(http, "sys")
    expect(password_auth(http, tenant.member.name, tenant.member.password,
                         "default", SYSTEM), 401, {"error": {
                             "code": 401, "title": "Unauthorized",
                             "message": "User %s has no access to the system"
                             % tenant.member.id}})
    r = password_auth(http, tenant.member.name, tenant.member.password,
                      "default", {"system": {"all": False}})
    assert r.status_code == 400, r.text
    # only the cloud admin grants system roles; a system reader is no admin
    expect(http.identity("PUT", "/system/users/%s/roles/%s" % (
        tenant.member.id, http.role_id("admin")), token=tenant.member.token),
        403, keystone_forbidden("identity:create_system_grant_for_user"))
    path = "/system/users/%s/roles/%s" % (tenant.member.id,
                                          http.role_id("reader"))
    assert http.identity("PUT", path).status_code == 204
    assert http.identity("HEAD", path).status_code == 204
    r = http.identity("GET", "/system/users/%s/roles" % tenant.member.id)
    assert [x["name"] for x in r.json()["roles"]] == ["reader"], r.text
    rt = tok(password_auth(http, tenant.member.name, tenant.member.password,
                           "default", SYSTEM))
    expect(http.identity("GET", "/users", token=rt), 403,
           keystone_forbidden("identity:list_users"))
    assert http.identity("DELETE", path).status_code == 204
    assert http.identity("HEAD", path).status_code == 404
