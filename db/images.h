/* Image tables (Glance v2 subset). Reads return owned JSON rows with "properties"
 * ({name: value}), "tags" ([...]) attached; writes run inside db_tx_run(). */
#ifndef NL_DB_IMAGES_H
#define NL_DB_IMAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

/* The image row if the project may see it (NULL project: any), else NULL.
 * Visible: public, community, owned, or shared with the project as a member. */
json_t *db_image_get(const char *id, const char *project_id);
/* Images visible to project_id (NULL: all, for admins), newest first, with row
 * filters applied in C by the caller. */
json_t *db_image_list(const char *project_id);
int db_image_insert(const char *id, const char *owner, json_t *fields, struct nl_error *err);
/* Sets the named base columns from fields ({column: value|null}); bumps updated_at. */
int db_image_update(const char *id, json_t *fields, struct nl_error *err);
int db_image_set_status(const char *id, const char *from, const char *to, struct nl_error *err);
/* Deletes the row and keeps its id in deleted_images, so it is never used again. */
int db_image_delete(const char *id, struct nl_error *err);
/* Sets the quota reservation of an upload in progress; 1 when the image is no longer
 * saving (deleted or reset meanwhile). */
int db_image_reserve(const char *id, int64_t bytes, struct nl_error *err);
/* Start-up: every image left in saving (an upload cut off by a crash) back to queued,
 * reservation dropped. Returns their ids (owned), NULL on error. */
json_t *db_image_repair_saving(struct nl_error *err);
int db_image_prop_set(const char *id, const char *name, const char *value, struct nl_error *err);
int db_image_prop_delete(const char *id, const char *name, struct nl_error *err);
int db_image_tag_add(const char *id, const char *tag, struct nl_error *err);
/* 1 when there was no such tag. */
int db_image_tag_delete(const char *id, const char *tag, struct nl_error *err);
json_t *db_image_members(const char *id);
json_t *db_image_member_get(const char *id, const char *member);
int db_image_member_add(const char *id, const char *member, struct nl_error *err);
int db_image_member_set(const char *id, const char *member, const char *status, struct nl_error *err);
int db_image_member_delete(const char *id, const char *member, struct nl_error *err);
/* Images and bytes owned by a project (quota), leaving out except_id when not NULL.
 * Bytes are the stored sizes plus what uploads in progress have reserved. */
void db_image_usage(const char *owner, const char *except_id, int64_t *count, int64_t *bytes);

#endif
