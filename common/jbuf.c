/* JSON text writer (common/jbuf.h). */
#include "common/jbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void jb_init(struct jbuf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap < 64 ? 64 : cap;
	b->s = nl_calloc(1, b->cap);
}

void jb_free(struct jbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *jb_steal(struct jbuf *b, size_t *len)
{
	char *s = b->s;
	if (len)
		*len = b->len;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

static void grow(struct jbuf *b, size_t need)
{
	if (b->len + need + 1 <= b->cap)
		return;
	while (b->len + need + 1 > b->cap)
		b->cap *= 2;
	b->s = nl_realloc(b->s, b->cap);
}

static void put(struct jbuf *b, const char *s, size_t n)
{
	grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* A value or key is about to start: a comma if the container has members already. */
static void sep(struct jbuf *b)
{
	if (b->after_key) {
		b->after_key = false;
		return;
	}
	if (b->depth > 0 && b->has_member[b->depth - 1])
		put(b, ",", 1);
	if (b->depth > 0)
		b->has_member[b->depth - 1] = true;
}

static void open_c(struct jbuf *b, char c)
{
	sep(b);
	put(b, &c, 1);
	if (b->depth < JB_DEPTH)
		b->has_member[b->depth] = false;
	b->depth++;
}

static void close_c(struct jbuf *b, char c)
{
	b->depth--;
	put(b, &c, 1);
}

void jb_obj(struct jbuf *b) { open_c(b, '{'); }
void jb_obj_end(struct jbuf *b) { close_c(b, '}'); }
void jb_arr(struct jbuf *b) { open_c(b, '['); }
void jb_arr_end(struct jbuf *b) { close_c(b, ']'); }

static void escaped(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *run = p;
	grow(b, strlen(s) + 2);
	put(b, "\"", 1);
	for (; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		put(b, (const char *)run, (size_t)(p - run));
		switch (*p) {
		case '"': put(b, "\\\"", 2); break;
		case '\\': put(b, "\\\\", 2); break;
		case '\n': put(b, "\\n", 2); break;
		case '\r': put(b, "\\r", 2); break;
		case '\t': put(b, "\\t", 2); break;
		case '\b': put(b, "\\b", 2); break;
		case '\f': put(b, "\\f", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			put(b, u, 6);
		}
		}
		run = p + 1;
	}
	put(b, (const char *)run, (size_t)(p - run));
	put(b, "\"", 1);
}

void jb_key(struct jbuf *b, const char *k)
{
	sep(b);
	escaped(b, k);
	put(b, ":", 1);
	b->after_key = true;
}

void jb_str(struct jbuf *b, const char *s)
{
	sep(b);
	if (s)
		escaped(b, s);
	else
		put(b, "null", 4);
}

void jb_strf(struct jbuf *b, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nl_utf8_trim(buf);
	jb_str(b, buf);
}

void jb_int(struct jbuf *b, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", v);
	sep(b);
	put(b, buf, (size_t)n);
}

void jb_bool(struct jbuf *b, bool v)
{
	sep(b);
	put(b, v ? "true" : "false", v ? 4 : 5);
}

void jb_null(struct jbuf *b)
{
	sep(b);
	put(b, "null", 4);
}

void jb_json(struct jbuf *b, const json_t *v)
{
	if (!v || json_is_null(v)) {
		jb_null(b);
		return;
	}
	if (json_is_string(v)) {
		jb_str(b, json_string_value(v));
		return;
	}
	if (json_is_integer(v)) {
		jb_int(b, json_integer_value(v));
		return;
	}
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	sep(b);
	if (t)
		put(b, t, strlen(t));
	else
		put(b, "null", 4);
	free(t);
}

void jb_raw(struct jbuf *b, const char *json, size_t len)
{
	sep(b);
	put(b, json, len);
}
