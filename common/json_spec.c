/* Spec-driven validation. The messages reproduce jsonschema 4 (as used by Nova and
 * Keystone on Debian 12) so clients and Tempest see the same text. No I/O. */
#include "common/json_spec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

struct sbuf { char *p; size_t len, used; };

static void sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->used + 1 >= b->len)
		return;
	if (n > b->len - b->used - 1)
		n = b->len - b->used - 1;
	memcpy(b->p + b->used, s, n);
	b->used += n;
	b->p[b->used] = '\0';
}

static void repr_str(struct sbuf *b, const char *s)
{
	/* Python prefers single quotes unless the string contains one and no double quote. */
	char q = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
	char one[8];
	snprintf(one, sizeof(one), "%c", q);
	sb_add(b, one);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\') sb_add(b, "\\\\");
		else if (*p == (unsigned char)q) { sb_add(b, "\\"); sb_add(b, one); }
		else if (*p == '\n') sb_add(b, "\\n");
		else if (*p == '\t') sb_add(b, "\\t");
		else if (*p == '\r') sb_add(b, "\\r");
		else if (*p < 0x20 || *p == 0x7f) {
			char x[8];
			snprintf(x, sizeof(x), "\\x%02x", *p);
			sb_add(b, x);
		} else {
			char c[2] = { (char)*p, 0 };
			sb_add(b, c);
		}
	}
	sb_add(b, one);
}

static void repr(struct sbuf *b, const json_t *v)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING: repr_str(b, json_string_value(v)); break;
	case JSON_INTEGER: snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)); sb_add(b, num); break;
	case JSON_REAL: {
		double d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 1e16) snprintf(num, sizeof(num), "%.1f", d);
		else snprintf(num, sizeof(num), "%.17g", d);
		sb_add(b, num);
		break;
	}
	case JSON_TRUE: sb_add(b, "True"); break;
	case JSON_FALSE: sb_add(b, "False"); break;
	case JSON_NULL: sb_add(b, "None"); break;
	case JSON_ARRAY: {
		size_t i; json_t *x;
		sb_add(b, "[");
		json_array_foreach(v, i, x) { if (i) sb_add(b, ", "); repr(b, x); }
		sb_add(b, "]");
		break;
	}
	case JSON_OBJECT: {
		const char *k; json_t *x; int first = 1;
		sb_add(b, "{");
		json_object_foreach((json_t *)v, k, x) {
			if (!first) sb_add(b, ", ");
			first = 0;
			repr_str(b, k); sb_add(b, ": "); repr(b, x);
		}
		sb_add(b, "}");
		break;
	}
	}
}

void json_py_repr(const json_t *v, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	buf[0] = '\0';
	if (!v) { sb_add(&b, "None"); return; }
	repr(&b, v);
}

/* Value as Nova's "%s" shows it: strings bare, everything else as repr. */
static void value_str(const json_t *v, char *buf, size_t len)
{
	if (v && json_is_string(v)) snprintf(buf, len, "%s", json_string_value(v));
	else json_py_repr(v, buf, len);
}

struct ctx {
	enum spec_style style;
	struct nl_error *err;
	char path[256];   /* Keystone-style full path "user/name" */
};

/* Reports one failure. field: the innermost path element (NULL at the root). */
static int fail(struct ctx *c, const char *field, const json_t *value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct ctx *c, const char *field, const json_t *value, const char *fmt, ...)
{
	char msg[512], val[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!field) {
		nl_err_set(c->err, 400, "%s", msg);
	} else if (c->style == SPEC_STYLE_KEYSTONE) {
		nl_err_set(c->err, 400, "Invalid input for field '%s': %s", c->path[0] ? c->path : field, msg);
	} else {
		value_str(value, val, sizeof(val));
		nl_err_set(c->err, 400, "Invalid input for field/attribute %s. Value: %s. %s", field, val, msg);
	}
	return -1;
}

static const char *type_names(const struct field_spec *f)
{
	switch (f->type) {
	case SPEC_STRING: return f->flags & SPEC_NULLABLE ? "'string', 'null'" : "'string'";
	case SPEC_INT: return f->flags & SPEC_INT_STRING ? "'integer', 'string'" :
			      f->flags & SPEC_NULLABLE ? "'integer', 'null'" : "'integer'";
	case SPEC_NUMBER: return f->flags & SPEC_INT_STRING ? "'number', 'string'" : "'number'";
	case SPEC_BOOL: return f->flags & SPEC_BOOL_STRING ? "'boolean', 'string'" : "'boolean'";
	case SPEC_OBJECT: case SPEC_STRMAP: return f->flags & SPEC_NULLABLE ? "'object', 'null'" : "'object'";
	case SPEC_ARRAY: return "'array'";
	default: return "'any'";
	}
}

static bool in_charset(const char *s, const char *set)
{
	/* set is a character-class body such as "a-zA-Z0-9-_:. " (ASCII only). */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool ok = false;
		for (const char *q = set; *q && !ok; q++) {
			if (q[1] == '-' && q[2]) {
				ok = *p >= (unsigned char)q[0] && *p <= (unsigned char)q[2];
				q += 2;
			} else {
				ok = *p == (unsigned char)*q;
			}
		}
		if (!ok)
			return false;
	}
	return true;
}

static void *slot(void *out, const struct field_spec *f)
{
	return (out && f->offset != SPEC_NOSTORE) ? (char *)out + f->offset : NULL;
}

static int validate_object(struct ctx *c, const struct field_spec *fields, unsigned flags,
			   const char *name, json_t *obj, void *out);

static int parse_int_string(const char *s, long long *v)
{
	long long x = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (x > (1LL << 53))
			return 1;  /* huge: caller reports it against the maximum */
		x = x * 10 + (*s - '0');
	}
	*v = x;
	return 0;
}

static int validate_field(struct ctx *c, const struct field_spec *f, json_t *v, void *out)
{
	void *dst = slot(out, f);
	char buf[384];

	if (json_is_null(v) && (f->flags & SPEC_NULLABLE)) {
		if (dst) { spec_json_t *s = dst; s->set = true; s->null = true; }
		return 0;
	}
	switch (f->type) {
	case SPEC_STRING: {
		if (!json_is_string(v))
			goto type_error;
		const char *s = json_string_value(v);
		long n = nl_utf8_len(s);
		if (n < 0)
			return fail(c, f->name, v, "Invalid UTF-8");
		if (f->enumv) {
			bool ok = false;
			for (const char *const *e = f->enumv; *e; e++)
				ok |= strcmp(*e, s) == 0;
			if (!ok) {
				struct sbuf b = { buf, sizeof(buf), 0 };
				buf[0] = 0;
				sb_add(&b, "[");
				for (const char *const *e = f->enumv; *e; e++) {
					if (e != f->enumv) sb_add(&b, ", ");
					repr_str(&b, *e);
				}
				sb_add(&b, "]");
				char r[256];
				json_py_repr(v, r, sizeof(r));
				return fail(c, f->name, v, "%s is not one of %s", r, buf);
			}
		}
		if ((f->flags & SPEC_HAS_MIN) && n < f->min) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is too short", buf);
		}
		if ((f->flags & SPEC_HAS_MAX) && n > f->max) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is too long", buf);
		}
		if (f->format == FMT_NAME || f->format == FMT_NAME_LOOSE || f->format == FMT_KEYPAIR_20 ||
		    f->format == FMT_KEYPAIR_292) {
			static const char kp20[] = "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
			static const char kp292[] = "@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
			const char *reason = NULL;
			if (!nl_name_is_printable(s, f->format == FMT_NAME_LOOSE))
				reason = f->format == FMT_NAME_LOOSE ?
					 "printable characters with at least one non space character" :
					 "printable characters. Can not start or end with whitespace.";
			else if (f->format == FMT_KEYPAIR_20 && strspn(s, kp20) != strlen(s))
				reason = "Only expected characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]";
			else if (f->format == FMT_KEYPAIR_292 && strspn(s, kp292) != strlen(s))
				reason = "Only expected characters: [@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]";
			if (reason) {
				if (c->style == SPEC_STYLE_NOVA) {
					nl_err_set(c->err, 400, "An invalid 'name' value was provided. The name must be: %s",
						   reason);
					return -1;
				}
				return fail(c, f->name, v, "Invalid name");
			}
		} else if (f->format == FMT_FLAVOR_ID) {
			static const char ok[] = ". _-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
			size_t l = strlen(s);
			if (strspn(s, ok) != l || s[0] == ' ' || (l && s[l - 1] == ' ')) {
				json_py_repr(v, buf, sizeof(buf));
				return fail(c, f->name, v, "%s does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'", buf);
			}
		} else if (f->format == FMT_UUID && !nl_is_uuid_like(s)) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is not a 'uuid'", buf);
		} else if (f->format == FMT_CHARSET && !in_charset(s, f->charset)) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s does not match '^[%s]*$'", buf, f->charset);
		}
		if (dst) { spec_str_t *o = dst; o->set = true; o->v = s; }
		return 0;
	}
	case SPEC_INT: {
		long long x = 0;
		if (json_is_integer(v)) {
			x = json_integer_value(v);
		} else if (json_is_string(v) && (f->flags & SPEC_INT_STRING)) {
			const char *s = json_string_value(v);
			if (!*s && !(f->flags & SPEC_ALLOW_EMPTY_STR)) {
				json_py_repr(v, buf, sizeof(buf));
				return fail(c, f->name, v, "%s is too short", buf);
			}
			bool neg = (f->flags & SPEC_SIGNED) && s[0] == '-';
			int rc = parse_int_string(s + (neg ? 1 : 0), &x);
			if (rc < 0) {
				json_py_repr(v, buf, sizeof(buf));
				return fail(c, f->name, v, "%s does not match '%s'", buf,
					    (f->flags & SPEC_SIGNED) ? "^-?[0-9]+$" : "^[0-9]*$");
			}
			if (neg)
				x = -x;
			if (rc > 0) {
				json_py_repr(v, buf, sizeof(buf));
				return fail(c, f->name, v, "%s is greater than the maximum of %lld", buf, f->max);
			}
		} else {
			goto type_error;
		}
		if ((f->flags & SPEC_HAS_MIN) && x < f->min) {
			value_str(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is less than the minimum of %lld", buf, f->min);
		}
		if ((f->flags & SPEC_HAS_MAX) && x > f->max) {
			value_str(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is greater than the maximum of %lld", buf, f->max);
		}
		if (dst) { spec_int_t *o = dst; o->set = true; o->v = x; }
		return 0;
	}
	case SPEC_NUMBER: {
		double x;
		if (json_is_number(v)) {
			x = json_number_value(v);
		} else if (json_is_string(v) && (f->flags & SPEC_INT_STRING)) {
			char *end;
			const char *s = json_string_value(v);
			x = strtod(s, &end);
			if (!*s || *end) {
				json_py_repr(v, buf, sizeof(buf));
				return fail(c, f->name, v, "%s does not match '^[0-9]+(\\.[0-9]+)?$'", buf);
			}
		} else {
			goto type_error;
		}
		if ((f->flags & SPEC_HAS_MIN) && x < (double)f->min) {
			value_str(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is less than the minimum of %lld", buf, f->min);
		}
		if ((f->flags & SPEC_HAS_MAX) && x > (double)f->max) {
			value_str(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is greater than the maximum of %lld", buf, f->max);
		}
		if (dst) { spec_num_t *o = dst; o->set = true; o->v = x; }
		return 0;
	}
	case SPEC_BOOL: {
		bool b;
		if (json_is_boolean(v)) {
			b = json_is_true(v);
		} else if (json_is_string(v) && (f->flags & SPEC_BOOL_STRING)) {
			/* Nova parameter_types.boolean: enum of these spellings. */
			static const char *t[] = { "1", "t", "true", "on", "y", "yes", "True", "TRUE", "On", "ON", "Y", "YES", "T" };
			static const char *fl[] = { "0", "f", "false", "off", "n", "no", "False", "FALSE", "Off", "OFF", "N", "NO", "F" };
			const char *s = json_string_value(v);
			int which = -1;
			for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
				if (!strcmp(s, t[i])) which = 1;
				if (!strcmp(s, fl[i])) which = 0;
			}
			if (which < 0) {
				json_py_repr(v, buf, sizeof(buf));
				return fail(c, f->name, v, "%s is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', "
					    "'On', 'on', 'YES', 'Yes', 'yes', 'y', 't', False, 'False', 'FALSE', 'false', "
					    "'0', 'OFF', 'Off', 'off', 'NO', 'No', 'no', 'n', 'f']", buf);
			}
			b = which == 1;
		} else {
			goto type_error;
		}
		if (dst) { spec_bool_t *o = dst; o->set = true; o->v = b; }
		return 0;
	}
	case SPEC_OBJECT: {
		if (!json_is_object(v))
			goto type_error;
		if (dst) { spec_json_t *o = dst; o->set = true; o->v = v; }
		return validate_object(c, f->sub, f->flags, f->name, v, out);
	}
	case SPEC_STRMAP: {
		const char *k; json_t *x;
		if (!json_is_object(v))
			goto type_error;
		json_object_foreach(v, k, x) {
			long kl = nl_utf8_len(k);
			if (kl < 1 || kl > 255 || (f->charset && !in_charset(k, f->charset))) {
				return fail(c, f->name, v, "Additional properties are not allowed ('%s' was unexpected)", k);
			}
			bool num_ok = (f->flags & SPEC_INT_STRING) && json_is_number(x);
			if (!json_is_string(x) && !num_ok) {
				json_py_repr(x, buf, sizeof(buf));
				return fail(c, k, x, "%s is not of type %s", buf,
					    (f->flags & SPEC_INT_STRING) ? "'string', 'number'" : "'string'");
			}
			if (json_is_string(x) && nl_utf8_len(json_string_value(x)) > 255) {
				json_py_repr(x, buf, sizeof(buf));
				return fail(c, k, x, "%s is too long", buf);
			}
		}
		if ((f->flags & SPEC_HAS_MIN) && (long long)json_object_size(v) < f->min) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s does not have enough properties", buf);
		}
		if (dst) { spec_json_t *o = dst; o->set = true; o->v = v; }
		return 0;
	}
	case SPEC_ARRAY: {
		if (!json_is_array(v))
			goto type_error;
		if (f->sub) {
			size_t i; json_t *x;
			json_array_foreach(v, i, x) {
				if (validate_field(c, &f->sub[0], x, NULL))
					return -1;
			}
		}
		if (dst) { spec_json_t *o = dst; o->set = true; o->v = v; }
		return 0;
	}
	case SPEC_ANY:
		if (dst) { spec_json_t *o = dst; o->set = true; o->v = v; }
		return 0;
	case SPEC_END:
		break;
	}
	return 0;
type_error:
	json_py_repr(v, buf, sizeof(buf));
	return fail(c, f->name, v, "%s is not of type %s", buf, type_names(f));
}

static int validate_object(struct ctx *c, const struct field_spec *fields, unsigned flags,
			   const char *name, json_t *obj, void *out)
{
	char buf[512];
	size_t plen = strlen(c->path);

	if (flags & SPEC_NO_EXTRA) {
		const char *k; json_t *x;
		struct sbuf b = { buf, sizeof(buf), 0 };
		int extra = 0;
		buf[0] = 0;
		json_object_foreach(obj, k, x) {
			bool known = false;
			for (const struct field_spec *f = fields; f && f->type != SPEC_END; f++)
				known |= strcmp(f->name, k) == 0;
			if (!known) {
				if (extra++) sb_add(&b, ", ");
				repr_str(&b, k);
			}
		}
		if (extra)
			return fail(c, name, obj, "Additional properties are not allowed (%s %s unexpected)",
				    buf, extra > 1 ? "were" : "was");
	}
	for (const struct field_spec *f = fields; f && f->type != SPEC_END; f++) {
		if ((f->flags & SPEC_REQUIRED) && !json_object_get(obj, f->name))
			return fail(c, name, obj, "'%s' is a required property", f->name);
	}
	for (const struct field_spec *f = fields; f && f->type != SPEC_END; f++) {
		json_t *v = json_object_get(obj, f->name);
		if (!v)
			continue;
		snprintf(c->path + plen, sizeof(c->path) - plen, "%s%s", plen ? "/" : "", f->name);
		int rc = validate_field(c, f, v, out);
		c->path[plen] = '\0';
		if (rc)
			return -1;
	}
	return 0;
}

int json_spec_validate(const struct field_spec *fields, unsigned root_flags, json_t *root,
		       void *out, enum spec_style style, struct nl_error *err)
{
	struct ctx c = { style, err, "" };
	char buf[384];

	if (!root || !json_is_object(root)) {
		json_py_repr(root, buf, sizeof(buf));
		return fail(&c, NULL, root, "%s is not of type 'object'", buf);
	}
	return validate_object(&c, fields, root_flags, NULL, root, out);
}
