/* Applies migrations in order; each one and its user_version bump commit together,
 * so a crash mid-migration leaves the previous version intact. */
#include "db/migrate.h"

#include <stdio.h>

#include "common/log.h"

int db_migrate(sqlite3 *db, struct nl_error *err)
{
	sqlite3_stmt *st;
	int cur = 0;
	char pragma[64];

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		cur = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);

	for (const struct migration *m = db_migrations; m->sql; m++) {
		if (m->version <= cur)
			continue;
		log_info("db: applying migration %s", m->name);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
		if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
			nl_err_internal(err, "migration %s failed: %s", m->name, sqlite3_errmsg(db));
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		cur = m->version;
	}
	return 0;
fail:
	nl_err_internal(err, "migration failed: %s", sqlite3_errmsg(db));
	return -1;
}
