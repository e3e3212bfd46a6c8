"""Keystone v3 token flows over raw HTTP: every way of asking for a token that
the issue lists (password by name or id, project scope by id or name+domain,
domain scope, unscoped, token re-scope), validation, HEAD, revocation, and the
effects of changing roles, passwords and enabled flags.

Reference: keystone/tests/unit/test_v3_auth.py (validating a revoked or expired
token with X-Subject-Token is 404; using it is 401), keystone/auth/schema.py.
"""

import novalite_testlib as lib


def auth_body(identity, scope=None):
    body = {"auth": {"identity": identity}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return body


def pw_identity(user, password, by_id=False, domain=None):
    u = {"id": user} if by_id else {
        "name": user, "domain": domain or {"name": "Default"}}
    u["password"] = password
    return {"methods": ["password"], "password": {"user": u}}


def issue(http, body):
    return http.s.post(http.d.identity_url + "/auth/tokens", json=body,
                       timeout=15)


def test_project_scope_by_id_and_user_by_id(http):
    pid = http.admin_project_id
    r = issue(http, auth_body(pw_identity(http.admin_user_id,
                                          http.admin_password, by_id=True),
                              {"project": {"id": pid}}))
    assert r.status_code == 201, r.text
    t = r.json()["token"]
    assert t["project"]["id"] == pid
    assert t["project"]["domain"] == {"id": "default", "name": "Default"}
    assert t["user"]["id"] == http.admin_user_id
    assert t["methods"] == ["password"]
    assert {x["name"] for x in t["roles"]} >= {"admin", "member", "reader"}
    assert {s["type"] for s in t["catalog"]} >= {"identity", "compute"}
    assert t["expires_at"].endswith("Z") and t["issued_at"].endswith("Z")
    assert len(t["audit_ids"]) == 1


def test_domain_by_id_libcloud_style(http):
    """libcloud sends the project domain by id and the user domain by name."""
    r = issue(http, auth_body(pw_identity("admin", http.admin_password),
                              {"project": {"name": "admin",
                                           "domain": {"id": "default"}}}))
    assert r.status_code == 201, r.text
    assert r.json()["token"]["project"]["name"] == "admin"


def test_unscoped_token_has_no_catalog_or_roles(http):
    r = issue(http, auth_body(pw_identity("admin", http.admin_password)))
    assert r.status_code == 201, r.text
    t = r.json()["token"]
    assert "project" not in t and "catalog" not in t and "roles" not in t
    # an unscoped token carries no role: project-scoped policies refuse it
    r3 = http.compute("GET", "/os-quota-sets/%s" % http.admin_project_id,
                      token=r.headers["X-Subject-Token"])
    assert r3.status_code == 403, r3.text


def test_domain_scope(http):
    r = issue(http, auth_body(pw_identity("admin", http.admin_password)))
    unscoped = r.headers["X-Subject-Token"]
    # admin has no role on the domain yet: a domain-scoped token is refused
    r = issue(http, auth_body(pw_identity("admin", http.admin_password),
                              {"domain": {"id": "default"}}))
    assert r.status_code == 401, r.text
    role = http.identity("GET", "/roles?name=reader").json()["roles"][0]["id"]
    r = http.identity("PUT", "/domains/default/users/%s/roles/%s"
                      % (http.admin_user_id, role))
    assert r.status_code == 204, r.text
    try:
        r = issue(http, auth_body(pw_identity("admin", http.admin_password),
                                  {"domain": {"name": "Default"}}))
        assert r.status_code == 201, r.text
        t = r.json()["token"]
        assert t["domain"] == {"id": "default", "name": "Default"}
        assert [x["name"] for x in t["roles"]] == ["reader"]
        assert "project" not in t
    finally:
        http.identity("DELETE", "/domains/default/users/%s/roles/%s"
                      % (http.admin_user_id, role))
    assert unscoped


def test_rescope_with_token_method_keeps_expiry_and_chains_audit(http):
    r = issue(http, auth_body(pw_identity("admin", http.admin_password)))
    assert r.status_code == 201
    first = r.json()["token"]
    tok = r.headers["X-Subject-Token"]
    r = issue(http, auth_body({"methods": ["token"], "token": {"id": tok}},
                              {"project": {"name": "admin",
                                           "domain": {"name": "Default"}}}))
    assert r.status_code == 201, r.text
    t = r.json()["token"]
    assert t["project"]["name"] == "admin"
    assert set(t["methods"]) == {"password", "token"}
    assert t["expires_at"] == first["expires_at"]
    assert t["audit_ids"][1] == first["audit_ids"][0]
    # a bogus token cannot be re-scoped
    r = issue(http, auth_body({"methods": ["token"], "token": {"id": "nope"}},
                              {"project": {"name": "admin",
                                           "domain": {"name": "Default"}}}))
    assert r.status_code == 401, r.text


def test_unknown_method_and_bad_scope(http):
    r = issue(http, auth_body({"methods": ["totp"], "totp": {}}))
    assert r.status_code == 401, r.text
    r = issue(http, auth_body(pw_identity("admin", http.admin_password),
                              {"project": {"name": "no-such-project",
                                           "domain": {"name": "Default"}}}))
    assert r.status_code == 401, r.text
    assert r.json()["error"]["title"] == "Unauthorized"
    r = issue(http, auth_body(pw_identity("nobody", "x")))
    assert r.status_code == 401
    r = issue(http, {"auth": {"identity": {"methods": "password"}}})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "Invalid input for field 'identity/methods': 'password' is not of "
        "type 'array'")


def test_head_validate_and_revoke(http):
    tok, _ = http.token("admin", http.admin_password, "admin")
    r = http.identity("HEAD", "/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 200
    assert r.headers["X-Subject-Token"] == tok
    r = http.identity("DELETE", "/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 204, r.text
    r = http.identity("GET", "/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 404
    assert r.json()["error"]["title"] == "Not Found"
    assert http.compute("GET", "/flavors", token=tok).status_code == 401


def test_role_removal_bites_on_next_request(http, make_tenant):
    t = make_tenant("bite")
    tok, body = http.token(t.member.name, t.member.password, t.project_name)
    assert http.compute("GET", "/limits", token=tok).status_code == 200
    assert http.compute("GET", "/os-quota-sets/%s" % t.project_id,
                        token=tok).status_code == 200
    role = http.identity("GET", "/roles?name=member").json()["roles"][0]["id"]
    r = http.identity("DELETE", "/projects/%s/users/%s/roles/%s"
                      % (t.project_id, t.member.id, role))
    assert r.status_code == 204, r.text
    # the token still exists but carries no role on the project any more
    r = http.compute("GET", "/os-quota-sets/%s" % t.project_id, token=tok)
    assert r.status_code == 403, r.text


def test_password_change_and_disable_revoke_tokens(http, make_tenant):
    t = make_tenant("revoke")
    pw = t.member.password
    tok, _ = http.token(t.member.name, pw, t.project_name)
    r = http.identity("PATCH", "/users/%s" % t.member.id,
                      json={"user": {"password": "new-" + pw}})
    assert r.status_code == 200, r.text
    assert "password" not in r.json()["user"]
    assert http.compute("GET", "/flavors", token=tok).status_code == 401
    tok2, _ = http.token(t.member.name, "new-" + pw, t.project_name)
    r = http.identity("PATCH", "/users/%s" % t.member.id,
                      json={"user": {"enabled": False}})
    assert r.status_code == 200 and r.json()["user"]["enabled"] is False
    assert http.compute("GET", "/flavors", token=tok2).status_code == 401
    r = http.auth(t.member.name, "new-" + pw, t.project_name)
    assert r.status_code == 401


def test_self_service_password_change(http, make_tenant):
    t = make_tenant("selfpw")
    tok, _ = http.token(t.reader.name, t.reader.password, t.project_name)
    r = http.identity("POST", "/users/%s/password" % t.reader.id, token=tok,
                      json={"user": {"password": "n3w",
                                     "original_password": "wrong"}})
    assert r.status_code == 401, r.text
    r = http.identity("POST", "/users/%s/password" % t.reader.id, token=tok,
                      json={"user": {"password": "n3w",
                                     "original_password": t.reader.password}})
    assert r.status_code == 204, r.text
    assert http.auth(t.reader.name, "n3w", t.project_name).status_code == 201
    # another user's password is not theirs to change
    tok, _ = http.token(t.reader.name, "n3w", t.project_name)
    r = http.identity("POST", "/users/%s/password" % t.member.id, token=tok,
                      json={"user": {"password": "x",
                                     "original_password": t.member.password}})
    assert r.status_code == 403, r.text


def test_role_assignments_filters_and_effective(http, make_tenant):
    t = make_tenant("assign")
    r = http.identity("GET", "/role_assignments",
                      params={"scope.project.id": t.project_id,
                              "include_names": "1"})
    assert r.status_code == 200, r.text
    got = {(a["user"]["name"], a["role"]["name"])
           for a in r.json()["role_assignments"]}
    assert got == {(t.member.name, "member"), (t.reader.name, "reader")}
    r = http.identity("GET", "/role_assignments",
                      params={"scope.project.id": t.project_id,
                              "user.id": t.member.id, "effective": "true"})
    roles = {a["role"]["id"] for a in r.json()["role_assignments"]}
    names = {x["id"]: x["name"] for x in
             http.identity("GET", "/roles").json()["roles"]}
    assert {names[x] for x in roles} == {"member", "reader"}
    for a in r.json()["role_assignments"]:
        assert a["scope"] == {"project": {"id": t.project_id}}
        assert a["links"]["assignment"].endswith(
            "/v3/projects/%s/users/%s/roles/%s"
            % (t.project_id, t.member.id, a["role"]["id"]))
