/* compute/configdrive.c: the ISO is really built by genisoimage and read back with
 * isoinfo (both from Debian's genisoimage package), so the test sees what a guest's
 * cloud-init would: the volume label, every version folder Nova writes, and the JSON of
 * each file (parsed with jansson). Also: a drive without user data or network, a missing
 * genisoimage, an unwritable destination. Skipped, saying why, when genisoimage or
 * isoinfo is not installed. Each test works in its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>

#include "compute/configdrive.h"

struct fixture {
	char dir[512];
	char iso[600];
};

static const char *const dated[] = {
	"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06",
	"2017-02-22", "2018-08-27", "2020-10-14",
};
#define NDATED (sizeof(dated) / sizeof(dated[0]))

/* Whether prog is an executable in PATH. */
static int in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (n && access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

static int tools_missing(void)
{
	if (!in_path("genisoimage") || !in_path("isoinfo")) {
		print_message("SKIP: genisoimage/isoinfo not installed (apt-get install genisoimage)\n");
		return 1;
	}
	return 0;
}

/* Runs argv, returns its stdout (malloc'd, *len bytes, NUL-terminated); fails the test
 * when it does not exit 0. */
static char *run_capture(char *const argv[], size_t *len)
{
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(out[1], STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		close(out[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while ((n = read(out[0], buf + used, cap - used - 1)) > 0) {
		used += (size_t)n;
		if (cap - used < 2)
			buf = realloc(buf, cap *= 2);
	}
	close(out[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s failed (status %d)", argv[0], status);
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
}

/* A file of the ISO, by its Rock Ridge path. */
static char *iso_file(const char *iso, const char *path, size_t *len)
{
	char *const argv[] = { "isoinfo", "-R", "-i", (char *)iso, "-x", (char *)path, NULL };
	return run_capture(argv, len);
}

static json_t *iso_json(const char *iso, const char *path)
{
	json_error_t jerr;
	char *text = iso_file(iso, path, NULL);
	json_t *j = json_loads(text, 0, &jerr);
	if (!j)
		fail_msg("%s is not JSON (%s): %s", path, jerr.text, text);
	free(text);
	return j;
}

/* "isoinfo -R -f": one path per line. */
static char *iso_listing(const char *iso)
{
	char *const argv[] = { "isoinfo", "-R", "-f", "-i", (char *)iso, NULL };
	return run_capture(argv, NULL);
}

static int listed(const char *listing, const char *path)
{
	size_t n = strlen(path);
	for (const char *p = listing; (p = strstr(p, path)); p += n)
		if ((p == listing || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/* The entries of the fixture's directory other than the ISO (a leftover build dir). */
static int stray_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "disk.config"))
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "%s/nl-test-cd-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->iso, sizeof(fx->iso), "%s/disk.config", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	unlink(fx->iso);
	assert_int_equal(rmdir(fx->dir), 0);   /* nothing else may be left behind */
	free(fx);
	return 0;
}

static const unsigned char user_data[] = "#!/bin/sh\necho 'hello from user data'\n\0\xff binary tail";

static struct configdrive full_drive(json_t *meta)
{
	struct configdrive cd = {
		.uuid = "6f1c2a3e-0000-4000-8000-000000000007",
		.name = "web server <1> & \"friends\" — ünïcode",
		.hostname = "web-1",
		.availability_zone = "nova",
		.project_id = "6b1a3e5c0d2f4a8b9c7d6e5f4a3b2c1d",
		.launch_index = 2,
		.key_name = "mykey",
		.key_data = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBv0m3E1zGv8k1t8nTQ0lJ7b9Q5K4n0p3oXQ2f1mZbqD test@host",
		.meta = meta,
		.user_data = user_data,
		.user_data_len = sizeof(user_data) - 1,
		.mac = "fa:16:3e:12:34:56",
		.fixed_ip = "10.0.3.7",
		.prefix = 16,
		.gateway = "10.0.0.1",
		.dns = "10.0.0.1",
	};
	return cd;
}

static double since_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void check_meta_latest(json_t *md, const struct configdrive *cd)
{
	assert_string_equal(json_string_value(json_object_get(md, "uuid")), cd->uuid);
	assert_string_equal(json_string_value(json_object_get(md, "name")), cd->name);
	assert_string_equal(json_string_value(json_object_get(md, "hostname")), "web-1");
	assert_string_equal(json_string_value(json_object_get(md, "availability_zone")), "nova");
	assert_string_equal(json_string_value(json_object_get(md, "project_id")), cd->project_id);
	assert_int_equal(json_integer_value(json_object_get(md, "launch_index")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "meta"), "role")), "web");
	assert_string_equal(json_string_value(json_object_get(json_object_get(md, "public_keys"), "mykey")),
			    cd->key_data);
	json_t *keys = json_object_get(md, "keys");
	assert_int_equal(json_array_size(keys), 1);
	json_t *k = json_array_get(keys, 0);
	assert_string_equal(json_string_value(json_object_get(k, "name")), "mykey");
	assert_string_equal(json_string_value(json_object_get(k, "type")), "ssh");
	assert_string_equal(json_string_value(json_object_get(k, "data")), cd->key_data);
	assert_true(json_is_array(json_object_get(md, "devices")));
	assert_int_equal(json_array_size(json_object_get(md, "devices")), 0);
	assert_true(json_is_array(json_object_get(md, "dedicated_cpus")));
	/* 512 random bytes, base64 */
	const char *seed = json_string_value(json_object_get(md, "random_seed"));
	assert_non_null(seed);
	unsigned char bin[600];
	size_t bin_len = 0;
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), seed, strlen(seed), NULL, &bin_len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(bin_len, 512);
}

static void test_full_drive(void **state)
{
	struct fixture *fx = *state;
	struct nl_error err = { 0 };
	struct timespec t0;
	char path[128];

	if (tools_missing()) {
		skip();
		return;
	}
	json_t *meta = json_pack("{s:s, s:s}", "role", "web", "tier", "front");
	struct configdrive cd = full_drive(meta);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (configdrive_build(&cd, fx->iso, &err) != 0)
		fail_msg("configdrive_build failed: %s", err.msg);
	print_message("config drive built in %.1f ms\n", since_ms(&t0));
	assert_int_equal(stray_entries(fx->dir), 0);

	/* The label cloud-init looks for. */
	char *const info_argv[] = { "isoinfo", "-d", "-i", fx->iso, NULL };
	char *info = run_capture(info_argv, NULL);
	assert_non_null(strstr(info, "Volume id: config-2\n"));
	assert_non_null(strstr(info, "Publisher id: novalite"));
	free(info);

	/* Every version folder with the files Nova writes for it. */
	char *ls = iso_listing(fx->iso);
	for (size_t v = 0; v <= NDATED; v++) {
		const char *ver = v < NDATED ? dated[v] : "latest";
		snprintf(path, sizeof(path), "/openstack/%s/meta_data.json", ver);
		assert_true(listed(ls, path));
		snprintf(path, sizeof(path), "/openstack/%s/user_data", ver);
		assert_true(listed(ls, path));
		snprintf(path, sizeof(path), "/openstack/%s/vendor_data.json", ver);
		assert_int_equal(listed(ls, path), v >= 2);           /* from 2013-10-17 */
		snprintf(path, sizeof(path), "/openstack/%s/network_data.json", ver);
		assert_int_equal(listed(ls, path), v >= 3);           /* from 2015-10-15 */
		snprintf(path, sizeof(path), "/openstack/%s/vendor_data2.json", ver);
		assert_int_equal(listed(ls, path), v >= 5);           /* from 2016-10-06 */
	}
	free(ls);

	json_t *md = iso_json(fx->iso, "/openstack/latest/meta_data.json");
	check_meta_latest(md, &cd);
	json_decref(md);
	md = iso_json(fx->iso, "/openstack/2020-10-14/meta_data.json");
	check_meta_latest(md, &cd);
	json_decref(md);
	/* Older versions lack what was added later. */
	md = iso_json(fx->iso, "/openstack/2012-08-10/meta_data.json");
	assert_string_equal(json_string_value(json_object_get(md, "uuid")), cd.uuid);
	assert_null(json_object_get(md, "random_seed"));
	assert_null(json_object_get(md, "project_id"));
	assert_null(json_object_get(md, "devices"));
	json_decref(md);
	md = iso_json(fx->iso, "/openstack/2015-10-15/meta_data.json");
	assert_non_null(json_object_get(md, "random_seed"));
	assert_non_null(json_object_get(md, "project_id"));
	assert_null(json_object_get(md, "devices"));
	json_decref(md);
	md = iso_json(fx->iso, "/openstack/2018-08-27/meta_data.json");
	assert_non_null(json_object_get(md, "devices"));
	assert_null(json_object_get(md, "dedicated_cpus"));
	json_decref(md);

	/* Nova's json.dumps style: ", " and ": ", non-ASCII escaped. */
	char *raw = iso_file(fx->iso, "/openstack/latest/meta_data.json", NULL);
	assert_true(!strncmp(raw, "{\"uuid\": \"6f1c2a3e-", 18));
	assert_non_null(strstr(raw, "\\u00fc"));
	for (const char *p = raw; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	free(raw);

	json_t *nd = iso_json(fx->iso, "/openstack/latest/network_data.json");
	json_t *link = json_array_get(json_object_get(nd, "links"), 0);
	const char *vif_id = json_string_value(json_object_get(link, "vif_id"));
	assert_non_null(vif_id);
	assert_int_equal(strlen(vif_id), 36);
	char tap[16];
	snprintf(tap, sizeof(tap), "tap%.11s", vif_id);
	assert_string_equal(json_string_value(json_object_get(link, "id")), tap);
	assert_string_equal(json_string_value(json_object_get(link, "type")), "phy");
	assert_string_equal(json_string_value(json_object_get(link, "ethernet_mac_address")), cd.mac);
	assert_true(json_is_null(json_object_get(link, "mtu")));
	json_t *net = json_array_get(json_object_get(nd, "networks"), 0);
	assert_string_equal(json_string_value(json_object_get(net, "id")), "network0");
	assert_string_equal(json_string_value(json_object_get(net, "type")), "ipv4");
	assert_string_equal(json_string_value(json_object_get(net, "link")), tap);
	assert_string_equal(json_string_value(json_object_get(net, "ip_address")), "10.0.3.7");
	assert_string_equal(json_string_value(json_object_get(net, "netmask")), "255.255.0.0");
	assert_int_equal(strlen(json_string_value(json_object_get(net, "network_id"))), 36);
	json_t *route = json_array_get(json_object_get(net, "routes"), 0);
	assert_string_equal(json_string_value(json_object_get(route, "network")), "0.0.0.0");
	assert_string_equal(json_string_value(json_object_get(route, "netmask")), "0.0.0.0");
	assert_string_equal(json_string_value(json_object_get(route, "gateway")), "10.0.0.1");
	json_t *svc = json_array_get(json_object_get(nd, "services"), 0);
	assert_string_equal(json_string_value(json_object_get(svc, "type")), "dns");
	assert_string_equal(json_string_value(json_object_get(svc, "address")), "10.0.0.1");
	char *vif_first = strdup(vif_id);
	json_decref(nd);

	json_t *vd = iso_json(fx->iso, "/openstack/latest/vendor_data.json");
	assert_int_equal(json_object_size(vd), 0);
	json_decref(vd);
	vd = iso_json(fx->iso, "/openstack/2016-10-06/vendor_data2.json");
	assert_non_null(json_object_get(vd, "static"));
	json_decref(vd);

	size_t ud_len = 0;
	char *ud = iso_file(fx->iso, "/openstack/2012-08-10/user_data", &ud_len);
	assert_int_equal(ud_len, sizeof(user_data) - 1);
	assert_memory_equal(ud, user_data, ud_len);
	free(ud);

	/* Building again replaces the ISO; the derived port id is stable. */
	if (configdrive_build(&cd, fx->iso, &err) != 0)
		fail_msg("second configdrive_build failed: %s", err.msg);
	nd = iso_json(fx->iso, "/openstack/latest/network_data.json");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(nd, "links"), 0),
							       "vif_id")), vif_first);
	json_decref(nd);
	free(vif_first);
	assert_int_equal(stray_entries(fx->dir), 0);
	json_decref(meta);
}

/* No user data, no network, no key, no metadata: what a server booted with networks
 * "none" and nothing else gets. */
static void test_minimal_drive(void **state)
{
	struct fixture *fx = *state;
	struct nl_error err = { 0 };
	struct configdrive cd = { .uuid = "6f1c2a3e-0000-4000-8000-000000000008", .hostname = "bare" };

	if (tools_missing()) {
		skip();
		return;
	}
	json_t *empty = json_object();
	cd.meta = empty;   /* empty metadata is left out, as Nova does */
	if (configdrive_build(&cd, fx->iso, &err) != 0)
		fail_msg("configdrive_build failed: %s", err.msg);
	json_decref(empty);
	char *ls = iso_listing(fx->iso);
	assert_null(strstr(ls, "user_data"));
	assert_true(listed(ls, "/openstack/latest/network_data.json"));
	free(ls);
	json_t *nd = iso_json(fx->iso, "/openstack/latest/network_data.json");
	assert_int_equal(json_object_size(nd), 0);       /* Nova: {} without network info */
	json_decref(nd);
	json_t *md = iso_json(fx->iso, "/openstack/latest/meta_data.json");
	assert_string_equal(json_string_value(json_object_get(md, "uuid")), cd.uuid);
	assert_string_equal(json_string_value(json_object_get(md, "hostname")), "bare");
	assert_int_equal(json_integer_value(json_object_get(md, "launch_index")), 0);
	assert_null(json_object_get(md, "meta"));
	assert_null(json_object_get(md, "public_keys"));
	assert_null(json_object_get(md, "keys"));
	assert_null(json_object_get(md, "name"));
	assert_null(json_object_get(md, "project_id"));
	json_decref(md);
	assert_int_equal(stray_entries(fx->dir), 0);
}

/* genisoimage not in PATH: a clear error, no ISO, no leftover build directory. */
static void test_genisoimage_missing(void **state)
{
	struct fixture *fx = *state;
	struct nl_error err = { 0 };
	struct configdrive cd = full_drive(NULL);
	char empty_dir[600];
	char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

	snprintf(empty_dir, sizeof(empty_dir), "%s/empty-bin", fx->dir);
	assert_int_equal(mkdir(empty_dir, 0755), 0);
	setenv("PATH", empty_dir, 1);
	int rc = configdrive_build(&cd, fx->iso, &err);
	if (old_path)
		setenv("PATH", old_path, 1);
	else
		unsetenv("PATH");
	free(old_path);
	assert_int_equal(rmdir(empty_dir), 0);

	assert_int_equal(rc, -1);
	assert_int_equal(err.status, 500);
	print_message("error: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "genisoimage could not be run (No such file or directory)"));
	assert_int_equal(access(fx->iso, F_OK), -1);
	assert_int_equal(stray_entries(fx->dir), 0);
}

/* A destination directory that does not exist: the error names it. */
static void test_bad_destination(void **state)
{
	struct fixture *fx = *state;
	struct nl_error err = { 0 };
	struct configdrive cd = full_drive(NULL);
	char iso[700];

	snprintf(iso, sizeof(iso), "%s/no/such/dir/disk.config", fx->dir);
	assert_int_equal(configdrive_build(&cd, iso, &err), -1);
	assert_non_null(strstr(err.msg, "no/such/dir/disk.config"));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_int_equal(stray_entries(fx->dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_drive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimal_drive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_genisoimage_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_destination, setup, teardown),
	};
	return cmocka_run_group_tests_name("configdrive", tests, NULL, NULL);
}
