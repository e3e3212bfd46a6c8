/* Glance v2 subset: shared declarations for the image API. */
#ifndef NL_IMAGE_H
#define NL_IMAGE_H

#include "api/http.h"

/* The image as Glance shows it: base attributes, tags, links and custom properties
 * flattened to the top level. Consumes row. */
json_t *image_view(json_t *row);
/* The image row visible to the caller (admins see all, and so does the service role on
 * the routes that grant it: auth_service_wide), or NULL with a 404. */
json_t *image_get_visible(struct req *r, const char *id, struct nl_error *err);
/* Owner or admin (or the service role where auth_service_wide) may change an image;
 * others get 403 with Glance's wording. */
int image_may_modify(struct req *r, json_t *img, const char *action, struct nl_error *err);
/* Inside a transaction: 413 (Glance's wording) when owner already has as many images as
 * [image] quota_image_count allows. */
int image_count_quota_check(const char *owner, struct nl_error *err);
/* Where an image's data lives: STATE/images/<id> (and <id>.part while uploading). */
void image_data_path(const char *id, bool partial, char *out, size_t len);

/* Parses r->body as JSON when Content-Type is one of types (415 otherwise). */
int image_parse_body(struct req *r, const char *const *types, struct nl_error *err);
/* Checks attributes against Glance's image schema; base ones go to cols, custom
 * ones to props (null = remove, in updates). 400/403 with Glance's wording. */
int image_accept_attrs(struct req *r, json_t *obj, json_t *cols, json_t *props, bool create, struct nl_error *err);
/* Inside a transaction: writes cols (base columns, "tags") and props. */
int image_store_attrs(const char *id, json_t *cols, json_t *props, bool replace_tags, struct nl_error *err);
/* Reserved attribute names (location, deleted, ..., os_glance*): 403 to set or remove. */
bool image_attr_reserved(const char *k);
void image_render_error(const struct req *r, const struct nl_error *err, struct resp *out);

extern const struct stream_ops image_upload_ops;
/* Start-up repair, before the listeners open: partial upload files removed, images
 * left in saving (an upload cut off by a crash) back to queued. */
void image_startup_repair(void);

#endif
