/* Spec-driven validation. The messages reproduce jsonschema 4.10 as Nova 26 (Zed) and
 * Keystone use it on Debian 12, so clients and Tempest see the same text: value errors
 * of properties first (in spec order), then "required", then "additionalProperties"
 * (the key order of Nova's schema dicts). No I/O. */
#include "common/json_spec.h"

#include <arpa/inet.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
	nl_utf8_trim(b->p);   /* never stop inside a character when the buffer fills */
	b->used = strlen(b->p);
}

/* Decodes one UTF-8 sequence (input already validated); returns its length. */
static int utf8_cp(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) { *cp = s[0]; return 1; }
	if ((s[0] & 0xE0) == 0xC0) { *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F); return 2; }
	if ((s[0] & 0xF0) == 0xE0) {
		*cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
		return 3;
	}
	*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
	      ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
	return 4;
}

/* Python's str.isprintable() for repr(): categories C* and Z* are escaped, except ' '. */
static bool py_printable(uint32_t cp)
{
	if (cp == ' ')
		return true;
	if (cp >= 0x10000)
		return !(cp >= 0xE0000 && cp <= 0xE0FFF) && !(cp >= 0xF0000);   /* tags, private use */
	return nl_cp_is_printable(cp) && !nl_cp_is_space(cp);
}

static void repr_str(struct sbuf *b, const char *s)
{
	/* Python prefers single quotes unless the string contains one and no double quote. */
	char q = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
	char one[2] = { q, 0 };
	const unsigned char *p = (const unsigned char *)s;

	sb_add(b, one);
	while (*p) {
		uint32_t cp;
		int k = utf8_cp(p, &cp);
		char x[16];
		if (cp == '\\') sb_add(b, "\\\\");
		else if (cp == (uint32_t)q) { sb_add(b, "\\"); sb_add(b, one); }
		else if (cp == '\n') sb_add(b, "\\n");
		else if (cp == '\t') sb_add(b, "\\t");
		else if (cp == '\r') sb_add(b, "\\r");
		else if (!py_printable(cp)) {
			snprintf(x, sizeof(x), cp < 0x100 ? "\\x%02x" : cp < 0x10000 ? "\\u%04x" : "\\U%08x", cp);
			sb_add(b, x);
		} else {
			memcpy(x, p, (size_t)k);
			x[k] = 0;
			sb_add(b, x);
		}
		p += k;
	}
	sb_add(b, one);
}

/* Python's repr(float): the shortest string that round-trips; scientific notation
 * when the decimal exponent is < -4 or >= 16; always a '.' or an exponent. */
static void repr_float(double d, char *out, size_t len)
{
	char tmp[64];
	int prec;

	if (isnan(d)) { snprintf(out, len, "nan"); return; }
	if (isinf(d)) { snprintf(out, len, d < 0 ? "-inf" : "inf"); return; }
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
	int exp10 = atoi(strchr(tmp, 'e') + 1);
	if (exp10 < -4 || exp10 >= 16) {
		/* mantissa digits, then e+XX with at least two exponent digits */
		char mant[40];
		snprintf(mant, sizeof(mant), "%.*s", (int)(strchr(tmp, 'e') - tmp), tmp);
		snprintf(out, len, "%se%c%02d", mant, exp10 < 0 ? '-' : '+', abs(exp10));
		return;
	}
	int decimals = prec - 1 - exp10;
	if (decimals < 1)
		decimals = 1;
	snprintf(out, len, "%.*f", decimals, d);
}

static void repr(struct sbuf *b, const json_t *v)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING: repr_str(b, json_string_value(v)); break;
	case JSON_INTEGER: snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)); sb_add(b, num); break;
	case JSON_REAL: repr_float(json_real_value(v), num, sizeof(num)); sb_add(b, num); break;
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
	if (v && json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
		nl_utf8_trim(buf);
	} else {
		json_py_repr(v, buf, len);
	}
}

struct ctx {
	enum spec_style style;
	struct nl_error *err;
	char path[256];   /* full path "user/name" (Keystone shows it minus the wrapper) */
};

/* Reports one failure. field: the innermost path element (NULL at the root). */
static int fail(struct ctx *c, const char *field, const json_t *value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct ctx *c, const char *field, const json_t *value, const char *fmt, ...)
{
	char msg[600], val[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nl_utf8_trim(msg);
	if (c->style == SPEC_STYLE_KEYSTONE) {
		/* Keystone validates the wrapper's content ({"project": X} → X), so its paths
		 * start below the wrapper; an error on the wrapper itself has no path. */
		const char *slash = strchr(c->path, '/');
		if (field && slash)
			nl_err_set(c->err, 400, "Invalid input for field '%s': %s", slash + 1, msg);
		else
			nl_err_set(c->err, 400, "%s", msg);
	} else if (!field) {
		nl_err_set(c->err, 400, "%s", msg);
	} else {
		value_str(value, val, sizeof(val));
		nl_err_set(c->err, 400, "Invalid input for %s %s. Value: %s. %s",
			   c->style == SPEC_STYLE_NOVA_QUERY ? "query parameters" : "field/attribute", field, val, msg);
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

/* Digits only; 1 when too large for an int64 (the caller reports the maximum). */
static int parse_digits(const char *s, long long *v)
{
	long long x = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (x > (1LL << 53))
			return 1;
		x = x * 10 + (*s - '0');
	}
	*v = x;
	return 0;
}

/* ^[0-9]+(\.[0-9]+)?$ */
static bool decimal_string(const char *s)
{
	size_t n = strspn(s, "0123456789");
	if (!n)
		return false;
	if (!s[n])
		return true;
	return s[n] == '.' && strspn(s + n + 1, "0123456789") > 0 &&
	       !s[n + 1 + strspn(s + n + 1, "0123456789")];
}

/* Nova's parameter_types.boolean enum, in its order (for the message too). */
static const char *const bool_true[] = { "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes" };
static const char *const bool_false[] = { "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no" };

static int validate_string(struct ctx *c, const struct field_spec *f, json_t *v, void *dst)
{
	char buf[400];
	const char *s = json_string_value(v);
	long n = nl_utf8_len(s);

	if (n < 0)
		return fail(c, f->name, v, "Invalid UTF-8");
	if (f->enumv) {
		bool ok = false;
		for (const char *const *e = f->enumv; *e; e++)
			ok |= strcmp(*e, s) == 0;
		if (!ok) {
			char r[256];
			struct sbuf b = { buf, sizeof(buf), 0 };
			buf[0] = 0;
			sb_add(&b, "[");
			for (const char *const *e = f->enumv; *e; e++) {
				if (e != f->enumv) sb_add(&b, ", ");
				repr_str(&b, *e);
			}
			sb_add(&b, "]");
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
		if (f->format == FMT_NAME_LOOSE) {
			/* at least one non-space character */
			if (!nl_name_is_printable(s, true) || (n > 0 && strspn(s, " ") == strlen(s)))
				reason = "printable characters with at least one non space character";
		} else if (!nl_name_is_printable(s, false)) {
			reason = "printable characters. Can not start or end with whitespace.";
		} else if (f->format == FMT_KEYPAIR_20 && strspn(s, kp20) != strlen(s)) {
			reason = "Only expected characters: [_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]";
		} else if (f->format == FMT_KEYPAIR_292 && strspn(s, kp292) != strlen(s)) {
			reason = "Only expected characters: [@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ]";
		}
		if (reason) {
			if (c->style != SPEC_STYLE_KEYSTONE) {
				nl_err_set(c->err, 400, "An invalid 'name' value was provided. The name must be: %s", reason);
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
	} else if (f->format == FMT_HOSTNAME) {
		/* Letters, digits and inner hyphens only: a hostname reaches the DHCP host
		 * file (comma-separated), the config drive and the guest. */
		static const char ok[] = "-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
		size_t l = strlen(s);
		if (l < 2 || strspn(s, ok) != l || s[0] == '-' || s[l - 1] == '-') {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s does not match '^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'", buf);
		}
	} else if (f->format == FMT_PRINTABLE && !nl_name_is_printable(s, true)) {
		/* Nova's valid_description_regex: ^[<every printable character>]*$ (shown short here) */
		json_py_repr(v, buf, sizeof(buf));
		return fail(c, f->name, v, "%s does not match '^[<printable characters>]*$'", buf);
	} else if (f->format == FMT_IPV4 || f->format == FMT_IPV6) {
		unsigned char addr[16];
		int fam = f->format == FMT_IPV4 ? AF_INET : AF_INET6;
		if (inet_pton(fam, s, addr) != 1) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is not a '%s'", buf, fam == AF_INET ? "ipv4" : "ipv6");
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

static int validate_int(struct ctx *c, const struct field_spec *f, json_t *v, void *dst)
{
	char buf[400], shown[64];
	long long x = 0;

	if (json_is_integer(v)) {
		x = json_integer_value(v);
		snprintf(shown, sizeof(shown), "%lld", x);
	} else if (json_is_string(v) && (f->flags & SPEC_INT_STRING)) {
		const char *s = json_string_value(v);
		const char *pattern = (f->flags & SPEC_SIGNED) ? "^-?[0-9]+$" :
				      (f->flags & SPEC_DIGITS_PLUS) ? "^[0-9]+$" : "^[0-9]*$";
		bool has_min_len = !(f->flags & (SPEC_SIGNED | SPEC_DIGITS_PLUS | SPEC_ALLOW_EMPTY_STR));
		if (!*s && has_min_len) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is too short", buf);
		}
		bool neg = (f->flags & SPEC_SIGNED) && s[0] == '-';
		int rc = parse_digits(s + (neg ? 1 : 0), &x);
		if (rc < 0) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s does not match '%s'", buf, pattern);
		}
		/* Nova compares int(value): the number is shown bare, as given. */
		snprintf(shown, sizeof(shown), "%s", s);
		/* Too large for an int64: out of range when the field has a bound on that side;
		 * Python has no such limit, so an unbounded field gets the int64 extreme. */
		if (rc > 0 && (f->flags & (neg ? SPEC_HAS_MIN : SPEC_HAS_MAX)))
			return fail(c, f->name, v, "%s is %s than the %s of %lld", shown, neg ? "less" : "greater",
				    neg ? "minimum" : "maximum", neg ? f->min : f->max);
		if (rc > 0)
			x = neg ? -LLONG_MAX : LLONG_MAX;
		else if (neg)
			x = -x;
	} else {
		json_py_repr(v, buf, sizeof(buf));
		return fail(c, f->name, v, "%s is not of type %s", buf, type_names(f));
	}
	if ((f->flags & SPEC_HAS_MIN) && x < f->min)
		return fail(c, f->name, v, "%s is less than the minimum of %lld", shown, f->min);
	if ((f->flags & SPEC_HAS_MAX) && x > f->max)
		return fail(c, f->name, v, "%s is greater than the maximum of %lld", shown, f->max);
	if (dst) { spec_int_t *o = dst; o->set = true; o->v = x; }
	return 0;
}

static int validate_number(struct ctx *c, const struct field_spec *f, json_t *v, void *dst)
{
	char buf[400], shown[64];
	double x;

	if (json_is_number(v)) {
		x = json_number_value(v);
		json_py_repr(v, shown, sizeof(shown));
	} else if (json_is_string(v) && (f->flags & SPEC_INT_STRING)) {
		const char *s = json_string_value(v);
		if (!decimal_string(s)) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s does not match '^[0-9]+(\\\\.[0-9]+)?$'", buf);
		}
		x = strtod(s, NULL);
		snprintf(shown, sizeof(shown), "%s", s);
	} else {
		json_py_repr(v, buf, sizeof(buf));
		return fail(c, f->name, v, "%s is not of type %s", buf, type_names(f));
	}
	if ((f->flags & SPEC_HAS_MIN) && (f->flags & SPEC_EXCL_MIN) && x <= (double)f->min)
		return fail(c, f->name, v, "%s is less than or equal to the minimum of %lld", shown, f->min);
	if ((f->flags & SPEC_HAS_MIN) && !(f->flags & SPEC_EXCL_MIN) && x < (double)f->min)
		return fail(c, f->name, v, "%s is less than the minimum of %lld", shown, f->min);
	if ((f->flags & SPEC_HAS_MAX) && x > (double)f->max)
		return fail(c, f->name, v, "%s is greater than the maximum of %lld", shown, f->max);
	if (dst) { spec_num_t *o = dst; o->set = true; o->v = x; }
	return 0;
}

static int validate_bool(struct ctx *c, const struct field_spec *f, json_t *v, void *dst)
{
	char buf[400];
	int which = -1;

	if (json_is_boolean(v)) {
		which = json_is_true(v);
	} else if (json_is_string(v) && (f->flags & SPEC_BOOL_STRING)) {
		const char *s = json_string_value(v);
		for (size_t i = 0; i < sizeof(bool_true) / sizeof(bool_true[0]); i++) {
			if (!strcmp(s, bool_true[i])) which = 1;
			if (!strcmp(s, bool_false[i])) which = 0;
		}
		if (which < 0) {
			json_py_repr(v, buf, sizeof(buf));
			return fail(c, f->name, v, "%s is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', "
				    "'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', "
				    "'off', 'NO', 'No', 'no']", buf);
		}
	} else {
		json_py_repr(v, buf, sizeof(buf));
		return fail(c, f->name, v, "%s is not of type %s", buf, type_names(f));
	}
	if (dst) { spec_bool_t *o = dst; o->set = true; o->v = which == 1; }
	return 0;
}

static int validate_strmap(struct ctx *c, const struct field_spec *f, json_t *v, void *dst)
{
	char buf[400];
	const char *k;
	json_t *x;

	/* Nova's metadata: patternProperties {"^[charset]{1,255}$": string ≤ 255}, no others. */
	json_object_foreach(v, k, x) {
		long kl = nl_utf8_len(k);
		if (kl < 1 || kl > 255 || (f->charset && !in_charset(k, f->charset))) {
			char kr[300];
			struct sbuf b = { kr, sizeof(kr), 0 };
			kr[0] = 0;
			repr_str(&b, k);
			return fail(c, f->name, v, "%s does not match any of the regexes: '^[%s]{1,255}$'", kr,
				    f->charset ? f->charset : "\\s\\S");
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

static int validate_field(struct ctx *c, const struct field_spec *f, json_t *v, void *out)
{
	void *dst = slot(out, f);
	char buf[400];

	if (json_is_null(v) && (f->flags & SPEC_NULLABLE)) {
		if (dst) { spec_json_t *s = dst; s->set = true; s->null = true; }
		return 0;
	}
	switch (f->type) {
	case SPEC_STRING:
		if (!json_is_string(v))
			break;
		return validate_string(c, f, v, dst);
	case SPEC_INT:
		return validate_int(c, f, v, dst);
	case SPEC_NUMBER:
		return validate_number(c, f, v, dst);
	case SPEC_BOOL:
		return validate_bool(c, f, v, dst);
	case SPEC_OBJECT:
		if (!json_is_object(v))
			break;
		if (dst) { spec_json_t *o = dst; o->set = true; o->v = v; }
		return validate_object(c, f->sub, f->flags, f->name, v, out);
	case SPEC_STRMAP:
		if (!json_is_object(v))
			break;
		return validate_strmap(c, f, v, dst);
	case SPEC_ARRAY:
		if (!json_is_array(v))
			break;
		if (f->sub) {
			/* An item's path ends with its index, as jsonschema's does. */
			size_t i, plen = strlen(c->path);
			json_t *x;
			json_array_foreach(v, i, x) {
				struct field_spec item = f->sub[0];
				char idx[24];
				snprintf(idx, sizeof(idx), "%zu", i);
				item.name = idx;
				snprintf(c->path + plen, sizeof(c->path) - plen, "/%zu", i);
				int rc = validate_field(c, &item, x, NULL);
				c->path[plen] = '\0';
				if (rc)
					return -1;
			}
		}
		if (dst) { spec_json_t *o = dst; o->set = true; o->v = v; }
		return 0;
	case SPEC_ANY:
		if (dst) { spec_json_t *o = dst; o->set = true; o->v = v; }
		return 0;
	case SPEC_END:
		return 0;
	}
	json_py_repr(v, buf, sizeof(buf));
	return fail(c, f->name, v, "%s is not of type %s", buf, type_names(f));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int validate_object(struct ctx *c, const struct field_spec *fields, unsigned flags,
			   const char *name, json_t *obj, void *out)
{
	size_t plen = strlen(c->path);

	/* 1. properties, in spec order */
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
	/* 2. required */
	for (const struct field_spec *f = fields; f && f->type != SPEC_END; f++) {
		if ((f->flags & SPEC_REQUIRED) && !json_object_get(obj, f->name))
			return fail(c, name, obj, "'%s' is a required property", f->name);
	}
	/* 3. additionalProperties: jsonschema lists the unexpected keys sorted */
	if (flags & SPEC_NO_EXTRA) {
		const char *k, *extra[64];
		json_t *x;
		size_t n = 0;
		json_object_foreach(obj, k, x) {
			bool known = false;
			for (const struct field_spec *f = fields; f && f->type != SPEC_END; f++)
				known |= strcmp(f->name, k) == 0;
			if (!known && n < 64)
				extra[n++] = k;
		}
		if (n) {
			char buf[512];
			struct sbuf b = { buf, sizeof(buf), 0 };
			buf[0] = 0;
			qsort(extra, n, sizeof(extra[0]), cmp_str);
			for (size_t i = 0; i < n; i++) {
				if (i) sb_add(&b, ", ");
				repr_str(&b, extra[i]);
			}
			return fail(c, name, obj, "Additional properties are not allowed (%s %s unexpected)",
				    buf, n > 1 ? "were" : "was");
		}
	}
	return 0;
}

int json_spec_validate(const struct field_spec *fields, unsigned root_flags, json_t *root,
		       void *out, enum spec_style style, struct nl_error *err)
{
	struct ctx c = { style, err, "" };
	char buf[400];

	if (!root || !json_is_object(root)) {
		json_py_repr(root, buf, sizeof(buf));
		return fail(&c, NULL, root, "%s is not of type 'object'", buf);
	}
	return validate_object(&c, fields, root_flags, NULL, root, out);
}
