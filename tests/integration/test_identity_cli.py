"""Keystone v3 subset through Debian's real `openstack` CLI."""

import novalite_testlib as lib


def _by(rows, key, value):
    hits = [r for r in rows if r.get(key) == value]
    assert len(hits) == 1, "%s=%r: %d matches in %r" % (key, value,
                                                       len(hits), rows)
    return hits[0]


def test_versions_show(osc, daemon):
    rows = osc("versions", "show")
    compute = [r for r in rows if r["Service Type"] == "compute"]
    assert compute, rows
    cur = [r for r in compute if r["Status"] == "CURRENT"]
    assert len(cur) == 1, compute
    cur = cur[0]
    assert cur["Version"] == "2.1"
    assert cur["Min Microversion"] == "2.1"
    assert cur["Max Microversion"] == lib.MAX_MICROVERSION
    assert cur["Region Name"] == "RegionOne"
    assert cur["Endpoint"].rstrip("/") == daemon.compute_url
    identity = [r for r in rows if r["Service Type"] == "identity"]
    assert identity, rows
    assert any(r["Version"].startswith("3.") and r["Status"] == "CURRENT"
               for r in identity), identity


def test_token_issue(osc, http):
    tok = osc("token", "issue")
    assert set(tok) >= {"id", "expires", "project_id", "user_id"}
    assert tok["project_id"] == http.admin_project_id
    assert tok["user_id"] == http.admin_user_id
    # the issued token works against compute
    r = http.compute("GET", "/flavors", token=tok["id"])
    assert r.status_code == 200, r.text


def test_token_revoke(osc, http):
    tok = osc("token", "issue")["id"]
    assert http.compute("GET", "/flavors", token=tok).status_code == 200
    assert osc("token", "revoke", tok) is None
    r = http.compute("GET", "/flavors", token=tok)
    assert r.status_code == 401, r.text
    r = http.identity("GET", "/auth/tokens",
                      headers={"X-Subject-Token": tok})
    assert r.status_code == 404, r.text


def test_catalog_list(osc, daemon):
    rows = osc("catalog", "list")
    types = {r["Type"] for r in rows}
    assert {"compute", "identity"} <= types, rows
    compute = _by(rows, "Type", "compute")
    urls = {(e["interface"], e["url"].rstrip("/")) for e in compute["Endpoints"]}
    assert ("public", daemon.compute_url) in urls, compute
    identity = _by(rows, "Type", "identity")
    assert any(e["url"].rstrip("/") == daemon.identity_url
               for e in identity["Endpoints"]), identity


def test_catalog_show_compute(osc, daemon):
    svc = osc("catalog", "show", "compute")
    assert svc["type"] == "compute"
    assert svc["id"]
    pub = [e for e in svc["endpoints"] if e["interface"] == "public"]
    assert pub and pub[0]["url"].rstrip("/") == daemon.compute_url, svc
    assert pub[0].get("region_id", pub[0].get("region")) == "RegionOne"


def test_domain_list(osc):
    rows = osc("domain", "list")
    d = _by(rows, "ID", "default")
    assert d["Name"] == "Default"
    assert d["Enabled"] is True


# ---- projects -------------------------------------------------------------

def test_project_show_admin(osc, http):
    p = osc("project", "show", "admin")
    assert p["name"] == "admin"
    assert p["id"] == http.admin_project_id
    assert p["domain_id"] == "default"
    assert p["enabled"] is True


def test_project_lifecycle(osc, osc_raw):
    name = lib.unique("proj")
    p = osc("project", "create", "--description", "first", name)
    assert p["name"] == name
    assert p["description"] == "first"
    assert p["domain_id"] == "default"
    assert p["enabled"] is True
    pid = p["id"]

    rows = osc("project", "list")
    assert _by(rows, "ID", pid)["Name"] == name

    assert osc("project", "show", pid)["name"] == name
    assert osc("project", "show", name)["id"] == pid

    new = name + "-renamed"
    assert osc("project", "set", "--name", new, "--description", "second",
               "--disable", pid) is None
    p = osc("project", "show", pid)
    assert (p["name"], p["description"], p["enabled"]) == (new, "second",
                                                           False)
    osc("project", "set", "--enable", pid)
    assert osc("project", "show", pid)["enabled"] is True

    # duplicate name in the same domain -> 409 -> CLI error
    r = osc_raw("project", "create", new)
    assert r.returncode != 0
    assert "409" in r.stderr or "Conflict" in r.stderr, r.stderr

    assert osc("project", "delete", pid) is None
    r = osc_raw("project", "show", pid)
    assert r.returncode != 0
    assert "No project with a name or ID of" in r.stderr, r.stderr
    assert pid not in {row["ID"] for row in osc("project", "list")}


# ---- users ------------------------------------------------------------------

def test_user_lifecycle(osc, osc_raw, client_env, http):
    proj = osc("project", "create", lib.unique("uproj"))
    name = lib.unique("user")
    u = osc("user", "create", "--password", "first-pw", "--project",
            proj["id"], "--email", "u@example.org", name)
    assert u["name"] == name
    assert u["domain_id"] == "default"
    assert u["enabled"] is True
    assert u["default_project_id"] == proj["id"]
    assert "password" not in u
    uid = u["id"]

    assert _by(osc("user", "list"), "ID", uid)["Name"] == name
    shown = osc("user", "show", name)
    assert shown["id"] == uid
    assert shown["default_project_id"] == proj["id"]
    assert osc("user", "show", uid)["name"] == name

    # unscoped auth with the first password works, a wrong one does not
    assert http.auth(name, "first-pw").status_code == 201
    assert http.auth(name, "nope").status_code == 401

    # --password, then authenticate as that user through the CLI
    osc("role", "add", "--project", proj["id"], "--user", uid, "member")
    assert osc("user", "set", "--password", "second-pw", uid) is None
    env = dict(client_env, OS_USERNAME=name, OS_PASSWORD="second-pw",
               OS_PROJECT_NAME=proj["name"])
    tok = osc("token", "issue", env=env)
    assert tok["user_id"] == uid
    assert tok["project_id"] == proj["id"]
    env_old = dict(env, OS_PASSWORD="first-pw")
    r = osc_raw("token", "issue", env=env_old)
    assert r.returncode != 0, "old password still accepted"
    assert "401" in r.stderr or "authentication" in r.stderr.lower(), r.stderr

    # rename + disable
    osc("user", "set", "--name", name + "-x", "--disable", uid)
    shown = osc("user", "show", uid)
    assert shown["name"] == name + "-x"
    assert shown["enabled"] is False
    assert http.auth(name + "-x", "second-pw").status_code == 401

    assert osc("user", "delete", uid) is None
    r = osc_raw("user", "show", uid)
    assert r.returncode != 0
    assert "No user with a name or ID of" in r.stderr, r.stderr
    osc("project", "delete", proj["id"])


# ---- roles ------------------------------------------------------------------

def test_role_list_has_bootstrap_roles(osc):
    names = {r["Name"] for r in osc("role", "list")}
    assert {"admin", "member", "reader", "service"} <= names, names


def test_role_create_add_remove(osc, osc_raw, http):
    proj = osc("project", "create", lib.unique("rproj"))
    user = osc("user", "create", "--password", "pw",
               lib.unique("ruser"))
    rname = lib.unique("role")
    role = osc("role", "create", rname)
    assert role["name"] == rname
    assert role["id"]
    assert role.get("domain_id") in (None, "")
    assert _by(osc("role", "list"), "ID", role["id"])["Name"] == rname
    assert osc("role", "show", rname)["id"] == role["id"]

    assert osc("role", "add", "--project", proj["name"], "--user",
               user["name"], rname) is None

    rows = osc("role", "assignment", "list", "--project", proj["id"],
               "--user", user["id"])
    assert [(r["Role"], r["User"], r["Project"]) for r in rows] == [
        (role["id"], user["id"], proj["id"])], rows
    assert rows[0]["Group"] == "" and rows[0]["Domain"] == ""
    assert rows[0]["Inherited"] is False

    rows = osc("role", "assignment", "list", "--project", proj["name"],
               "--user", user["name"], "--names")
    assert [(r["Role"], r["User"], r["Project"]) for r in rows] == [
        (rname, user["name"] + "@Default", proj["name"] + "@Default")], rows

    # a role assignment is usable: the user can now get a scoped token
    assert http.auth(user["name"], "pw", proj["name"]).status_code == 201

    assert osc("role", "remove", "--project", proj["id"], "--user",
               user["id"], rname) is None
    rows = osc("role", "assignment", "list", "--project", proj["id"],
               "--user", user["id"])
    assert rows == []
    # no role on the project any more -> scoped auth refused
    assert http.auth(user["name"], "pw", proj["name"]).status_code == 401

    osc("role", "delete", rname)
    assert rname not in {r["Name"] for r in osc("role", "list")}
    osc("user", "delete", user["id"])
    osc("project", "delete", proj["id"])


def test_role_assignment_list_filters(osc, http, tenant):
    # admin user has admin on admin project
    rows = osc("role", "assignment", "list", "--project", "admin",
               "--user", "admin", "--names")
    assert ("admin", "admin@Default", "admin@Default") in {
        (r["Role"], r["User"], r["Project"]) for r in rows}, rows

    # filtering by project only returns that project's assignments
    rows = osc("role", "assignment", "list", "--project",
               tenant.project_id, "--names")
    got = {(r["Role"], r["User"]) for r in rows}
    assert got == {("member", tenant.member.name + "@Default"),
                   ("reader", tenant.reader.name + "@Default")}, rows
    assert {r["Project"] for r in rows} == {
        tenant.project_name + "@Default"}

    # filtering by user only returns that user's assignments
    rows = osc("role", "assignment", "list", "--user", tenant.reader.id)
    assert [(r["Role"], r["Project"]) for r in rows] == [
        (http.role_id("reader"), tenant.project_id)], rows

    # --role filter
    rows = osc("role", "assignment", "list", "--role", "member",
               "--project", tenant.project_id)
    assert [r["User"] for r in rows] == [tenant.member.id], rows
