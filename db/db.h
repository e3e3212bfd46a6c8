/* SQLite access: one connection per thread, cached prepared statements, and the
 * transaction runner every write goes through. db/ is the only code that knows SQLite. */
#ifndef NL_DB_H
#define NL_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* Opens (creating if needed) the database at path, applies pending migrations.
 * Must be called once before any other db_ function. */
int db_open(const char *path, struct nl_error *err);
/* Closes this thread's connection (call from a worker before it exits). */
void db_thread_close(void);
/* Schema version of the open database (PRAGMA user_version). */
int db_schema_version(void);
/* Latest migration compiled into this binary. */
int db_latest_version(void);
/* Online backup to dest using SQLite's backup API. */
int db_backup(const char *dest, struct nl_error *err);

/* This thread's connection, opened on first use. Never NULL (aborts on failure). */
sqlite3 *db_conn(void);
/* Cached statement for sql (which must be a string literal: the cache keys on its
 * address). Returned reset with bindings cleared; borrowed, do not finalize. */
sqlite3_stmt *db_stmt(const char *sql);

/* Brackets one API request on this thread. A read-only request (GET/HEAD) runs all its
 * statements in one read transaction, opened lazily on the first statement. */
void db_request_begin(bool read_only);
void db_request_end(void);
/* Increases after every committed write (any thread): cache invalidation. */
uint64_t db_write_generation(void);

/* Runs fn inside BEGIN IMMEDIATE ... COMMIT, retrying on SQLITE_BUSY a bounded
 * number of times. fn returns 0 to commit, -1 (with err set) to roll back. A failed
 * COMMIT rolls back and sets err from SQLite's own error (503 when storage is full). */
typedef int (*db_tx_fn)(void *ctx, struct nl_error *err);
int db_tx_run(db_tx_fn fn, void *ctx, struct nl_error *err);

/* Helpers for the db_*.c files. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);   /* NULL binds NULL */
const char *db_col_text(sqlite3_stmt *st, int i);            /* "" for NULL; borrowed until next step */
char *db_col_dup(sqlite3_stmt *st, int i);                   /* owned copy, NULL for NULL */
/* Steps a statement expected to finish (INSERT/UPDATE/DELETE); -1 + err on failure.
 * A UNIQUE violation sets 409 with conflict_msg when given. */
int db_exec_stmt(sqlite3_stmt *st, struct nl_error *err, const char *conflict_msg);
/* Reports the connection's last SQLite error: 503 when storage is full, else 500. */
int db_fail(struct nl_error *err, const char *what);

#endif

#include <jansson.h>
/* Rows of a bound statement as JSON: an array of {column: value} objects
 * (INTEGER → integer, REAL → real, TEXT → string, NULL → null). Owned. */
json_t *db_rows_json(sqlite3_stmt *st);
/* First row as an object, or NULL when there is none. Owned. */
json_t *db_row_json(sqlite3_stmt *st);
