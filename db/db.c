/* Connections, statement cache, transaction runner.
 *
 * Durability: WAL with synchronous=FULL, so a COMMIT that returned has reached the
 * disk. Every connection is DEFENSIVE (no writable_schema tricks), has foreign keys on
 * and a busy timeout; writers take the lock up front (BEGIN IMMEDIATE) so two writers
 * never deadlock upgrading a read lock. */
#include "db/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "db/migrate.h"

static char db_path[1024];

#define STMT_CACHE 256   /* power of two; more distinct statements than this just get reprepared */

struct stmt_slot { const char *sql; sqlite3_stmt *st; };

struct conn {
	sqlite3 *db;
	bool want_read_tx;   /* this request only reads: share one read transaction */
	bool in_read_tx;
	struct stmt_slot cache[STMT_CACHE];
};

/* Bumped after every committed write, so per-thread caches know to drop entries. */
static _Atomic uint64_t write_generation;

static __thread struct conn *tls_conn;
/* Worker threads belong to libmicrohttpd; a key destructor closes each thread's
 * connection when the thread exits, so nothing leaks at shutdown. */
static pthread_key_t conn_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void conn_free(void *p)
{
	struct conn *c = p;
	if (!c)
		return;
	for (int i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(c->cache[i].st);
	sqlite3_close(c->db);
	free(c);
}

static void make_key(void) { pthread_key_create(&conn_key, conn_free); }

static int configure(sqlite3 *db)
{
	static const char *pragmas =
		"PRAGMA journal_mode=WAL;"
		"PRAGMA synchronous=FULL;"
		"PRAGMA foreign_keys=ON;"
		"PRAGMA temp_store=MEMORY;";
	int on = 1;

	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, &on);
	sqlite3_busy_timeout(db, 5000);
	return sqlite3_exec(db, pragmas, NULL, NULL, NULL);
}

static sqlite3 *open_conn(struct nl_error *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK || configure(db) != SQLITE_OK) {
		nl_err_internal(err, "cannot open database %s: %s", db_path,
				db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

int db_open(const char *path, struct nl_error *err)
{
	sqlite3 *db;
	int rc;

	snprintf(db_path, sizeof(db_path), "%s", path);
	if (!(db = open_conn(err)))
		return -1;
	rc = db_migrate(db, err);
	sqlite3_close(db);
	return rc;
}

sqlite3 *db_conn(void)
{
	struct nl_error err;

	if (tls_conn)
		return tls_conn->db;
	pthread_once(&key_once, make_key);
	tls_conn = nl_calloc(1, sizeof(*tls_conn));
	tls_conn->db = open_conn(&err);
	if (!tls_conn->db) {
		log_error("%s", err.msg);
		abort();
	}
	pthread_setspecific(conn_key, tls_conn);
	return tls_conn->db;
}

void db_thread_close(void)
{
	if (!tls_conn)
		return;
	pthread_setspecific(conn_key, NULL);
	conn_free(tls_conn);
	tls_conn = NULL;
}

void db_request_begin(bool read_only)
{
	db_conn();
	tls_conn->want_read_tx = read_only;
}

void db_request_end(void)
{
	if (!tls_conn)
		return;
	if (tls_conn->in_read_tx)
		sqlite3_exec(tls_conn->db, "COMMIT", NULL, NULL, NULL);
	tls_conn->in_read_tx = tls_conn->want_read_tx = false;
}

uint64_t db_write_generation(void) { return write_generation; }

sqlite3_stmt *db_stmt(const char *sql)
{
	sqlite3 *db = db_conn();
	uintptr_t h = (uintptr_t)sql;
	struct stmt_slot *s;

	/* A reading request takes its (deferred, WAL snapshot) read transaction on its first
	 * statement: one lock round trip per request instead of one per statement, and a
	 * consistent view across the request's queries. */
	if (tls_conn->want_read_tx && !tls_conn->in_read_tx) {
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
			tls_conn->in_read_tx = true;
		else
			tls_conn->want_read_tx = false;
	}

	h ^= h >> 7;
	s = &tls_conn->cache[(h >> 3) & (STMT_CACHE - 1)];
	if (s->sql == sql && s->st) {
		sqlite3_reset(s->st);
		sqlite3_clear_bindings(s->st);
		return s->st;
	}
	sqlite3_finalize(s->st);
	s->st = NULL;
	s->sql = NULL;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL) != SQLITE_OK) {
		log_error("db: prepare failed: %s: %s", sqlite3_errmsg(db), sql);
		abort();   /* a bad literal SQL string is a programming error, found by any test */
	}
	s->sql = sql;
	return s->st;
}

/* Turns the connection's last error into err. Callers read it before anything else
 * touches the connection: a ROLLBACK after a failed COMMIT (which SQLite has already
 * rolled back) would replace the real cause with "cannot rollback - no transaction is
 * active". Storage exhausted (SQLITE_FULL, or an I/O error whose errno is ENOSPC or
 * EDQUOT) is a 503 saying so, the status Nova, Keystone and Glance all render with
 * their message shown (docs/operations.md "Storage full"); anything else is a 500
 * whose detail only goes to the log. */
static int report(sqlite3 *db, struct nl_error *err, const char *what)
{
	int code = sqlite3_extended_errcode(db), sys = sqlite3_system_errno(db);

	log_error("db: %s failed: %s (SQLite error %d%s%s)", what, sqlite3_errmsg(db), code,
		  sys ? ", " : "", sys ? strerror(sys) : "");
	if ((code & 0xff) == SQLITE_FULL || ((code & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT))) {
		nl_err_set(err, 503, "The server's storage is full; the request was not saved. Try again once "
			   "space has been freed.");
		return -1;
	}
	nl_err_internal(err, "Unexpected database error.");
	return -1;
}

/* A failed statement or COMMIT may already have ended the transaction. */
static void rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int db_tx_run(db_tx_fn fn, void *ctx, struct nl_error *err)
{
	sqlite3 *db = db_conn();
	int rc;

	if (tls_conn->in_read_tx) {      /* a write needs the lock from a fresh snapshot */
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		tls_conn->in_read_tx = false;
	}
	tls_conn->want_read_tx = false;

	for (int attempt = 0; attempt < 50; attempt++) {
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_BUSY) {
			usleep(2000 * (attempt + 1));
			continue;
		}
		if (rc != SQLITE_OK)
			return report(db, err, "begin");
		if (fn(ctx, err) != 0) {
			rollback(db);   /* err was set by fn (a failed statement reported itself) */
			return -1;
		}
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			write_generation++;
			return 0;
		}
		if (rc != SQLITE_BUSY) {
			report(db, err, "commit");   /* before the rollback, which would overwrite it */
			rollback(db);
			return -1;
		}
		rollback(db);
	}
	nl_err_set(err, 503, "The database is busy; try again.");
	return -1;
}

void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

const char *db_col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

char *db_col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? nl_strdup(s) : NULL;
}

int db_exec_stmt(sqlite3_stmt *st, struct nl_error *err, const char *conflict_msg)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_CONSTRAINT && conflict_msg &&
	    (sqlite3_extended_errcode(sqlite3_db_handle(st)) == SQLITE_CONSTRAINT_UNIQUE ||
	     sqlite3_extended_errcode(sqlite3_db_handle(st)) == SQLITE_CONSTRAINT_PRIMARYKEY)) {
		nl_err_set(err, 409, "%s", conflict_msg);
		return -1;
	}
	return db_fail(err, "statement");
}

int db_fail(struct nl_error *err, const char *what)
{
	return report(db_conn(), err, what);
}

int db_schema_version(void)
{
	sqlite3_stmt *st = db_stmt("PRAGMA user_version");
	int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_reset(st);
	return v;
}

int db_latest_version(void)
{
	int v = 0;
	for (const struct migration *m = db_migrations; m->sql; m++)
		v = m->version;
	return v;
}

int db_backup(const char *dest, struct nl_error *err)
{
	sqlite3 *out = NULL;
	sqlite3_backup *b;
	int rc;

	if (sqlite3_open(dest, &out) != SQLITE_OK) {
		nl_err_internal(err, "cannot open %s: %s", dest, sqlite3_errmsg(out));
		sqlite3_close(out);
		return -1;
	}
	b = sqlite3_backup_init(out, "main", db_conn(), "main");
	if (!b) {
		nl_err_internal(err, "backup failed: %s", sqlite3_errmsg(out));
		sqlite3_close(out);
		return -1;
	}
	do {
		rc = sqlite3_backup_step(b, 256);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			usleep(10000);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	rc = sqlite3_errcode(out);
	sqlite3_close(out);
	if (rc != SQLITE_OK) {
		nl_err_internal(err, "backup failed: %s", sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

static json_t *row_to_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int n = sqlite3_column_count(st);
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		json_t *v;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
		case SQLITE_FLOAT: v = json_real(sqlite3_column_double(st, i)); break;
		case SQLITE_NULL: v = json_null(); break;
		/* Text in the database went in through validated UTF-8 (the API's JSON
		 * parser or our own strings), and column names are ASCII: skip the re-checks,
		 * which cost a scan per value in large lists. */
		default: {
			const char *t = (const char *)sqlite3_column_text(st, i);
			v = t ? json_stringn_nocheck(t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
			break;
		}
		}
		json_object_set_new_nocheck(o, name, v ? v : json_null());
	}
	return o;
}

json_t *db_rows_json(sqlite3_stmt *st)
{
	json_t *a = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(a, row_to_json(st));
	if (rc != SQLITE_DONE)
		log_error("db: query failed: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
	sqlite3_reset(st);
	return a;
}

json_t *db_row_json(sqlite3_stmt *st)
{
	json_t *o = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		o = row_to_json(st);
	sqlite3_reset(st);
	return o;
}
