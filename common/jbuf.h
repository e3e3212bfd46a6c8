/* A JSON text writer into a growable buffer, for responses too large to build as a
 * jansson tree first (a detail list of 1,000 servers is ~1.4 MB: building, dumping
 * and freeing the tree cost more than the rest of the request together).
 *
 * The writer tracks commas itself: jb_key() and the value calls insert one when the
 * current object or array already has a member. Strings are escaped as JSON requires;
 * they must be valid UTF-8 (everything the API stores came through a validating JSON
 * parser). Allocation failure aborts, as nl_calloc does. */
#ifndef NL_JBUF_H
#define NL_JBUF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define JB_DEPTH 32

struct jbuf {
	char *s;            /* owned; NUL-terminated */
	size_t len, cap;
	int depth;
	bool has_member[JB_DEPTH];
	bool after_key;
};

void jb_init(struct jbuf *b, size_t cap);
void jb_free(struct jbuf *b);
/* Hands the text over (owned by the caller); the buffer is empty afterwards. */
char *jb_steal(struct jbuf *b, size_t *len);

void jb_obj(struct jbuf *b);       /* { */
void jb_obj_end(struct jbuf *b);   /* } */
void jb_arr(struct jbuf *b);       /* [ */
void jb_arr_end(struct jbuf *b);   /* ] */
void jb_key(struct jbuf *b, const char *k);
void jb_str(struct jbuf *b, const char *s);          /* NULL writes null */
void jb_strf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jb_int(struct jbuf *b, long long v);
void jb_bool(struct jbuf *b, bool v);
void jb_null(struct jbuf *b);
/* Any jansson value (compact), e.g. a borrowed metadata object or a row column. */
void jb_json(struct jbuf *b, const json_t *v);
/* Text that is already valid JSON (a cached fragment). */
void jb_raw(struct jbuf *b, const char *json, size_t len);

#endif
