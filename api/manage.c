/* novalite-manage: offline administration of a state dir.
 *   db sync | db version | db backup FILE | bootstrap [--password P] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/identity/bootstrap.h"
#include "common/config.h"
#include "common/password.h"
#include "db/db.h"

static int usage(void)
{
	fprintf(stderr, "Usage: novalite-manage [--state-dir DIR] [--config FILE] COMMAND\n"
			"  db sync            apply pending schema migrations\n"
			"  db version         print the schema version (and the newest this binary knows)\n"
			"  db backup FILE     consistent online copy of the database (SQLite backup API)\n"
			"  bootstrap [--password P]  create Default domain, roles, admin project and user\n");
	return 2;
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
