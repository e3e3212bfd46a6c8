/* Nova's rules (nova/api/openstack/wsgi.py, api_version_request.py): the new header
 * "OpenStack-API-Version: compute 2.N" wins over the legacy one; "latest" means the
 * maximum; no header means the minimum; a version outside the range is 406. */
#include "api/microversion.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Finds "compute X" in a comma-separated OpenStack-API-Version value; out gets X. */
static int find_service_version(const char *h, char *out, size_t len)
{
	const char *p = h;
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
			return 1;
		}
	}
	return 0;
}

int microversion_negotiate(const char *new_hdr, const char *legacy, int *mv, struct nl_error *err)
{
	char v[64];
	const char *s = NULL;

	if (new_hdr && find_service_version(new_hdr, v, sizeof(v)))
		s = v;
	else if (legacy && *legacy)
		s = legacy;
	if (!s) {
		*mv = MV_MIN;
		return 0;
	}
	if (strcasecmp(s, "latest") == 0) {
		*mv = MV_MAX;
		return 0;
	}
	/* "^([1-9]\d*)\.([1-9]\d*|0)$" */
	const char *dot = strchr(s, '.');
	char *end;
	if (!dot || !isdigit((unsigned char)s[0]) || s[0] == '0' || !isdigit((unsigned char)dot[1]) ||
	    (dot[1] == '0' && dot[2])) {
		nl_err_set(err, 400, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s);
		return -1;
	}
	long major = strtol(s, &end, 10);
	if (end != dot)
		goto bad;
	long minor = strtol(dot + 1, &end, 10);
	if (*end || minor > 100000)
		goto bad;
	if (major != 2 || minor < MV_MIN || minor > MV_MAX) {
		nl_err_set(err, 406, "Version %ld.%ld is not supported by the API. Minimum is 2.%d and maximum is 2.%d.",
			   major, minor, MV_MIN, MV_MAX);
		return -1;
	}
	*mv = (int)minor;
	return 0;
bad:
	nl_err_set(err, 400, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s);
	return -1;
}
