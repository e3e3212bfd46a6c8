/* Ids, time formatting, UTF-8 checks. Pure functions; no I/O but the clock. */
#include "common/util.h"

#include <ctype.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <uuid/uuid.h>

/* Version-4 UUID bytes from libsodium's CSPRNG (one getrandom() per call; libuuid's
 * random path cost six system calls, and this runs for every request id). */
static void uuid4(uuid_t u)
{
	randombytes_buf(u, sizeof(uuid_t));
	u[6] = (unsigned char)((u[6] & 0x0F) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3F) | 0x80);
}

void nl_uuid_new(char *out)
{
	uuid_t u;
	uuid4(u);
	uuid_unparse_lower(u, out);
}

void nl_uuid_hex_new(char *out)
{
	uuid_t u;
	uuid4(u);
	nl_hex(u, sizeof(u), out);
}

bool nl_is_uuid_like(const char *s)
{
	/* oslo_utils.uuidutils.is_uuid_like: strip "urn:", "uuid:", braces and dashes,
	 * then exactly 32 hex digits must remain. */
	int hex = 0;
	if (!s)
		return false;
	if (!strncasecmp(s, "urn:", 4))
		s += 4;
	if (!strncasecmp(s, "uuid:", 5))
		s += 5;
	for (; *s; s++) {
		if (*s == '{' || *s == '}' || *s == '-')
			continue;
		if (!isxdigit((unsigned char)*s))
			return false;
		hex++;
	}
	return hex == 32;
}

int64_t nl_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void nl_time_iso(int64_t us, bool z, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ld%s", (long)(us % 1000000), z ? "Z" : "");
}

void nl_time_iso_s(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Decodes one code point; returns bytes used or 0 on invalid input. */
static int utf8_next(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
		return *cp >= 0x80 ? 2 : 0;
	}
	if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
		return (*cp >= 0x800 && (*cp < 0xD800 || *cp > 0xDFFF)) ? 3 : 0;
	}
	if ((s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
	    (s[3] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
		      ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
		return (*cp >= 0x10000 && *cp <= 0x10FFFF) ? 4 : 0;
	}
	return 0;
}

long nl_utf8_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;
	uint32_t cp;

	while (*p) {
		int k = utf8_next(p, &cp);
		if (!k)
			return -1;
		p += k;
		n++;
	}
	return n;
}

/* Approximates Python's unicodedata categories C* (control, format, surrogate,
 * private use, unassigned) and Z* other than Zs, for the ranges that matter:
 * controls, line/paragraph separators, format characters, private use, noncharacters. */
bool nl_cp_is_printable(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
		return false;                       /* Cc */
	if (cp == 0x2028 || cp == 0x2029)
		return false;                       /* Zl, Zp */
	if (cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) ||
	    (cp >= 0x600 && cp <= 0x605) || cp == 0x61C || cp == 0x6DD || cp == 0x70F ||
	    cp == 0x180E || cp == 0x890 || cp == 0x891 || cp == 0x8E2)
		return false;                       /* Cf */
	if (cp >= 0xE000 && cp <= 0xF8FF)
		return false;                       /* Co */
	if (cp == 0xFFFE || cp == 0xFFFF)
		return false;                       /* Cn */
	if (cp >= 0x10000)
		return false;                       /* Nova only builds its set from the BMP */
	return true;
}

bool nl_cp_is_space(uint32_t cp)
{
	return cp == ' ' || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	       cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool nl_name_is_printable(const char *s, bool allow_edge_space)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp = 0, first = 0;
	bool any = false;

	while (*p) {
		int k = utf8_next(p, &cp);
		if (!k || !nl_cp_is_printable(cp))
			return false;
		if (!any)
			first = cp;
		any = true;
		p += k;
	}
	if (any && !allow_edge_space && (nl_cp_is_space(first) || nl_cp_is_space(cp)))
		return false;
	return true;
}

void nl_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

char *nl_strdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

void *nl_calloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);
	if (!p)
		abort();
	return p;
}

static char hostname_buf[256];
static pthread_once_t hostname_once = PTHREAD_ONCE_INIT;

static void hostname_init(void)
{
	if (gethostname(hostname_buf, sizeof(hostname_buf) - 1) || !hostname_buf[0])
		snprintf(hostname_buf, sizeof(hostname_buf), "localhost");
}

const char *nl_hostname(void)
{
	pthread_once(&hostname_once, hostname_init);
	return hostname_buf;
}

void *nl_realloc(void *p, size_t sz)
{
	void *q = realloc(p, sz);
	if (!q)
		abort();
	return q;
}

void nl_utf8_trim(char *s)
{
	size_t len = strlen(s), i = len;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;                               /* back over continuation bytes */
	if (i > 0 && ((unsigned char)s[i - 1] & 0x80)) {
		unsigned char lead = (unsigned char)s[i - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (len - (i - 1) < need)
			s[i - 1] = '\0';           /* drop the incomplete sequence */
	}
}

void nl_xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}
