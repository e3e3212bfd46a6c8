"""Nova's deprecated /v2.1/images proxy (microversions 2.1-2.35) over the same
rows as the image API: list, detail, show, delete and metadata.
Reference: nova/api/openstack/compute/images.py, image_metadata.py and
views/images.py (status SAVING/ACTIVE, progress 25/50/100)."""

import novalite_testlib as lib

JSON = {"Accept": "application/json"}


def make_image(http, **props):
    r = http.image("POST", "/v2/images", json=dict(
        {"name": lib.unique("proxy"), "disk_format": "raw",
         "container_format": "bare"}, **props), headers=JSON)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_list_detail_show(http):
    iid = make_image(http, os_distro="debian")
    r = http.compute("GET", "/images")
    assert r.status_code == 200, r.text
    brief = {i["id"]: i for i in r.json()["images"]}
    assert set(brief[iid]) == {"id", "name", "links"}
    assert [l["rel"] for l in brief[iid]["links"]] == ["self", "bookmark",
                                                       "alternate"]
    r = http.compute("GET", "/images/detail")
    d = {i["id"]: i for i in r.json()["images"]}[iid]
    assert d["status"] == "SAVING" and d["progress"] == 25   # queued image
    assert d["metadata"] == {"os_distro": "debian"}
    assert d["minRam"] == 0 and d["minDisk"] == 0
    r = http.compute("GET", "/images/%s" % iid)
    assert r.status_code == 200 and r.json()["image"]["id"] == iid
    r = http.compute("GET", "/images/%s" % iid, microversion="2.36")
    assert r.status_code == 404                 # the proxy is gone at 2.36
    r = http.compute("GET", "/images/nope")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == "Image not found."


def test_metadata_crud(http):
    iid = make_image(http, a="1")
    base = "/images/%s/metadata" % iid
    r = http.compute("POST", base, json={"metadata": {"b": "2"}})
    assert r.status_code == 200, r.text
    assert r.json() == {"metadata": {"a": "1", "b": "2"}}
    r = http.compute("PUT", base + "/b", json={"meta": {"b": "3"}})
    assert r.status_code == 200 and r.json() == {"meta": {"b": "3"}}
    r = http.compute("PUT", base + "/b", json={"meta": {"c": "3"}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Request body and URI mismatch"
    r = http.compute("GET", base + "/b")
    assert r.json() == {"meta": {"b": "3"}}
    r = http.compute("DELETE", base + "/a")
    assert r.status_code == 204
    r = http.compute("DELETE", base + "/a")
    assert r.status_code == 404
    assert r.json()["itemNotFound"]["message"] == "Invalid metadata key"
    r = http.compute("PUT", base, json={"metadata": {"only": "x"}})
    assert r.json() == {"metadata": {"only": "x"}}
    # the image API sees the same rows
    r = http.image("GET", "/v2/images/%s" % iid, headers=JSON)
    img = r.json()
    assert img["only"] == "x" and "b" not in img and "a" not in img
    r = http.compute("POST", base, json={"metadata": {"bad/key": "v"}})
    assert r.status_code == 400


def test_other_project_cannot_touch(http, make_tenant):
    iid = make_image(http)
    t = make_tenant("proxy")
    tok = t.member.token
    assert http.compute("GET", "/images/%s" % iid, token=tok).status_code == 404
    r = http.compute("POST", "/images/%s/metadata" % iid, token=tok,
                     json={"metadata": {"x": "y"}})
    assert r.status_code == 404
    assert http.compute("DELETE", "/images/%s" % iid,
                        token=tok).status_code == 404
    r = http.compute("DELETE", "/images/%s" % iid)
    assert r.status_code == 204
    assert http.compute("GET", "/images/%s" % iid).status_code == 404
