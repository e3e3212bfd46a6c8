#!/usr/bin/python3
"""Run OpenStack's Tempest (Debian python3-tempest 33) against a fresh novalite.

    tests/tempest/gate.py --selection gate     # the CI gate (make tempest-gate)
    tests/tempest/gate.py --selection wide     # all of compute/identity v3/image v2
                          --doc docs/conformance.md   (make conformance)

Steps: start build/novalite-api on free loopback ports with a temp state dir; create
what Tempest needs over REST (two small qcow2 images made with qemu-img; Tempest's
dynamic credentials create its own projects and users through novalite's Keystone);
write a tempest workspace (`tempest init`) with a generated etc/tempest.conf; run
`tempest run` on the selection; read the subunit stream; compare with the checked-in
expected-pass.txt / expected-fail.txt / expected-skip.txt.

Gate rule: a test on expected-pass.txt that does not pass, or a test not on any list
that fails, is a regression (exit 1). A passing test not on expected-pass.txt is
reported (add it). The last line is `tempest: N passed, N failed, N skipped`.

Nothing leaves the machine: every endpoint is 127.0.0.1, proxies are unset and the
only image data Tempest uploads are bytes it generates itself.
"""

import argparse
import collections
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))

import requests  # noqa: E402

from novalite_testlib import Daemon  # noqa: E402

TEMPEST = "/usr/bin/tempest"
TEMPEST_DIR = "/usr/lib/python3/dist-packages/tempest"
PY = "/usr/bin/python3"
ID_RE = re.compile(r"\[.*\]$")


def log(msg):
    print("tempest-gate: " + msg, flush=True)


def strip_attrs(test_id):
    """'a.b.C.test_x[id-...,smoke]' -> 'a.b.C.test_x'."""
    return ID_RE.sub("", test_id)


def read_list(path):
    """Lines 'test_id  # reason' -> {test_id: reason}; blank/# lines ignored."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tid, _, reason = line.partition("#")
        out[tid.strip()] = reason.strip()
    return out


# ---------------------------------------------------------------- REST set-up
class Cloud:
    def __init__(self, daemon):
        self.d = daemon
        rc = daemon.openrc
        self.user = rc["OS_USERNAME"]
        self.password = rc["OS_PASSWORD"]
        self.project = rc.get("OS_PROJECT_NAME", "admin")
        self.s = requests.Session()
        self.s.trust_env = False
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": self.user, "domain": {"name": "Default"},
                     "password": self.password}}},
            "scope": {"project": {"name": self.project,
                                  "domain": {"name": "Default"}}}}}
        r = self.s.post(daemon.identity_url + "/auth/tokens", json=body, timeout=30)
        r.raise_for_status()
        self.s.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
        self.token_body = r.json()
        self.image_url = "http://127.0.0.1:%d" % daemon.image_port

    def region(self):
        for svc in self.token_body["token"].get("catalog", []):
            for ep in svc.get("endpoints", []):
                if ep.get("region_id"):
                    return ep["region_id"]
        return "RegionOne"

    def upload_image(self, name, path, disk_format):
        r = self.s.post(self.image_url + "/v2/images", timeout=30, json={
            "name": name, "disk_format": disk_format, "container_format": "bare",
            "visibility": "public"})
        r.raise_for_status()
        image_id = r.json()["id"]
        with open(path, "rb") as f:
            r = self.s.put(self.image_url + "/v2/images/%s/file" % image_id,
                           data=f, timeout=60,
                           headers={"Content-Type": "application/octet-stream"})
        if r.status_code != 204:
            raise RuntimeError("image upload: %s %s" % (r.status_code, r.text))
        return image_id

    def flavor_ids(self):
        r = self.s.get(self.d.compute_url + "/flavors", timeout=30)
        r.raise_for_status()
        by_name = {f["name"]: f["id"] for f in r.json()["flavors"]}
        return by_name["m1.tiny"], by_name["m1.small"]


def make_qcow2(path, size="64M"):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size],
                   check=True, timeout=60)


# ---------------------------------------------------------------- tempest.conf
def tempest_conf(d, cloud, ws, image_ref, image_ref_alt, flavors, concurrency,
                 overrides=()):
    rc = d.openrc
    conf = {
        "DEFAULT": {
            "log_file": str(ws / "tempest.log"),
            "use_stderr": "False",
            "debug": "True",
        },
        "oslo_concurrency": {"lock_path": str(ws / "lock")},
        "auth": {
            "use_dynamic_credentials": "True",
            "create_isolated_networks": "False",
            "admin_username": cloud.user,
            "admin_password": cloud.password,
            "admin_project_name": cloud.project,
            "admin_domain_name": "Default",
            "admin_user_domain_name": rc.get("OS_USER_DOMAIN_NAME", "Default"),
            "admin_project_domain_name": rc.get("OS_PROJECT_DOMAIN_NAME", "Default"),
            "default_credentials_domain_name": "Default",
        },
        "identity": {
            "uri_v3": d.identity_url,
            "auth_version": "v3",
            "region": cloud.region(),
            "v3_endpoint_type": "public",
            "admin_role": "admin",
            "default_domain_id": "default",
        },
        "identity-feature-enabled": {
            "api_v2": "False",
            "api_v2_admin": "False",
            "api_v3": "True",
            "trust": "False",
            "security_compliance": "False",
            "project_tags": "False",
            "application_credentials": "False",
            "access_rules": "False",
            "domain_specific_drivers": "False",
            "immutable_user_source": "False",
        },
        "service_available": {
            "nova": "True",
            "glance": "True",
            "neutron": "False",
            "cinder": "False",
            "swift": "False",
            "heat": "False",
            "horizon": "False",
            "ironic": "False",
            "designate": "False",
            "octavia": "False",
            "placement": "False",
        },
        "compute": {
            "image_ref": image_ref,
            "image_ref_alt": image_ref_alt,
            "flavor_ref": flavors[0],
            "flavor_ref_alt": flavors[1],
            "build_timeout": "60",
            "build_interval": "1",
            "ready_wait": "0",
            "min_compute_nodes": "1",
            "min_microversion": "2.1",
            "max_microversion": "2.93",
            "region": cloud.region(),
            "endpoint_type": "publicURL",
        },
        "compute-feature-enabled": {
            # what novalite serves (docs/api-coverage.md)
            "pause": "True",
            "suspend": "True",
            "snapshot": "True",
            "console_output": "True",
            "enable_instance_password": "True",
            # not implemented: rebuild/resize/migrate/rescue/shelve/password
            "resize": "False",
            "cold_migration": "False",
            "live_migration": "False",
            "live_migrate_back_and_forth": "False",
            "shelve": "False",
            "shelve_migrate": "False",
            "rescue": "False",
            "stable_rescue": "False",
            "change_password": "False",
            "disk_config": "False",
            "hostname_fqdn_sanitization": "False",
            # a vnc:// URL, no noVNC websocket proxy to test against
            "vnc_console": "False",
            "spice_console": "False",
            "rdp_console": "False",
            "serial_console": "False",
            # need networking, volumes or a guest to look into
            "interface_attach": "False",
            "metadata_service": "False",
            "config_drive": "False",
            "personality": "False",
            "attach_encrypted_volume": "False",
            "swap_volume": "False",
            "volume_multiattach": "False",
            "block_migration_for_live_migration": "False",
            "volume_backed_live_migration": "False",
            # Tempest 33 skips all server metadata writes unless this is set
            # ("Metadata is read-only on non-Xen-based deployments"): novalite's
            # metadata API is writable, so say so; it also runs test_agents.
            "xenapi_apis": "True",
            "ide_bus": "False",
            "unified_limits": "False",
            "scheduler_enabled_filters": ",".join([
                "AvailabilityZoneFilter", "ComputeFilter", "ImagePropertiesFilter",
                "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
                "SameHostFilter", "DifferentHostFilter",
                "AggregateInstanceExtraSpecsFilter"]),
        },
        "image": {
            "region": cloud.region(),
            "endpoint_type": "publicURL",
            # Tempest 33 uploads random bytes under disk_formats[0] and, in
            # ListUserImagesTest, under the first six (container, disk) pairs:
            # novalite inspects uploads and refuses random bytes declared as
            # qcow2/vmdk/vhd/vdi/iso, so only the formats whose content may be
            # any bytes are listed (docs/conformance.md, "Divergences").
            "disk_formats": "raw,ami,ari,aki",
            "container_formats": "bare,ami,ari,aki,ovf,ova",
            # never fetched (no test here uses it) and never off-machine
            "http_image": "http://127.0.0.1:9/none.img",
            "build_timeout": "30",
        },
        "image-feature-enabled": {
            "api_v2": "True",
            "api_v1": "False",
            "import_image": "False",
            "os_glance_reserved": "True",
            "manage_locations": "False",
        },
        "network": {"project_networks_reachable": "False",
                    "shared_physical_network": "False"},
        "network-feature-enabled": {"ipv6": "False"},
        "validation": {"run_validation": "False", "connect_method": "fixed"},
        "volume-feature-enabled": {"backup": "False", "snapshot": "False"},
        "object-storage-feature-enabled": {"discoverability": "False"},
        "scenario": {"img_file": str(ws / "no-such-image")},
    }
    for item in overrides:
        key, _, value = item.partition("=")
        section, _, opt = key.rpartition(".")
        conf.setdefault(section, {})[opt] = value
    out = io.StringIO()
    for section, opts in conf.items():
        out.write("[%s]\n" % section)
        for k, v in opts.items():
            out.write("%s = %s\n" % (k, v))
        out.write("\n")
    return out.getvalue()


# ---------------------------------------------------------------- results
def parse_subunit(path):
    """Return {test_id: (status, reason, duration)} from a subunit v2 file."""
    import subunit
    import testtools
    results = {}

    def on_test(t):
        tid = t["id"]
        if tid.startswith("setUpClass (") or tid.startswith("tearDownClass ("):
            # class fixture failure: name looks like "setUpClass (tempest.x.Y)"
            pass
        reason = ""
        if t["status"] == "skip":
            det = t["details"].get("reason")
            if det is not None:
                reason = det.as_text().strip()
        elif t["status"] == "fail":
            det = t["details"].get("traceback")
            if det is not None:
                lines = [ln for ln in det.as_text().strip().splitlines() if ln.strip()]
                reason = lines[-1][:300] if lines else ""
        ts = t.get("timestamps") or [None, None]
        dur = None
        if ts[0] is not None and ts[1] is not None:
            dur = (ts[1] - ts[0]).total_seconds()
        results[tid] = (t["status"], reason, dur)

    with open(path, "rb") as f:
        case = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        res = testtools.StreamToDict(on_test)
        res.startTestRun()
        case.run(res)
        res.stopTestRun()
    return results


def module_of(tid):
    name = strip_attrs(tid)
    m = re.match(r"(?:setUpClass|tearDownClass) \((.*)\)$", name)
    if m:
        name = m.group(1) + ".x"
    parts = name.split(".")
    return ".".join(parts[:-2]) if len(parts) > 2 else name


def summarise(results):
    norm = {}
    for tid, (status, reason, dur) in results.items():
        if status in ("success", "xfail"):
            st = "pass"
        elif status == "skip":
            st = "skip"
        elif status in ("fail", "uxsuccess"):
            st = "fail"
        else:
            continue          # 'exists', 'inprogress'
        norm[strip_attrs(tid)] = (st, reason, dur, tid)
    return norm


def compare(norm, exp_pass, exp_fail, exp_skip):
    regressions, new_pass, unlisted_skip, fixed = [], [], [], []
    for tid, (st, reason, _, _) in sorted(norm.items()):
        if st == "pass":
            if tid not in exp_pass:
                new_pass.append(tid)
                if tid in exp_fail:
                    fixed.append(tid)
        elif st == "fail":
            if tid in exp_pass or tid not in exp_fail:
                regressions.append((tid, reason))
        elif st == "skip":
            if tid in exp_pass:
                regressions.append((tid, "skipped but expected to pass: " + reason))
            elif tid not in exp_skip and tid not in exp_fail:
                unlisted_skip.append((tid, reason))
    missing = [t for t in sorted(exp_pass) if t not in norm]
    return regressions, new_pass, unlisted_skip, fixed, missing


def write_doc(path, norm, selection, elapsed, exp_fail, notes_path):
    per = collections.OrderedDict()
    for tid, (st, _, _, _) in sorted(norm.items()):
        c = per.setdefault(module_of(tid), collections.Counter())
        c[st] += 1
    tot = collections.Counter()
    for c in per.values():
        tot.update(c)
    lines = []
    lines.append("# Conformance: Tempest against novalite\n")
    lines.append("Generated by `make conformance` (tests/tempest/gate.py --selection wide); "
                 "do not edit the tables by hand. Tempest: Debian python3-tempest 33.0.0. "
                 "Run on %s, %.0f s wall time, concurrency 2, fake hypervisor.\n"
                 % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), elapsed))
    lines.append("Selection: `%s`.\n" % "`, `".join(selection))
    lines.append("**Total: %d passed, %d failed, %d skipped.**\n"
                 % (tot["pass"], tot["fail"], tot["skip"]))
    lines.append("| module | passed | failed | skipped |")
    lines.append("|---|---:|---:|---:|")
    for mod, c in sorted(per.items()):
        lines.append("| `%s` | %d | %d | %d |" % (mod, c["pass"], c["fail"], c["skip"]))
    lines.append("")
    fails = [(t, v) for t, v in sorted(norm.items()) if v[0] == "fail"]
    lines.append("## Failures in this run\n")
    if not fails:
        lines.append("None.\n")
    else:
        lines.append("Reason: the line from tests/tempest/expected-fail.txt when the test is "
                     "listed there, else the last line of Tempest's traceback.\n")
        for t, v in fails:
            why = exp_fail.get(t) or v[1]
            lines.append("- `%s` — %s" % (t, why.replace("|", "\\|")))
        lines.append("")
    if notes_path.exists():
        lines.append(notes_path.read_text())
    Path(path).write_text("\n".join(lines))


REQ_RE = re.compile(r"Request \((\w+):(\w+)\): (\d+) (\w+) (\S+)")
UUID_RE = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def failing_requests(log_path):
    """{(Class, test): 'METHOD /path -> status'} of each test's last 4xx/5xx request."""
    out = {}
    try:
        f = open(log_path, errors="replace")
    except OSError:
        return out
    with f:
        for line in f:
            m = REQ_RE.search(line)
            if m and int(m.group(3)) >= 400:
                path = re.sub(r"^https?://[^/]+", "", m.group(5))
                path = UUID_RE.sub("{id}", path)
                out[(m.group(1), m.group(2))] = "%s %s -> %s" % (
                    m.group(4), path, m.group(3))
    return out


def write_lists(norm, exp_pass, exp_fail, exp_skip, log_path=None):
    """Fold this run into the three lists; reasons already written are kept."""
    reqs = failing_requests(log_path) if log_path else {}
    for tid, (st, reason, _, _) in norm.items():
        reason = " ".join(reason.split())[:160]
        if st == "fail":
            parts = tid.split(".")
            req = reqs.get((parts[-2], parts[-1])) if len(parts) > 2 else None
            if req:
                reason = "%s: %s" % (req, reason)
        for d in (exp_pass, exp_fail, exp_skip):
            if st != {id(exp_pass): "pass", id(exp_fail): "fail",
                      id(exp_skip): "skip"}[id(d)]:
                d.pop(tid, None)
        if st == "pass":
            exp_pass[tid] = ""
        elif st == "fail":
            exp_fail.setdefault(tid, "unclassified: " + reason)
        elif st == "skip":
            exp_skip.setdefault(tid, reason or "skipped by Tempest")
    heads = {
        "expected-pass.txt": "# Tempest 33 tests that pass against novalite. A test here that "
                             "does not pass fails the gate.\n",
        "expected-fail.txt": "# Tempest 33 tests that fail against novalite, each with why "
                             "(a novalite bug or gap, or a Tempest assumption).\n",
        "expected-skip.txt": "# Tempest 33 tests Tempest skips with this configuration, "
                             "with Tempest's reason.\n",
    }
    for name, d in (("expected-pass.txt", exp_pass), ("expected-fail.txt", exp_fail),
                    ("expected-skip.txt", exp_skip)):
        body = "".join((t + ("  # " + d[t] if d[t] else "") + "\n") for t in sorted(d))
        (HERE / name).write_text(heads[name] + body)


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selection", choices=["gate", "wide"], default="gate")
    ap.add_argument("--regex", action="append",
                    help="run these regexes instead of the selection file (no gate)")
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.OPT=VALUE",
                    help="override a tempest.conf option (experiments; not for the gate)")
    ap.add_argument("--workdir", help="keep everything here (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--doc", help="write per-module counts to this markdown file")
    ap.add_argument("--no-compare", action="store_true",
                    help="report counts only (exit 0 unless Tempest could not run)")
    ap.add_argument("--write-lists", action="store_true",
                    help="rewrite expected-pass.txt from this run (keeps the others)")
    args = ap.parse_args()

    t0 = time.monotonic()
    if args.regex:
        selection = args.regex
    else:
        selection = [ln.split("#")[0].strip() for ln in
                     (HERE / ("%s-selection.txt" % args.selection)).read_text().splitlines()
                     if ln.split("#")[0].strip()]
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                "all_proxy", "ALL_PROXY"):
        os.environ.pop(var, None)
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"

    if args.workdir:
        top = Path(args.workdir).resolve()
        top.mkdir(parents=True, exist_ok=True)
    else:
        top = Path(tempfile.mkdtemp(prefix="novalite-tempest-"))
    ws = top / "workspace"
    d = Daemon(top / "state")
    if not d.bin.exists():
        log("%s missing: run `make all` first" % d.bin)
        return 2
    rc = 2
    try:
        d.start()
        d.wait_ready(timeout=30)
        log("novalite-api pid %d: identity :%d compute :%d image :%d (state %s)"
            % (d.proc.pid, d.identity_port, d.compute_port, d.image_port, d.state_dir))
        cloud = Cloud(d)
        make_qcow2(top / "tiny.qcow2")
        img1 = cloud.upload_image("tempest-image", top / "tiny.qcow2", "qcow2")
        img2 = cloud.upload_image("tempest-image-alt", top / "tiny.qcow2", "qcow2")
        flavors = cloud.flavor_ids()

        if ws.exists():
            shutil.rmtree(ws)
        # What `tempest init` writes, without registering the workspace in
        # ~/.tempest/workspace.yaml (a re-used path would make init fail).
        (ws / "etc").mkdir(parents=True)
        (ws / ".stestr.conf").write_text(
            "[DEFAULT]\ntest_path=%s/test_discover\ntop_dir=%s\n"
            "group_regex=([^\\.]*\\.)*\n" % (TEMPEST_DIR, TEMPEST_DIR))
        (ws / "lock").mkdir(exist_ok=True)
        (ws / "etc" / "tempest.conf").write_text(
            tempest_conf(d, cloud, ws, img1, img2, flavors, args.concurrency,
                         args.set))
        inc = ws / "include-list.txt"
        inc.write_text("\n".join(selection) + "\n")
        log("running tempest on %d regex(es), concurrency %d (log: %s)"
            % (len(selection), args.concurrency, ws / "tempest.log"))
        subunit_path = top / "results.subunit"
        t1 = time.monotonic()
        with open(subunit_path, "wb") as out, open(top / "tempest-run.err", "wb") as err:
            p = subprocess.run([TEMPEST, "run", "--include-list", str(inc),
                                "--concurrency", str(args.concurrency), "--subunit",
                                "--config-file", str(ws / "etc" / "tempest.conf")],
                               cwd=str(ws), stdout=out, stderr=err, timeout=3600)
        log("tempest run exited %d after %.0f s" % (p.returncode, time.monotonic() - t1))
        results = parse_subunit(subunit_path)
        norm = summarise(results)
        if not norm:
            log("no test results; output of tempest run:\n"
                + (top / "tempest-run.err").read_text(errors="replace")[-4000:]
                + subunit_path.read_bytes()[-4000:].decode(errors="replace"))
            return 2
        elapsed = time.monotonic() - t0

        exp_pass = read_list(HERE / "expected-pass.txt")
        exp_fail = read_list(HERE / "expected-fail.txt")
        exp_skip = read_list(HERE / "expected-skip.txt")
        npass = sum(1 for v in norm.values() if v[0] == "pass")
        nfail = sum(1 for v in norm.values() if v[0] == "fail")
        nskip = sum(1 for v in norm.values() if v[0] == "skip")

        if args.doc:
            write_doc(args.doc, norm, selection, elapsed, exp_fail,
                      HERE / "conformance-notes.md")
            log("wrote %s" % args.doc)
        if args.write_lists:
            write_lists(norm, exp_pass, exp_fail, exp_skip, ws / "tempest.log")
        with open(top / "results.json", "w") as f:
            json.dump({t: v[:3] for t, v in norm.items()}, f, indent=1)

        if args.regex or args.no_compare:
            for tid, (st, reason, _, _) in sorted(norm.items()):
                if st != "pass":
                    print("%s %s  # %s" % (st.upper(), tid, reason))
            rc = 0
        else:
            regressions, new_pass, unlisted_skip, fixed, missing = compare(
                norm, exp_pass, exp_fail, exp_skip)
            # Only what this selection ran is judged: the wide run's lists are shared.
            for tid, reason in regressions:
                print("REGRESSION %s  # %s" % (tid, reason))
            for tid in new_pass:
                print("NEW-PASS %s%s  # add to tests/tempest/expected-pass.txt" % (
                    tid, " (listed in expected-fail.txt: remove it there)"
                    if tid in fixed else ""))
            for tid, reason in unlisted_skip:
                print("UNLISTED-SKIP %s  # %s" % (tid, reason))
            if args.selection == "gate":
                gate_missing = [t for t in missing if any(
                    re.search(rx, t) for rx in selection)]
                for tid in gate_missing:
                    print("MISSING %s  # on expected-pass.txt, not run" % tid)
                    regressions.append((tid, "not run"))
            log("%d regression(s), %d new pass(es), %d unlisted skip(s)"
                % (len(regressions), len(new_pass), len(unlisted_skip)))
            rc = 1 if regressions else 0
        log("results: %s (%.0f s in all)" % (top / "results.json", elapsed))
        print("tempest: %d passed, %d failed, %d skipped" % (npass, nfail, nskip))
        return rc
    finally:
        code = d.stop()
        if code not in (0,):
            log("novalite-api exit status on SIGTERM: %s\n%s" % (code, d.stderr_text(3000)))
        if not args.workdir and not args.keep and rc in (0,):
            shutil.rmtree(top, ignore_errors=True)
        elif not args.workdir:
            log("kept %s" % top)


if __name__ == "__main__":
    sys.exit(main())
