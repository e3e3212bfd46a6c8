/* Declarative request-body validation, mirroring Nova's (and Keystone's) JSON schemas.
 *
 * A route declares a table of struct field_spec; json_spec_validate() checks the
 * parsed body against it and fills a C struct the handler reads. Failures are
 * reported in the service's exact wording ("Invalid input for field/attribute …").
 * Nested wrapper objects ({"flavor": {...}}) flatten into the same output struct. */
#ifndef NL_JSON_SPEC_H
#define NL_JSON_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

enum spec_type {
	SPEC_END = 0,
	SPEC_STRING,
	SPEC_INT,        /* JSON integer; with SPEC_INT_STRING also a string of digits */
	SPEC_NUMBER,     /* integer or float (e.g. rxtx_factor) */
	SPEC_BOOL,       /* JSON true/false; with SPEC_BOOL_STRING also "true"/"False"/... */
	SPEC_OBJECT,     /* nested spec in .sub */
	SPEC_STRMAP,     /* object of string -> string (metadata, extra_specs) */
	SPEC_ARRAY,      /* any JSON array (items checked by .sub's first field if given) */
	SPEC_ANY,
};

enum spec_format {
	FMT_NONE = 0,
	FMT_NAME,        /* Nova "name": printable, no leading/trailing whitespace */
	FMT_NAME_LOOSE,  /* Nova "name_with_leading_trailing_spaces" */
	FMT_PRINTABLE,   /* Nova descriptions: printable characters, spaces anywhere */
	FMT_UUID,
	FMT_CHARSET,     /* every character in .charset (a simple [a-z...] class body) */
	FMT_KEYPAIR_20,  /* Nova name + only [_- 0-9a-zA-Z] (keypair_name_20) */
	FMT_KEYPAIR_292, /* Nova name + only [@._- 0-9a-zA-Z] (keypair_name_292) */
	FMT_FLAVOR_ID,   /* ^(?! )[a-zA-Z0-9. _-]+(?<! )$ */
	FMT_HOSTNAME,    /* Nova parameter_types.hostname: ^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$ */
	FMT_IPV4,        /* Nova format 'ipv4' (accessIPv4): a dotted quad */
	FMT_IPV6,        /* Nova format 'ipv6' (accessIPv6) */
};

#define SPEC_REQUIRED     0x01u
#define SPEC_NULLABLE     0x02u
#define SPEC_INT_STRING   0x04u  /* Nova positive_integer: ["integer","string"] + pattern ^[0-9]*$ */
#define SPEC_BOOL_STRING  0x08u  /* Nova parameter_types.boolean */
#define SPEC_NO_EXTRA     0x10u  /* on SPEC_OBJECT: additionalProperties false */
#define SPEC_HAS_MIN      0x20u
#define SPEC_HAS_MAX      0x40u
#define SPEC_ALLOW_EMPTY_STR 0x80u /* SPEC_INT_STRING: Nova's ^[0-9]*$ with no minLength */
#define SPEC_SIGNED       0x100u /* SPEC_INT_STRING: pattern ^-?[0-9]+$ (quota values) */
#define SPEC_DIGITS_PLUS  0x200u /* SPEC_INT_STRING: pattern ^[0-9]+$, no minLength (Nova volume_size) */
#define SPEC_EXCL_MIN     0x400u /* SPEC_NUMBER: value must be > min (exclusiveMinimum) */

#define SPEC_NOSTORE ((size_t)-1)

/* Output slots a spec writes into. `set` means the key was present (even as null). */
typedef struct { bool set; bool null; const char *v; } spec_str_t;
typedef struct { bool set; bool null; long long v; } spec_int_t;
typedef struct { bool set; bool null; double v; } spec_num_t;
typedef struct { bool set; bool null; bool v; } spec_bool_t;
typedef struct { bool set; bool null; json_t *v; } spec_json_t; /* borrowed */

struct field_spec {
	const char *name;
	enum spec_type type;
	unsigned flags;
	long long min, max;         /* string: length in code points; int/number: value */
	enum spec_format format;
	const char *charset;        /* FMT_CHARSET, shown as pattern ^[charset]*$ in errors */
	const char *const *enumv;   /* NULL-terminated allowed values for strings */
	size_t offset;              /* into the output struct, or SPEC_NOSTORE */
	const struct field_spec *sub;
};

enum spec_style {
	SPEC_STYLE_NOVA,        /* "Invalid input for field/attribute f. Value: v. msg" */
	SPEC_STYLE_NOVA_QUERY,  /* "Invalid input for query parameters f. Value: v. msg" */
	SPEC_STYLE_KEYSTONE,    /* "Invalid input for field 'a/b': msg" */
};

/* Validates root (the parsed body; NULL means "no body") against the fields of an
 * implicit root object. Returns 0, or -1 with err set to 400 and the message. */
int json_spec_validate(const struct field_spec *fields, unsigned root_flags, json_t *root,
		       void *out, enum spec_style style, struct nl_error *err);

/* Python repr() of a JSON value, as Nova's messages show it ('x', True, None, {...}). */
void json_py_repr(const json_t *v, char *buf, size_t len);

#endif

/* Table-writing shorthand: FIELD(struct x_in, member, "key", SPEC_STRING, flags, .min = 1, ...) */
#define FIELD(T, member, key, type_, flags_, ...) \
	{ .name = (key), .type = (type_), .flags = (flags_), .offset = offsetof(T, member), __VA_ARGS__ }
/* A wrapper/nested object whose members flatten into the same output struct. */
#define NESTED(T, member, key, flags_, sub_) \
	{ .name = (key), .type = SPEC_OBJECT, .flags = (flags_), .offset = offsetof(T, member), .sub = (sub_) }
/* A wrapper object ({"flavor": {...}}) that is only structure: nothing stored for it. */
#define WRAPPER(key, flags_, sub_) \
	{ .name = (key), .type = SPEC_OBJECT, .flags = (flags_), .offset = SPEC_NOSTORE, .sub = (sub_) }
#define SPEC_END_ROW { .name = NULL, .type = SPEC_END }
#define LEN(lo, hi) .min = (lo), .max = (hi)
#define BOUNDED (SPEC_HAS_MIN | SPEC_HAS_MAX)
