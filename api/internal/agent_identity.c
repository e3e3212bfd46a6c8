/* Agent identities on the internal routes (docs/agent-protocol.md, "Identities"): whose
 * claims bound a request, and which console addresses an agent may report.
 *
 * Pure checks, no SQL: the claims themselves live in db/agents.c. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/internal/internal.h"

const char *internal_owner(const struct req *r)
{
	return auth_is_admin(&r->auth) ? NULL : r->auth.user_id;
}

/* An IPv4 or IPv6 literal: family and bytes in out (16 bytes), 0 when it is none. */
static int ip_literal(const char *s, size_t n, unsigned char out[16])
{
	char buf[64];
	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, 16);
	if (inet_pton(AF_INET, buf, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, buf, out) == 1)
		return AF_INET6;
	return 0;
}

bool internal_ip_literal(const char *s)
{
	unsigned char b[16];
	return s && ip_literal(s, strlen(s), b) != 0;
}

static bool loopback(int fam, const unsigned char *b)
{
	static const unsigned char v6_loop[16] = { [15] = 1 };
	return fam == AF_INET ? b[0] == 127 : !memcmp(b, v6_loop, 16);
}

bool internal_console_address_ok(const char *addr, const char *vnc_listen)
{
	unsigned char a[16], v[16];
	const char *host = addr, *port;
	size_t hlen;
	int fam;

	if (!addr)
		return false;
	if (*addr == '[') {   /* [IPv6]:port */
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return false;
		host = addr + 1;
		hlen = (size_t)(end - host);
		port = end + 2;
		if (ip_literal(host, hlen, a) != AF_INET6)
			return false;
		fam = AF_INET6;
	} else {              /* IPv4:port or localhost:port */
		port = strchr(addr, ':');
		if (!port || strchr(port + 1, ':'))
			return false;
		hlen = (size_t)(port - addr);
		port++;
		if (hlen == 9 && !strncmp(addr, "localhost", 9)) {
			fam = AF_INET;
			a[0] = 127;
		} else if ((fam = ip_literal(host, hlen, a)) != AF_INET) {
			return false;
		}
	}
	/* A port number: 1 to 5 digits, 1..65535, nothing after it. */
	size_t digits = strspn(port, "0123456789");
	if (digits == 0 || digits > 5 || port[digits] != '\0')
		return false;
	long p = strtol(port, NULL, 10);
	if (p < 1 || p > 65535)
		return false;
	if (loopback(fam, a))
		return true;
	/* Otherwise only the host's own registered VNC listen address. */
	return vnc_listen && ip_literal(vnc_listen, strlen(vnc_listen), v) == fam && !memcmp(a, v, 16);
}
