/* Numbered schema migrations, compiled in from db/migrations/NNN_*.sql. */
#ifndef NL_MIGRATE_H
#define NL_MIGRATE_H

#include <sqlite3.h>
#include "common/error.h"

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration db_migrations[];

/* Applies every migration above PRAGMA user_version, each in its own transaction. */
int db_migrate(sqlite3 *db, struct nl_error *err);

#endif
