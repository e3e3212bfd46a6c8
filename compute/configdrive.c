/* Builds the config drive ISO (see configdrive.h).
 *
 * The tree is what Nova's ConfigDriveBuilder writes from InstanceMetadata.
 * metadata_for_config_drive(): for every OpenStack metadata version and "latest", the
 * files that version has (vendor_data.json from 2013-10-17, network_data.json from
 * 2015-10-15, vendor_data2.json from 2016-10-06) and the meta_data.json keys it has
 * (random_seed from 2013-04-04, project_id from 2015-10-15, devices from 2016-06-30,
 * dedicated_cpus from 2020-10-14). Files whose bytes are the same in every version are
 * written once under latest/ and hard-linked; genisoimage stores hard links once. Nova's
 * EC2-style ec2/ tree is left out: cloud-init's ConfigDrive source does not need it.
 *
 * genisoimage runs through compute/proc.c (no shell, a time limit) with Nova's arguments.
 * Everything happens in a private directory next to iso_path, which is always removed;
 * the ISO appears at iso_path only when it is complete (rename within one file system).
 * No libvirt, no HTTP here. */
#include "compute/configdrive.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>
#include <uuid/uuid.h>

#include "common/log.h"
#include "compute/proc.h"

#define GENISOIMAGE "genisoimage"
/* Enough of genisoimage's stderr for the error message; it says what went wrong first. */
#define TOOL_STDERR_MAX 1024
#define TOOL_TIMEOUT_MS 60000     /* genisoimage takes ~10 ms; a hung one must not hold the agent */
/* nova/api/metadata/base.py: the random_seed is 512 random bytes, base64. */
#define RANDOM_SEED_BYTES 512

/* nova/api/metadata/base.py OPENSTACK_VERSIONS, oldest first, then "latest" (which is
 * the newest: VICTORIA). The enum names the versions whose content changed. */
enum md_version {
	MD_FOLSOM, MD_GRIZZLY, MD_HAVANA, MD_LIBERTY, MD_NEWTON_ONE, MD_NEWTON_TWO, MD_OCATA,
	MD_ROCKY, MD_VICTORIA, MD_LATEST, MD_NVERSIONS
};
static const char *const md_version_names[MD_NVERSIONS] = {
	"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06",
	"2017-02-22", "2018-08-27", "2020-10-14", "latest",
};

/* ---- files ---------------------------------------------------------------------------------- */

/* Writes len bytes to a new file at path. 0, or -1 with err. */
static int write_file(const char *path, const void *data, size_t len, struct nl_error *err)
{
	const unsigned char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			errno = saved;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == 0)
		return 0;
fail:
	nl_err_set(err, 500, "Building the config drive failed: writing %s: %s.", path, strerror(errno));
	return -1;
}

/* Nova's jsonutils.dump_as_bytes is json.dumps: ", " and ": " separators, non-ASCII
 * escaped as \u00fc. jansson without JSON_COMPACT writes the same separators, in
 * insertion order, but upper-case escapes (\u00FC): lowered here, so the bytes match. */
static int write_json(const char *path, json_t *j, struct nl_error *err)
{
	char *text = json_dumps(j, JSON_ENSURE_ASCII);
	if (!text)
		abort();
	for (char *p = text; *p; p++) {
		if (*p != '\\')
			continue;
		if (p[1] == 'u')
			for (int i = 2; i < 6 && p[i]; i++)
				p[i] = (char)tolower((unsigned char)p[i]);
		if (p[1])
			p++;    /* skip the escaped character (a backslash is written as two) */
	}
	int rc = write_file(path, text, strlen(text), err);
	free(text);
	return rc;
}

/* root/openstack/<version>/name: the path of one metadata file. */
static void md_path(char *out, size_t len, const char *root, enum md_version v, const char *name)
{
	snprintf(out, len, "%s/openstack/%s/%s", root, md_version_names[v], name);
}

/* Hard-links root/openstack/latest/name into version v's folder. */
static int link_from_latest(const char *root, enum md_version v, const char *name, struct nl_error *err)
{
	char from[PATH_MAX], to[PATH_MAX];
	md_path(from, sizeof(from), root, MD_LATEST, name);
	md_path(to, sizeof(to), root, v, name);
	if (link(from, to) == 0)
		return 0;
	nl_err_set(err, 500, "Building the config drive failed: linking %s: %s.", to, strerror(errno));
	return -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) != 0)
		log_warn("Removing %s failed: %s.", path, strerror(errno));
	return 0;   /* keep going: remove as much as possible */
}

/* Removes the build directory and everything in it, without following symlinks. */
static void remove_tree(const char *dir)
{
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		log_warn("Removing the config drive build directory %s failed: %s.", dir, strerror(errno));
}

/* ---- content -------------------------------------------------------------------------------- */

static bool present(const char *s)
{
	return s && *s;
}

/* A stable UUID for what Nova gets from Neutron and novalite does not have: name-based
 * (SHA-1, RFC 4122 version 5) in the given namespace, so every rebuild of the drive
 * says the same thing. */
static void uuid_v5(const uuid_t ns, const char *name, char out[37])
{
	uuid_t u;
	uuid_generate_sha1(u, ns, name, strlen(name));
	uuid_unparse_lower(u, out);
}

/* The port id Neutron would have given the instance's one port: derived from the
 * instance uuid and the MAC. */
static void port_id_of(const struct configdrive *cd, char out[37])
{
	uuid_t ns;
	if (uuid_parse(cd->uuid, ns) != 0)
		memcpy(ns, *uuid_get_template("oid"), sizeof(uuid_t));
	uuid_v5(ns, cd->mac, out);
}

/* The id of the one synthetic "private" network the API shows in server addresses. */
static void network_id_of(char out[37])
{
	uuid_v5(*uuid_get_template("url"), "novalite:network:private", out);
}

/* meta_data.json for version v, following InstanceMetadata._metadata_as_json. */
static json_t *meta_data_json(const struct configdrive *cd, enum md_version v)
{
	json_t *md = json_object();
	json_object_set_new(md, "uuid", json_string(cd->uuid));
	/* Nova leaves "meta" out when the server has no metadata. */
	if (cd->meta && json_object_size(cd->meta) > 0)
		json_object_set(md, "meta", cd->meta);
	if (present(cd->key_name) && present(cd->key_data)) {
		json_object_set_new(md, "public_keys", json_pack("{s:s}", cd->key_name, cd->key_data));
		json_object_set_new(md, "keys", json_pack("[{s:s, s:s, s:s}]", "name", cd->key_name,
							   "type", "ssh", "data", cd->key_data));
	}
	if (present(cd->hostname))
		json_object_set_new(md, "hostname", json_string(cd->hostname));
	if (present(cd->name))
		json_object_set_new(md, "name", json_string(cd->name));
	json_object_set_new(md, "launch_index", json_integer(cd->launch_index));
	if (present(cd->availability_zone))
		json_object_set_new(md, "availability_zone", json_string(cd->availability_zone));
	if (v >= MD_GRIZZLY) {
		/* cloud-init feeds this to the guest's entropy pool at first boot. */
		unsigned char seed[RANDOM_SEED_BYTES];
		char b64[sodium_base64_ENCODED_LEN(RANDOM_SEED_BYTES, sodium_base64_VARIANT_ORIGINAL)];
		randombytes_buf(seed, sizeof(seed));
		sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(md, "random_seed", json_string(b64));
	}
	if (v >= MD_LIBERTY && present(cd->project_id))
		json_object_set_new(md, "project_id", json_string(cd->project_id));
	if (v >= MD_NEWTON_ONE)
		json_object_set_new(md, "devices", json_array());       /* no device tags */
	if (v >= MD_VICTORIA)
		json_object_set_new(md, "dedicated_cpus", json_array()); /* no CPU pinning */
	return md;
}

/* dotted-quad netmask of an IPv4 prefix length (0..32). */
static void netmask_of(int prefix, char *out, size_t len)
{
	unsigned long m = prefix <= 0 ? 0 : (0xFFFFFFFFUL << (32 - prefix)) & 0xFFFFFFFFUL;
	snprintf(out, len, "%lu.%lu.%lu.%lu", (m >> 24) & 255, (m >> 16) & 255, (m >> 8) & 255, m & 255);
}

/* network_data.json, following nova/virt/netutils.py get_network_metadata for one port
 * on one IPv4 subnet with a static address. Without a port Nova writes "{}". */
static json_t *network_data_json(const struct configdrive *cd)
{
	char port_id[37], network_id[37], link_id[16], netmask[16];

	if (!present(cd->mac) || !present(cd->fixed_ip))
		return json_object();
	port_id_of(cd, port_id);
	network_id_of(network_id);
	/* Neutron's devname: "tap" + the port id, cut to NIC_NAME_LEN (14). */
	snprintf(link_id, sizeof(link_id), "tap%.11s", port_id);
	netmask_of(cd->prefix, netmask, sizeof(netmask));

	json_t *routes = json_array();
	if (present(cd->gateway))
		json_array_append_new(routes, json_pack("{s:s, s:s, s:s}", "network", "0.0.0.0",
							"netmask", "0.0.0.0", "gateway", cd->gateway));
	json_t *services = json_array();
	if (present(cd->dns))
		json_array_append_new(services, json_pack("{s:s, s:s}", "type", "dns", "address", cd->dns));
	/* "phy": what Nova says for a VIF type it does not expose; mtu null: Neutron's
	 * subnet has a DHCP server, so the MTU comes from DHCP. */
	return json_pack("{s:[{s:s, s:s, s:s, s:n, s:s}], s:[{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:O}], s:o}",
			 "links", "id", link_id, "vif_id", port_id, "type", "phy", "mtu",
			 "ethernet_mac_address", cd->mac,
			 "networks", "id", "network0", "type", "ipv4", "link", link_id,
			 "ip_address", cd->fixed_ip, "netmask", netmask, "routes", routes,
			 "network_id", network_id, "services", services,
			 "services", services);
}

/* Writes root/openstack/<version>/... for every version. */
static int write_tree(const struct configdrive *cd, const char *root, struct nl_error *err)
{
	char path[PATH_MAX];
	int rc = -1;
	json_t *net = NULL, *vd = NULL, *vd2 = NULL;

	snprintf(path, sizeof(path), "%s/openstack", root);
	if (mkdir(path, 0755) != 0)
		goto mkdir_fail;
	for (int v = 0; v < MD_NVERSIONS; v++) {
		snprintf(path, sizeof(path), "%s/openstack/%s", root, md_version_names[v]);
		if (mkdir(path, 0755) != 0)
			goto mkdir_fail;
	}

	/* Content shared by all versions that have the file: written under latest/. */
	net = network_data_json(cd);
	vd = json_object();                          /* StaticJSON without a vendordata file */
	vd2 = json_pack("{s:{}}", "static");         /* the StaticJSON provider's section */
	md_path(path, sizeof(path), root, MD_LATEST, "network_data.json");
	if (write_json(path, net, err))
		goto out;
	md_path(path, sizeof(path), root, MD_LATEST, "vendor_data.json");
	if (write_json(path, vd, err))
		goto out;
	md_path(path, sizeof(path), root, MD_LATEST, "vendor_data2.json");
	if (write_json(path, vd2, err))
		goto out;
	if (cd->user_data) {
		md_path(path, sizeof(path), root, MD_LATEST, "user_data");
		if (write_file(path, cd->user_data, cd->user_data_len, err))
			goto out;
	}

	for (int v = 0; v < MD_NVERSIONS; v++) {
		json_t *md = meta_data_json(cd, v);
		md_path(path, sizeof(path), root, v, "meta_data.json");
		int wrc = write_json(path, md, err);
		json_decref(md);
		if (wrc)
			goto out;
		if (v == MD_LATEST)
			continue;
		if (cd->user_data && link_from_latest(root, v, "user_data", err))
			goto out;
		if (v >= MD_HAVANA && link_from_latest(root, v, "vendor_data.json", err))
			goto out;
		if (v >= MD_LIBERTY && link_from_latest(root, v, "network_data.json", err))
			goto out;
		if (v >= MD_NEWTON_TWO && link_from_latest(root, v, "vendor_data2.json", err))
			goto out;
	}
	rc = 0;
	goto out;
mkdir_fail:
	nl_err_set(err, 500, "Building the config drive failed: creating %s: %s.", path, strerror(errno));
out:
	json_decref(net);
	json_decref(vd);
	json_decref(vd2);
	return rc;
}

/* ---- genisoimage ---------------------------------------------------------------------------- */

/* The first line of a tool's stderr, without the trailing newline. */
static void first_line(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

/* Runs argv[0] (looked up in PATH), output captured for the message. 0 when it exits
 * with status 0; -1 with err otherwise. */
static int run_tool(char *const argv[], struct nl_error *err)
{
	char text[TOOL_STDERR_MAX];
	struct proc_result res;

	if (proc_exec((const char *const *)argv, -1, text, sizeof(text), TOOL_TIMEOUT_MS, &res) < 0) {
		nl_err_set(err, 500, "Building the config drive failed: cannot start %s: %s.", argv[0],
			   strerror(errno));
		return -1;
	}
	first_line(text);
	if (res.exec_errno) {
		nl_err_set(err, 500, "Building the config drive failed: %s could not be run (%s); is the "
			   "genisoimage package installed?", argv[0], strerror(res.exec_errno));
		return -1;
	}
	if (res.timed_out) {
		nl_err_set(err, 500, "Building the config drive failed: %s did not finish within %d s.", argv[0],
			   TOOL_TIMEOUT_MS / 1000);
		return -1;
	}
	if (WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0)
		return 0;
	if (WIFSIGNALED(res.status))
		nl_err_set(err, 500, "Building the config drive failed: %s was killed by signal %d%s%s.",
			   argv[0], WTERMSIG(res.status), text[0] ? ": " : "", text);
	else
		nl_err_set(err, 500, "Building the config drive failed: %s exited with status %d%s%s.",
			   argv[0], WEXITSTATUS(res.status), text[0] ? ": " : "", text);
	return -1;
}

/* ---- build ---------------------------------------------------------------------------------- */

int configdrive_build(const struct configdrive *cd, const char *iso_path, struct nl_error *err)
{
	char tmp[PATH_MAX], root[PATH_MAX], iso_tmp[PATH_MAX];
	const char *slash;
	int n, rc = -1;

	if (!present(cd->uuid)) {
		nl_err_set(err, 500, "Building the config drive failed: the instance has no uuid.");
		return -1;
	}
	if (present(cd->fixed_ip) && (cd->prefix < 0 || cd->prefix > 32)) {
		nl_err_set(err, 500, "Building the config drive failed: the network prefix %d is not "
			   "between 0 and 32.", cd->prefix);
		return -1;
	}
	/* The build directory sits next to the ISO so the final rename stays on one file
	 * system; its name starts with a dot so directory listings skip it. */
	slash = strrchr(iso_path, '/');
	if (!slash)
		n = snprintf(tmp, sizeof(tmp), ".configdrive-XXXXXX");
	else
		n = snprintf(tmp, sizeof(tmp), "%.*s/.configdrive-XXXXXX", (int)(slash - iso_path), iso_path);
	if (n < 0 || (size_t)n >= sizeof(tmp) - 64) {
		nl_err_set(err, 500, "Building the config drive failed: the path %s is too long.", iso_path);
		return -1;
	}
	if (!mkdtemp(tmp)) {
		nl_err_set(err, 500, "Building the config drive failed: creating a directory next to %s: %s.",
			   iso_path, strerror(errno));
		return -1;
	}
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(iso_tmp, sizeof(iso_tmp), "%s/config.iso", tmp);
	if (mkdir(root, 0755) != 0) {
		nl_err_set(err, 500, "Building the config drive failed: creating %s: %s.", root, strerror(errno));
		goto out;
	}
	if (write_tree(cd, root, err))
		goto out;

	/* nova/virt/configdrive.py _make_iso9660, publisher aside. */
	char *const argv[] = {
		GENISOIMAGE, "-o", iso_tmp, "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
		"-publisher", "novalite", "-quiet", "-J", "-r", "-V", "config-2", root, NULL,
	};
	if (run_tool(argv, err))
		goto out;
	if (rename(iso_tmp, iso_path) != 0) {
		nl_err_set(err, 500, "Building the config drive failed: renaming it to %s: %s.", iso_path,
			   strerror(errno));
		goto out;
	}
	rc = 0;
out:
	remove_tree(tmp);
	return rc;
}
