/* novalite-manage: offline administration of a state dir.
 *   db sync | db version | db backup FILE | bootstrap [--password P]
 *   agent create NAME [--host HOST]... [--output FILE] | agent list
 *   agent release-host HOST | agent delete NAME
 * (safe while novalite-api runs: SQLite serialises the writers, and the API reads
 * claims per request). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/identity/bootstrap.h"
#include "common/config.h"
#include "common/password.h"
#include "common/util.h"
#include "db/agents.h"
#include "db/db.h"
#include "db/identity.h"

static int usage(void)
{
	fprintf(stderr, "Usage: novalite-manage [--state-dir DIR] [--config FILE] COMMAND\n"
			"  db sync            apply pending schema migrations\n"
			"  db version         print the schema version (and the newest this binary knows)\n"
			"  db backup FILE     consistent online copy of the database (SQLite backup API)\n"
			"  bootstrap [--password P]  create Default domain, roles, admin project and user\n"
			"  agent create NAME [--host HOST]... [--output FILE]\n"
			"                     a compute agent identity: user novalite-agent-NAME (role service on\n"
			"                     project service) holding agent name NAME and each HOST; writes its\n"
			"                     credentials (0600) to FILE (default STATE/agent-NAME-openrc). Run\n"
			"                     again to mint a new password.\n"
			"  agent list         agent names and hosts, and the identity holding each\n"
			"  agent release-host HOST  forget HOST's claim: the next agent to register it owns it\n"
			"  agent delete NAME  delete NAME's identity (novalite-agent-NAME) and all it held\n");
	return 2;
}

/* ---- agent identities ---- */

struct claim_ctx { const char *user_id, *agent; char **hosts; int nhosts; const char *refused; };

static int claim_tx(void *p, struct nl_error *err)
{
	struct claim_ctx *c = p;
	int64_t now = nl_now_us();
	int rc = db_agent_name_claim(c->agent, c->user_id, now, err);
	if (rc) {
		c->refused = c->agent;
		return rc < 0 ? -1 : (nl_err_set(err, 409, "agent name %s is held by another identity", c->agent), -1);
	}
	for (int i = 0; i < c->nhosts; i++)
		if ((rc = db_host_claim(c->hosts[i], c->user_id, now, err))) {
			if (rc > 0)
				nl_err_set(err, 409, "host %s is claimed by another identity (agent release-host %s first)",
					   c->hosts[i], c->hosts[i]);
			return -1;
		}
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int write_agent_rc(const char *path, const char *user, const char *password, const char *agent)
{
	const char *host = g_config.public_host[0] ? g_config.public_host : g_config.bind;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fchmod(fd, 0600);
	fprintf(f, "# novalite compute agent %s (its own identity; written by novalite-manage agent create)\n"
		   "export OS_AUTH_URL=http://%s:%d/v3\n"
		   "export OS_USERNAME=%s\n"
		   "export OS_PASSWORD='%s'\n"
		   "export OS_PROJECT_NAME=service\n"
		   "export OS_USER_DOMAIN_NAME=Default\n"
		   "export OS_PROJECT_DOMAIN_NAME=Default\n"
		   "export NOVALITE_INTERNAL_URL=http://%s:%d\n"
		   "export NOVALITE_AGENT_NAME=%s\n",
		agent, host, g_config.identity_port, user, password, host, g_config.internal_port, agent);
	return fclose(f) ? -1 : 0;
}

static int agent_create(int argc, char **argv, int i)
{
	const char *name = argv[i], *output = NULL;
	char *hosts[64];
	int nhosts = 0;
	char user[128], pw[300], path[1100];
	struct nl_error err = { 0 };

	if (!valid_name(name)) {
		fprintf(stderr, "novalite-manage: agent name '%s': 1 to 64 of A-Z a-z 0-9 . _ -\n", name);
		return 2;
	}
	for (i++; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--host") && nhosts < 64 && valid_name(argv[i + 1]))
			hosts[nhosts++] = argv[i + 1];
		else if (!strcmp(argv[i], "--output"))
			output = argv[i + 1];
		else
			return usage();
	}
	if (i < argc)
		return usage();
	snprintf(user, sizeof(user), "novalite-agent-%s", name);
	password_init(g_config.pwhash_opslimit, g_config.pwhash_memlimit_kib, 1);
	if (identity_bootstrap_service_user(user, NULL, pw, sizeof(pw), &err))
		goto fail;
	json_t *u = db_user_find("default", user);
	struct claim_ctx c = { json_string_value(json_object_get(u, "id")), name, hosts, nhosts, NULL };
	int rc = c.user_id ? db_tx_run(claim_tx, &c, &err) : (nl_err_set(&err, 500, "user %s vanished", user), -1);
	json_decref(u);
	if (rc)
		goto fail;
	if (!output) {
		snprintf(path, sizeof(path), "%s/agent-%s-openrc", g_config.state_dir, name);
		output = path;
	}
	if (write_agent_rc(output, user, pw, name)) {
		fprintf(stderr, "novalite-manage: cannot write %s: %s\n", output, strerror(errno));
		explicit_bzero(pw, sizeof(pw));
		return 1;
	}
	explicit_bzero(pw, sizeof(pw));
	printf("agent %s: user %s, credentials in %s\n", name, user, output);
	return 0;
fail:
	explicit_bzero(pw, sizeof(pw));
	fprintf(stderr, "novalite-manage: %s\n", err.msg);
	return 1;
}

struct release_ctx { const char *name; bool agent; int missing; };

static int release_tx(void *p, struct nl_error *err)
{
	struct release_ctx *c = p;
	if (!c->agent)
		return (c->missing = db_host_release(c->name, err)) < 0 ? -1 : 0;
	char user[128];
	snprintf(user, sizeof(user), "novalite-agent-%s", c->name);
	json_t *u = db_user_find("default", user);
	int rc = db_agent_name_release(c->name, err);
	if (rc < 0 || (u && db_user_delete(json_string_value(json_object_get(u, "id")), err))) {
		json_decref(u);
		return -1;
	}
	c->missing = rc == 1 && !u;
	json_decref(u);
	return 0;
}

static int agent_cmd(int argc, char **argv, int i)
{
	struct nl_error err = { 0 };
	if (i < argc && !strcmp(argv[i], "create") && i + 1 < argc)
		return agent_create(argc, argv, i + 1);
	if (i < argc && !strcmp(argv[i], "list") && i + 1 == argc) {
		json_t *rows = db_agent_claims(), *x;
		size_t k;
		json_array_foreach(rows, k, x)
			printf("%-5s %-40s %s (%s)\n", json_string_value(json_object_get(x, "kind")),
			       json_string_value(json_object_get(x, "name")),
			       json_string_value(json_object_get(x, "user_name")),
			       json_string_value(json_object_get(x, "user_id")));
		json_decref(rows);
		return 0;
	}
	if (i + 2 == argc && (!strcmp(argv[i], "release-host") || !strcmp(argv[i], "delete"))) {
		struct release_ctx c = { argv[i + 1], !strcmp(argv[i], "delete"), 0 };
		if (db_tx_run(release_tx, &c, &err)) {
			fprintf(stderr, "novalite-manage: %s\n", err.msg);
			return 1;
		}
		printf(c.missing ? "%s %s: nothing held it\n" : "%s %s released\n", c.agent ? "agent" : "host", c.name);
		return 0;
	}
	return usage();
}

int main(int argc, char **argv)
{
	char path[1100], errl[512];
	struct nl_error err = { 0 };
	int i = 1;

	config_defaults(&g_config);
	for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--state-dir")) {
			if (config_set(&g_config, "DEFAULT", "state_dir", argv[i + 1], errl, sizeof(errl)))
				goto bad;
		} else if (!strcmp(argv[i], "--config")) {
			if (config_load_file(&g_config, argv[i + 1], errl, sizeof(errl)))
				goto bad;
		} else {
			return usage();
		}
	}
	if (i >= argc)
		return usage();
	if (mkdir(g_config.state_dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "novalite-manage: cannot create %s: %s\n", g_config.state_dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/novalite.db", g_config.state_dir);
	if (db_open(path, &err)) {
		fprintf(stderr, "novalite-manage: %s\n", err.msg);
		return 1;
	}
	if (!strcmp(argv[i], "db") && i + 1 < argc) {
		if (!strcmp(argv[i + 1], "sync"))
			return printf("schema at version %d\n", db_schema_version()) < 0;
		if (!strcmp(argv[i + 1], "version"))
			return printf("%d (this binary knows up to %d)\n", db_schema_version(), db_latest_version()) < 0;
		if (!strcmp(argv[i + 1], "backup") && i + 2 < argc) {
			if (db_backup(argv[i + 2], &err)) {
				fprintf(stderr, "novalite-manage: %s\n", err.msg);
				return 1;
			}
			printf("backed up to %s\n", argv[i + 2]);
			return 0;
		}
		return usage();
	}
	if (!strcmp(argv[i], "agent"))
		return agent_cmd(argc, argv, i + 1);
	if (!strcmp(argv[i], "bootstrap")) {
		const char *pw = (i + 2 < argc && !strcmp(argv[i + 1], "--password")) ? argv[i + 2] : NULL;
		char out[300];
		password_init(g_config.pwhash_opslimit, g_config.pwhash_memlimit_kib, 1);
		if (identity_bootstrap(pw, out, sizeof(out), &err)) {
			fprintf(stderr, "novalite-manage: %s\n", err.msg);
			return 1;
		}
		if (out[0] && !pw)
			printf("admin password: %s\n", out);
		printf("bootstrap complete\n");
		return 0;
	}
	return usage();
bad:
	fprintf(stderr, "novalite-manage: %s\n", errl);
	return 2;
}
