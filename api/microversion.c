/* Nova's rules (nova/api/openstack/wsgi.py, api_version_request.py): the new header
 * "OpenStack-API-Version: compute 2.N" wins over the legacy one; "latest" means the
 * maximum; no header means the minimum; a version outside the range is 406. */
#include "api/microversion.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Finds the last "compute X" in a comma-separated OpenStack-API-Version value (Nova
 * keeps the last one it sees); out gets X. */
static int find_service_version(const char *h, char *out, size_t len)
{
	const char *p = h;
	int found = 0;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *tok = p;
		while (*p && *p != ',')
			p++;
		size_t n = (size_t)(p - tok);
		while (n && tok[n - 1] == ' ')
			n--;
		if (n > 8 && strncasecmp(tok, "compute ", 8) == 0) {
			tok += 8;
			n -= 8;
			while (n && *tok == ' ') { tok++; n--; }
			if (n >= len)
				n = len - 1;
			memcpy(out, tok, n);
			out[n] = '\0';
			found = 1;
		}
	}
	return found;
}

/* "^([1-9]\d*)\.([1-9]\d*|0)$" */
static bool well_formed(const char *s, const char **dot)
{
	const char *d = strchr(s, '.');
	if (!d || d == s || s[0] == '0' || strspn(s, "0123456789") != (size_t)(d - s))
		return false;
	size_t m = strlen(d + 1);
	if (!m || strspn(d + 1, "0123456789") != m || (d[1] == '0' && m > 1))
		return false;
	*dot = d;
	return true;
}

int microversion_negotiate(const char *new_hdr, const char *legacy, int *mv, struct nl_error *err)
{
	char v[64];
	const char *s = NULL, *dot;

	if (new_hdr && find_service_version(new_hdr, v, sizeof(v)))
		s = v;
	else if (legacy)
		s = legacy;            /* present but empty is malformed, as in Nova */
	if (!s) {
		*mv = MV_MIN;
		return 0;
	}
	if (strcmp(s, "latest") == 0) {
		*mv = MV_MAX;
		return 0;
	}
	if (!well_formed(s, &dot)) {
		nl_err_set(err, 400, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s);
		return -1;
	}
	/* Compare as strings of digits first, so huge numbers cannot overflow. */
	bool major2 = dot - s == 1 && s[0] == '2';
	size_t mlen = strlen(dot + 1);
	long minor = mlen <= 6 ? strtol(dot + 1, NULL, 10) : 1000000;
	if (!major2 || minor < MV_MIN || minor > MV_MAX) {
		nl_err_set(err, 406, "Version %s is not supported by the API. Minimum is 2.%d and maximum is 2.%d.",
			   s, MV_MIN, MV_MAX);
		return -1;
	}
	*mv = (int)minor;
	return 0;
}
