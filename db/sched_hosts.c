/* SQL that builds the scheduler's host states: capacity and registration from
 * compute_hosts, usage summed over each host's non-deleted instances, aggregate
 * metadata (availability zones, extra-spec matching), server-group members and the
 * hosts of hinted instances. Runs inside the claim transaction. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "db/db.h"
#include "db/servers.h"

#define DEFAULT_AZ "nova"

/* Keeps a copy of s alive for the set's lifetime and returns it. */
static const char *keep_str(struct sched_host_set *set, const char *s)
{
	json_t *j = json_string(s);
	json_array_append_new(set->keep, j);
	return json_string_value(j);
}

/* An int column of the scheduler's host state (vcpus, SUM(vcpus) over the host's
 * instances, counts), saturated rather than truncated: sqlite3_column_int() keeps the
 * low 32 bits, so a sum past 2^31 would read back small or negative and the host
 * would look empty. Saturated, a full host stays full. */
static int col_int_sat(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);
	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

int db_sched_hosts_load(struct sched_host_set *set, int64_t now, int64_t down_after_us, const char *group_uuid,
			const char *const *hint_uuids, size_t n_hints)
{
	sqlite3_stmt *st = db_stmt(
		"SELECT h.host, h.disabled, h.forced_down, COALESCE(h.last_seen_at, 0), h.vcpus, h.memory_mb, "
		"h.local_gb, h.hypervisor_type, h.arch, h.hypervisor_version, COALESCE(u.vcpus, 0), COALESCE(u.ram, 0), "
		"COALESCE(u.disk, 0), COALESCE(u.n, 0) FROM compute_hosts h LEFT JOIN (SELECT host, SUM(vcpus) AS "
		"vcpus, SUM(memory_mb) AS ram, SUM(root_gb + ephemeral_gb + (swap + 1023) / 1024) AS disk, COUNT(*) AS n "
		"FROM instances WHERE deleted = 0 AND host IS NOT NULL GROUP BY host) u ON u.host = h.host ORDER BY h.id");
	json_t *index = json_object();
	size_t cap = 64, nkv = 0, kvcap = 0;

	memset(set, 0, sizeof(*set));
	set->keep = json_array();
	set->hosts = nl_calloc(cap, sizeof(*set->hosts));
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (set->n == cap) {
			cap *= 2;
			set->hosts = nl_realloc(set->hosts, cap * sizeof(*set->hosts));
		}
		struct sched_host *h = &set->hosts[set->n];
		memset(h, 0, sizeof(*h));
		h->name = keep_str(set, db_col_text(st, 0));
		h->enabled = sqlite3_column_int(st, 1) == 0;
		h->up = sqlite3_column_int(st, 2) == 0 && now - sqlite3_column_int64(st, 3) <= down_after_us;
		h->vcpus = sqlite3_column_int64(st, 4);
		h->ram_mb = sqlite3_column_int64(st, 5);
		h->disk_gb = sqlite3_column_int64(st, 6);
		h->hypervisor_type = keep_str(set, db_col_text(st, 7));
		h->arch = keep_str(set, db_col_text(st, 8));
		h->hypervisor_version = sqlite3_column_int64(st, 9);
		h->vcpus_used = sqlite3_column_int64(st, 10);
		h->ram_used_mb = sqlite3_column_int64(st, 11);
		h->disk_used_gb = sqlite3_column_int64(st, 12);
		h->instances = col_int_sat(st, 13);
		h->az = DEFAULT_AZ;
		json_object_set_new(index, h->name, json_integer((json_int_t)set->n));
		set->n++;
	}
	sqlite3_reset(st);

	/* Aggregate metadata, grouped by host so each host's pairs are contiguous. */
	st = db_stmt("SELECT ah.host, m.key, m.value FROM aggregate_hosts ah JOIN aggregate_metadata m ON "
		     "m.aggregate_id = ah.aggregate_id ORDER BY ah.host, m.key");
	struct { size_t host, start; } *spans = NULL;
	size_t nspans = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *ix = json_object_get(index, db_col_text(st, 0));
		if (!ix)
			continue;
		if (nkv == kvcap) {
			kvcap = kvcap ? kvcap * 2 : 64;
			set->kv = nl_realloc(set->kv, kvcap * sizeof(*set->kv));
		}
		size_t hi = (size_t)json_integer_value(ix);
		if (!nspans || spans[nspans - 1].host != hi) {
			spans = nl_realloc(spans, (nspans + 1) * sizeof(*spans));
			spans[nspans].host = hi;
			spans[nspans].start = nkv;
			nspans++;
		}
		set->kv[nkv].key = keep_str(set, db_col_text(st, 1));
		set->kv[nkv].value = keep_str(set, db_col_text(st, 2));
		if (!strcmp(set->kv[nkv].key, "availability_zone"))
			set->hosts[hi].az = set->kv[nkv].value;
		nkv++;
	}
	sqlite3_reset(st);
	/* set->kv may have moved while growing: attach the spans once it is final. */
	for (size_t i = 0; i < nspans; i++) {
		size_t end = i + 1 < nspans ? spans[i + 1].start : nkv;
		set->hosts[spans[i].host].agg_meta = set->kv + spans[i].start;
		set->hosts[spans[i].host].n_agg_meta = end - spans[i].start;
	}
	free(spans);

	if (group_uuid) {
		st = db_stmt("SELECT i.host, COUNT(*) FROM server_group_members m JOIN server_groups g ON g.id = "
			     "m.group_id JOIN instances i ON i.uuid = m.instance_uuid AND i.deleted = 0 WHERE g.uuid = ?1 "
			     "AND i.host IS NOT NULL GROUP BY i.host");
		db_bind_text(st, 1, group_uuid);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t *ix = json_object_get(index, db_col_text(st, 0));
			if (ix)
				set->hosts[json_integer_value(ix)].group_members = col_int_sat(st, 1);
		}
		sqlite3_reset(st);
	}

	if (n_hints) {
		/* Each hinted instance lands in its host's instance_uuids; the hosts' slices
		 * are carved out of one array, in hint order per host. */
		size_t *host_of = nl_calloc(n_hints, sizeof(size_t));
		set->uuids = nl_calloc(n_hints, sizeof(char *));
		st = db_stmt("SELECT host FROM instances WHERE uuid = ?1 AND deleted = 0 AND host IS NOT NULL");
		for (size_t i = 0; i < n_hints; i++) {
			host_of[i] = (size_t)-1;
			sqlite3_reset(st);
			db_bind_text(st, 1, hint_uuids[i]);
			if (sqlite3_step(st) == SQLITE_ROW) {
				json_t *ix = json_object_get(index, db_col_text(st, 0));
				if (ix)
					host_of[i] = (size_t)json_integer_value(ix);
			}
		}
		sqlite3_reset(st);
		size_t used = 0;
		for (size_t i = 0; i < n_hints; i++) {
			if (host_of[i] == (size_t)-1)
				continue;
			struct sched_host *h = &set->hosts[host_of[i]];
			if (h->instance_uuids)
				continue;   /* this host's slice was filled already */
			h->instance_uuids = (const char *const *)(set->uuids + used);
			for (size_t j = i; j < n_hints; j++)
				if (host_of[j] == host_of[i])
					set->uuids[used++] = keep_str(set, hint_uuids[j]), h->n_instance_uuids++;
		}
		free(host_of);
	}
	json_decref(index);
	return 0;
}

void db_sched_hosts_free(struct sched_host_set *set)
{
	free(set->hosts);
	free(set->kv);
	free(set->uuids);
	json_decref(set->keep);
	memset(set, 0, sizeof(*set));
}

char *db_host_az(const char *host, const char *default_az)
{
	sqlite3_stmt *st = db_stmt("SELECT m.value FROM aggregate_hosts ah JOIN aggregate_metadata m ON "
				   "m.aggregate_id = ah.aggregate_id WHERE ah.host = ?1 AND m.key = 'availability_zone' "
				   "ORDER BY m.value LIMIT 1");
	char *az = NULL;
	db_bind_text(st, 1, host);
	if (sqlite3_step(st) == SQLITE_ROW)
		az = db_col_dup(st, 0);
	sqlite3_reset(st);
	return az ? az : nl_strdup(default_az);
}

bool db_az_exists(const char *az, const char *default_az)
{
	sqlite3_stmt *st;
	bool found = false;
	if (!strcmp(az, default_az)) {
		/* The default zone exists while some host is in no AZ aggregate. */
		st = db_stmt("SELECT 1 FROM compute_hosts h WHERE NOT EXISTS (SELECT 1 FROM aggregate_hosts ah JOIN "
			     "aggregate_metadata m ON m.aggregate_id = ah.aggregate_id WHERE ah.host = h.host AND "
			     "m.key = 'availability_zone') LIMIT 1");
	} else {
		st = db_stmt("SELECT 1 FROM aggregate_hosts ah JOIN aggregate_metadata m ON m.aggregate_id = "
			     "ah.aggregate_id WHERE m.key = 'availability_zone' AND m.value = ?1 LIMIT 1");
		db_bind_text(st, 1, az);
	}
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}
