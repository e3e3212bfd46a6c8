/* The per-host libvirt network and its DHCP reservations (see virt_net.h).
 *
 * The network is created once (persistent, autostart) and then only looked up: an
 * existing network is used as it is, even when its mode or subnet differ from the
 * configuration, because it may be an operator's and destroying it would cut off guests.
 * What was found is reported in struct vnet and logged.
 *
 * Reservations are <host mac ip name/> entries in <ip><dhcp>, changed with
 * virNetworkUpdate. libvirt refuses to add an entry when any existing one has the same
 * MAC, IP *or name*, and refuses to delete a missing one with the same error code as
 * other invalid operations (VIR_ERR_OPERATION_INVALID: "couldn't locate a matching dhcp
 * host entry"). So each call reads the network's XML first and does only what is
 * missing: idempotent without guessing from error codes. The persistent config and the
 * live state are handled one after the other (config first), each from its own XML,
 * because libvirt applies a LIVE|CONFIG update to both or neither: an entry present in
 * one only would make every combined update fail.
 *
 * The XML read here is libvirt's own output (canonical: single quotes, one element per
 * tag), so a small scanner is enough; there is no XML library in the build. No HTTP, no
 * JSON here. */
#include "compute/virt_net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "common/log.h"
#include "common/util.h"

#define DEFAULT_BRIDGE "nlbr0"
#define BRIDGE_NAME_MAX 15     /* IFNAMSIZ - 1 */

static const char *const mode_names[] = {
	[VNET_NAT] = "nat", [VNET_ISOLATED] = "isolated", [VNET_BRIDGE] = "bridge", [VNET_USER] = "user",
};

int vnet_mode_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(s, mode_names[i]))
			return (int)i;
	return -1;
}

/* ---- XML writing -------------------------------------------------------------------------- */

/* Runs fn(f, arg) into a malloc'd string. */
static char *xml_string(void (*fn)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	fn(f, arg);
	if (fclose(f) != 0)
		abort();
	return buf;
}

/* ---- XML scanning -------------------------------------------------------------------------- */

/* The next start tag <name ...> in [p, end): pointer to its '<', *tag_end at its '>'.
 * NULL when there is none. "<forwarder" does not match "forward". */
static const char *find_tag(const char *p, const char *end, const char *name, const char **tag_end)
{
	size_t n = strlen(name);
	for (; p && p < end; p++) {
		p = memchr(p, '<', (size_t)(end - p));
		if (!p)
			return NULL;
		if ((size_t)(end - p) > n + 1 && !strncmp(p + 1, name, n) &&
		    (p[n + 1] == ' ' || p[n + 1] == '/' || p[n + 1] == '>' || p[n + 1] == '\n')) {
			const char *gt = memchr(p, '>', (size_t)(end - p));
			if (!gt)
				return NULL;
			*tag_end = gt;
			return p;
		}
	}
	return NULL;
}

/* The end of the element whose start tag ends at tag_end: after "/>", or at its
 * closing tag </name>. end when it is not closed. */
static const char *element_end(const char *tag_end, const char *end, const char *name)
{
	char close_tag[64];
	if (tag_end[-1] == '/')
		return tag_end + 1;
	snprintf(close_tag, sizeof(close_tag), "</%s>", name);
	const char *c = strstr(tag_end, close_tag);
	return c && c < end ? c + strlen(close_tag) : end;
}

/* Copies attribute attr of the start tag [tag, tag_end) into out, unescaped. false (out
 * empty) when the tag has no such attribute. */
static bool tag_attr(const char *tag, const char *tag_end, const char *attr, char *out, size_t len)
{
	size_t n = strlen(attr), o = 0;
	out[0] = '\0';
	for (const char *p = tag; p + n + 2 < tag_end; p++) {
		if (!isspace((unsigned char)p[0]) || strncmp(p + 1, attr, n) || p[n + 1] != '=')
			continue;
		char q = p[n + 2];
		if (q != '\'' && q != '"')
			continue;
		for (p += n + 3; p < tag_end && *p != q && o + 1 < len; p++) {
			static const struct { const char *ent; char c; } ents[] = {
				{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&apos;", '\'' }, { "&quot;", '"' },
			};
			char c = *p;
			for (size_t i = 0; c == '&' && i < sizeof(ents) / sizeof(ents[0]); i++) {
				size_t el = strlen(ents[i].ent);
				if ((size_t)(tag_end - p) >= el && !strncmp(p, ents[i].ent, el)) {
					c = ents[i].c;
					p += el - 1;
					break;
				}
			}
			out[o++] = c;
		}
		out[o] = '\0';
		return true;
	}
	return false;
}

/* What an existing network's XML says. */
struct net_facts {
	enum vnet_mode mode;
	char forward[32];          /* the forward mode, "" when isolated */
	char bridge[32], address[64];
	int prefix;
	const char *dhcp, *dhcp_end;   /* the IPv4 <dhcp> element, NULL when there is none */
};

/* prefix length of a dotted-quad netmask; -1 when it is not one. */
static int netmask_prefix(const char *mask)
{
	struct in_addr a;
	if (inet_pton(AF_INET, mask, &a) != 1)
		return -1;
	uint32_t m = ntohl(a.s_addr);
	int p = 0;
	while (p < 32 && (m & (0x80000000u >> p)))
		p++;
	return (uint32_t)(p ? 0xFFFFFFFFu << (32 - p) : 0) == m ? p : -1;
}

static void net_facts_parse(const char *xml, struct net_facts *nf)
{
	const char *end = xml + strlen(xml), *te, *t;
	char attr[64];

	memset(nf, 0, sizeof(*nf));
	nf->mode = VNET_ISOLATED;
	nf->prefix = -1;
	if ((t = find_tag(xml, end, "forward", &te))) {
		if (!tag_attr(t, te, "mode", nf->forward, sizeof(nf->forward)))
			snprintf(nf->forward, sizeof(nf->forward), "nat");   /* libvirt's default */
		/* route and open also give guests a routed subnet with libvirt's DHCP; the
		 * interface and the reservations work the same. */
		nf->mode = VNET_NAT;
	}
	if ((t = find_tag(xml, end, "bridge", &te)))
		tag_attr(t, te, "name", nf->bridge, sizeof(nf->bridge));
	for (const char *p = xml; (t = find_tag(p, end, "ip", &te)); p = te) {
		if (!tag_attr(t, te, "address", attr, sizeof(attr)) || !strchr(attr, '.'))
			continue;   /* IPv6 */
		snprintf(nf->address, sizeof(nf->address), "%s", attr);
		if (tag_attr(t, te, "prefix", attr, sizeof(attr)))
			nf->prefix = atoi(attr);
		else if (tag_attr(t, te, "netmask", attr, sizeof(attr)))
			nf->prefix = netmask_prefix(attr);
		const char *ip_end = element_end(te, end, "ip"), *dte;
		const char *d = find_tag(te, ip_end, "dhcp", &dte);
		if (d) {
			nf->dhcp = d;
			nf->dhcp_end = element_end(dte, ip_end, "dhcp");
		}
		break;
	}
}

/* One <host> of <dhcp>. */
struct dhcp_host {
	char mac[32], name[256], ip[64];
};

/* The DHCP host entries of the IPv4 <dhcp> in xml: malloc'd array, count in *n (0 and
 * NULL when there are none). *has_dhcp: whether there is a <dhcp> at all. */
static struct dhcp_host *dhcp_hosts_parse(const char *xml, size_t *n, bool *has_dhcp)
{
	struct net_facts nf;
	struct dhcp_host *hosts = NULL;
	const char *t, *te;

	*n = 0;
	net_facts_parse(xml, &nf);
	*has_dhcp = nf.dhcp != NULL;
	for (const char *p = nf.dhcp; p && (t = find_tag(p, nf.dhcp_end, "host", &te)); p = te) {
		hosts = nl_realloc(hosts, (*n + 1) * sizeof(*hosts));
		struct dhcp_host *h = &hosts[(*n)++];
		tag_attr(t, te, "mac", h->mac, sizeof(h->mac));
		tag_attr(t, te, "name", h->name, sizeof(h->name));
		tag_attr(t, te, "ip", h->ip, sizeof(h->ip));
	}
	return hosts;
}

/* ---- network XML ---------------------------------------------------------------------------- */

struct net_def {
	const char *name, *bridge;
	bool nat;
	char address[INET_ADDRSTRLEN], start[INET_ADDRSTRLEN], end[INET_ADDRSTRLEN];
	int prefix;
	bool range;
};

static void net_def_xml(FILE *f, const void *arg)
{
	const struct net_def *d = arg;
	fputs("<network>\n  <name>", f);
	nl_xml_escape(f, d->name);
	fputs("</name>\n  <bridge name='", f);
	nl_xml_escape(f, d->bridge);
	fputs("' stp='on' delay='0'/>\n", f);
	if (d->nat)
		fputs("  <forward mode='nat'/>\n", f);
	fprintf(f, "  <ip address='%s' prefix='%d'>\n    <dhcp>\n", d->address, d->prefix);
	if (d->range)
		fprintf(f, "      <range start='%s' end='%s'/>\n", d->start, d->end);
	fputs("    </dhcp>\n  </ip>\n</network>\n", f);
}

/* Fills the addresses of d: the DHCP range is the rest of the subnet after the host's
 * address (10.0.0.1/16: 10.0.0.2 - 10.0.255.254), so every address the API hands out is
 * inside it. false when address is not an IPv4 address. */
static bool net_def_addresses(struct net_def *d, const char *address, int prefix)
{
	struct in_addr a;
	if (!address || inet_pton(AF_INET, address, &a) != 1)
		return false;
	uint32_t host = ntohl(a.s_addr), mask = 0xFFFFFFFFu << (32 - prefix);
	uint32_t first = host + 1, last = (host | ~mask) - 1;
	inet_ntop(AF_INET, &a, d->address, sizeof(d->address));
	d->prefix = prefix;
	d->range = first <= last && (first & mask) == (host & mask);
	a.s_addr = htonl(first);
	inet_ntop(AF_INET, &a, d->start, sizeof(d->start));
	a.s_addr = htonl(last);
	inet_ntop(AF_INET, &a, d->end, sizeof(d->end));
	return true;
}

/* ---- ensure -------------------------------------------------------------------------------- */

static void set_why(char *why, size_t why_len, const char *fmt, const char *name, const char *msg)
{
	if (why && why_len)
		snprintf(why, why_len, fmt, name, msg);
}

/* Fills out from the network's live XML (what guests get), warning where it differs
 * from the configuration. */
static void describe_existing(virNetworkPtr net, const struct vnet_config *cfg, enum vnet_mode want,
			      struct vnet *out)
{
	struct net_facts nf;
	char *xml = virNetworkGetXMLDesc(net, 0);
	if (!xml) {
		log_warn("Reading the libvirt network %s failed: %s; assuming it is as configured.", out->name,
			 virGetLastErrorMessage());
		return;
	}
	net_facts_parse(xml, &nf);
	if (nf.mode != want && nf.forward[0])
		log_warn("The libvirt network %s exists with forward mode %s, not as the configured %s; "
			 "using it as it is.", out->name, nf.forward, mode_names[want]);
	else if (nf.mode != want)
		log_warn("The libvirt network %s exists isolated (no forward), not as the configured %s; "
			 "using it as it is.", out->name, mode_names[want]);
	else if (nf.forward[0] && strcmp(nf.forward, "nat"))
		log_info("The libvirt network %s has forward mode %s; treated as nat.", out->name, nf.forward);
	if (nf.address[0] && cfg->address && (strcmp(nf.address, cfg->address) || nf.prefix != cfg->prefix))
		log_warn("The libvirt network %s has the address %s/%d, not the configured %s/%d; using it as it is.",
			 out->name, nf.address, nf.prefix, cfg->address, cfg->prefix);
	out->mode = nf.mode;
	if (nf.bridge[0])
		snprintf(out->bridge, sizeof(out->bridge), "%s", nf.bridge);
	if (nf.address[0]) {
		snprintf(out->address, sizeof(out->address), "%s", nf.address);
		out->prefix = nf.prefix;
	}
	free(xml);
}

int vnet_ensure(virConnectPtr conn, const struct vnet_config *cfg, struct vnet *out,
		char *fallback_why, size_t why_len, struct nl_error *err)
{
	int mode = vnet_mode_parse(cfg->mode);
	const char *bridge = cfg->bridge && *cfg->bridge ? cfg->bridge : NULL;
	struct net_def d = { 0 };
	virNetworkPtr net;

	if (fallback_why && why_len)
		fallback_why[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (mode < 0) {
		nl_err_set(err, 400, "The network mode '%s' is not one of nat, isolated, bridge, user.",
			   cfg->mode ? cfg->mode : "");
		return -1;
	}
	out->mode = (enum vnet_mode)mode;
	if (mode == VNET_USER)
		return 0;
	if (mode == VNET_BRIDGE) {
		char sys[64];
		if (!bridge) {
			nl_err_set(err, 400, "The network mode bridge needs network_bridge, the host bridge to attach guests to.");
			return -1;
		}
		if (strlen(bridge) > BRIDGE_NAME_MAX) {
			nl_err_set(err, 400, "The bridge name '%s' is longer than %d characters.", bridge, BRIDGE_NAME_MAX);
			return -1;
		}
		snprintf(sys, sizeof(sys), "/sys/class/net/%s/bridge", bridge);
		if (access(sys, F_OK) != 0) {
			nl_err_set(err, 400, "The host bridge '%s' does not exist (no %s).", bridge, sys);
			return -1;
		}
		snprintf(out->bridge, sizeof(out->bridge), "%s", bridge);
		return 0;
	}

	/* nat, isolated */
	if (!cfg->name || !*cfg->name || strlen(cfg->name) >= sizeof(out->name)) {
		nl_err_set(err, 400, "The libvirt network name '%s' is empty or too long.", cfg->name ? cfg->name : "");
		return -1;
	}
	if (!bridge)
		bridge = DEFAULT_BRIDGE;
	if (strlen(bridge) > BRIDGE_NAME_MAX) {
		nl_err_set(err, 400, "The bridge name '%s' is longer than %d characters.", bridge, BRIDGE_NAME_MAX);
		return -1;
	}
	if (cfg->prefix < 1 || cfg->prefix > 30 || !net_def_addresses(&d, cfg->address, cfg->prefix)) {
		nl_err_set(err, 400, "The network address '%s/%d' is not an IPv4 address with a prefix from 1 to 30.",
			   cfg->address ? cfg->address : "", cfg->prefix);
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s", cfg->name);
	snprintf(out->bridge, sizeof(out->bridge), "%s", bridge);
	snprintf(out->address, sizeof(out->address), "%s", cfg->address);
	out->prefix = cfg->prefix;

	net = virNetworkLookupByName(conn, cfg->name);
	if (net) {
		describe_existing(net, cfg, out->mode, out);
	} else if (virGetLastErrorCode() != VIR_ERR_NO_NETWORK) {
		/* e.g. a connection without a network driver */
		set_why(fallback_why, why_len, "Looking up the libvirt network %s failed: %s", cfg->name,
			virGetLastErrorMessage());
		out->mode = VNET_USER;
		return 0;
	} else {
		d.name = cfg->name;
		d.bridge = bridge;
		d.nat = mode == VNET_NAT;
		char *xml = xml_string(net_def_xml, &d);
		net = virNetworkDefineXML(conn, xml);
		free(xml);
		if (!net) {
			set_why(fallback_why, why_len, "Defining the libvirt network %s failed: %s", cfg->name,
				virGetLastErrorMessage());
			out->mode = VNET_USER;
			return 0;
		}
		log_info("Defined the libvirt network %s (%s, bridge %s, %s/%d).", cfg->name, mode_names[mode],
			 bridge, cfg->address, cfg->prefix);
		if (virNetworkSetAutostart(net, 1) != 0)
			log_warn("Marking the libvirt network %s autostart failed: %s.", cfg->name,
				 virGetLastErrorMessage());
	}

	int active = virNetworkIsActive(net);
	if (active == 0 && virNetworkCreate(net) == 0) {
		log_info("Started the libvirt network %s.", cfg->name);
		active = 1;
	}
	if (active != 1) {
		/* Left defined: the operator can see it, fix the host (dnsmasq, iptables, a
		 * clashing subnet) and the next start of the agent uses it. */
		set_why(fallback_why, why_len, "Starting the libvirt network %s failed: %s", cfg->name,
			virGetLastErrorMessage());
		out->mode = VNET_USER;
	}
	virNetworkFree(net);
	return 0;
}

/* ---- reservations -------------------------------------------------------------------------- */

/* The network of net, for an update: NULL with *missing when libvirt has no such network,
 * NULL with err on other failures. */
static virNetworkPtr lookup(virConnectPtr conn, const struct vnet *net, bool *missing, struct nl_error *err)
{
	virNetworkPtr n = virNetworkLookupByName(conn, net->name);
	*missing = false;
	if (n)
		return n;
	if (virGetLastErrorCode() == VIR_ERR_NO_NETWORK)
		*missing = true;
	else
		nl_err_set(err, 500, "Looking up the libvirt network %s failed: %s", net->name, virGetLastErrorMessage());
	return NULL;
}

/* The XML of one scope: the persistent config (VIR_NETWORK_UPDATE_AFFECT_CONFIG) or the
 * live state. Drivers that keep no separate config view (the test driver refuses
 * VIR_NETWORK_XML_INACTIVE) give the live XML. */
static char *scope_xml(virNetworkPtr n, unsigned int scope, bool active)
{
	if (scope == VIR_NETWORK_UPDATE_AFFECT_CONFIG && active) {
		char *xml = virNetworkGetXMLDesc(n, VIR_NETWORK_XML_INACTIVE);
		if (xml || (virGetLastErrorCode() != VIR_ERR_INVALID_ARG &&
			    virGetLastErrorCode() != VIR_ERR_NO_SUPPORT))
			return xml;
	}
	return virNetworkGetXMLDesc(n, 0);
}

static void host_xml(FILE *f, const void *arg)
{
	const struct dhcp_host *h = arg;
	fputs("<host", f);
	if (h->mac[0]) {
		fputs(" mac='", f);
		nl_xml_escape(f, h->mac);
		fputc('\'', f);
	}
	if (h->name[0]) {
		fputs(" name='", f);
		nl_xml_escape(f, h->name);
		fputc('\'', f);
	}
	if (h->ip[0]) {
		fputs(" ip='", f);
		nl_xml_escape(f, h->ip);
		fputc('\'', f);
	}
	fputs("/>", f);
}

static const char *scope_name(unsigned int scope)
{
	return scope == VIR_NETWORK_UPDATE_AFFECT_CONFIG ? "persistent config" : "live state";
}

/* One virNetworkUpdate of a <host> entry in one scope. */
static int update_host(virNetworkPtr n, unsigned int command, unsigned int scope, const struct dhcp_host *h)
{
	char *xml = xml_string(host_xml, h);
	int rc = virNetworkUpdate(n, command, VIR_NETWORK_SECTION_IP_DHCP_HOST, -1, xml, scope);
	free(xml);
	return rc;
}

/* Whether ip is in address/prefix (IPv4). */
static bool in_subnet(const char *ip, const char *address, int prefix)
{
	struct in_addr a, b;
	if (prefix < 0 || prefix > 32 || inet_pton(AF_INET, ip, &a) != 1 || inet_pton(AF_INET, address, &b) != 1)
		return false;
	uint32_t mask = prefix ? 0xFFFFFFFFu << (32 - prefix) : 0;
	return (ntohl(a.s_addr) & mask) == (ntohl(b.s_addr) & mask);
}

static bool same_mac(const char *a, const char *b)
{
	return a[0] && !strcasecmp(a, b);
}

/* Makes one scope hold exactly one entry for want.mac, with want.ip (and want.name when
 * no other entry has that name). */
static int reserve_scope(virNetworkPtr n, const struct vnet *net, unsigned int scope, bool active,
			 struct dhcp_host want, bool announce, struct nl_error *err)
{
	size_t nh = 0;
	bool has_dhcp;
	char *xml = scope_xml(n, scope, active);
	struct dhcp_host *hosts, *ours = NULL;
	int rc = -1;

	if (!xml) {
		nl_err_set(err, 500, "Reading the libvirt network %s failed: %s", net->name, virGetLastErrorMessage());
		return -1;
	}
	hosts = dhcp_hosts_parse(xml, &nh, &has_dhcp);
	free(xml);
	if (!has_dhcp) {
		/* e.g. an operator's network without DHCP: nothing to reserve in */
		log_debug("The libvirt network %s has no IPv4 DHCP: no reservation for %s.", net->name, want.mac);
		free(hosts);
		return 0;
	}
	for (size_t i = 0; i < nh; i++) {
		if (same_mac(hosts[i].mac, want.mac))
			ours = &hosts[i];
		/* Host names need not be unique (two servers called "web"), but libvirt rejects a
		 * second entry with the same name: the later one goes without a name and dnsmasq
		 * takes the one the guest sends. */
		else if (want.name[0] && !strcmp(hosts[i].name, want.name) && strcmp(hosts[i].ip, want.ip))
			want.name[0] = '\0';
	}
	bool done = ours && !strcmp(ours->ip, want.ip) && !strcmp(ours->name, want.name);
	for (size_t i = 0; i < nh; i++) {
		/* Another MAC holding the address: the leftover of a deleted server. */
		if (&hosts[i] != ours && !strcmp(hosts[i].ip, want.ip)) {
			done = false;
			if (announce)
				log_info("The libvirt network %s reserved %s for %s; giving it to %s.", net->name, want.ip,
					 hosts[i].mac[0] ? hosts[i].mac : "no MAC", want.mac);
			if (update_host(n, VIR_NETWORK_UPDATE_COMMAND_DELETE, scope, &hosts[i]) != 0)
				goto fail;
		}
	}
	if (done) {
		rc = 0;
		goto out;
	}
	if (ours && update_host(n, VIR_NETWORK_UPDATE_COMMAND_DELETE, scope, ours) != 0)
		goto fail;
	if (update_host(n, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, scope, &want) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	nl_err_set(err, 500, "Reserving %s for %s in the %s of the libvirt network %s failed: %s", want.ip,
		   want.mac, scope_name(scope), net->name, virGetLastErrorMessage());
out:
	free(hosts);
	return rc;
}

/* Removes the entry of mac from one scope; a missing one is success. */
static int release_scope(virNetworkPtr n, const struct vnet *net, unsigned int scope, bool active,
			 const char *mac, struct nl_error *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		size_t nh = 0;
		bool has_dhcp, found = false;
		char *xml = scope_xml(n, scope, active);
		if (!xml) {
			nl_err_set(err, 500, "Reading the libvirt network %s failed: %s", net->name,
				   virGetLastErrorMessage());
			return -1;
		}
		struct dhcp_host *hosts = dhcp_hosts_parse(xml, &nh, &has_dhcp);
		free(xml);
		int rc = 0;
		for (size_t i = 0; i < nh && !found; i++) {
			if (!same_mac(hosts[i].mac, mac))
				continue;
			found = true;
			rc = update_host(n, VIR_NETWORK_UPDATE_COMMAND_DELETE, scope, &hosts[i]);
		}
		free(hosts);
		if (rc == 0)
			return 0;
		/* VIR_ERR_OPERATION_INVALID is also libvirt's "couldn't locate a matching dhcp
		 * host entry": someone else removed it meanwhile. Look once more. */
		if (virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID || attempt == 1) {
			nl_err_set(err, 500, "Releasing the reservation of %s in the %s of the libvirt network %s "
				   "failed: %s", mac, scope_name(scope), net->name, virGetLastErrorMessage());
			return -1;
		}
	}
	return 0;
}

/* The scopes to change: the persistent config first (see the top of the file), then the
 * live state. */
static int scopes_of(virNetworkPtr n, unsigned int scopes[2], bool *active)
{
	int k = 0;
	*active = virNetworkIsActive(n) == 1;
	if (virNetworkIsPersistent(n) == 1)
		scopes[k++] = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	if (*active)
		scopes[k++] = VIR_NETWORK_UPDATE_AFFECT_LIVE;
	return k;
}

int vnet_reserve(virConnectPtr conn, const struct vnet *net, const char *mac, const char *ip,
		 const char *name, struct nl_error *err)
{
	struct dhcp_host want = { 0 };
	unsigned int scopes[2];
	bool missing, active;
	int rc = 0;

	if (net->mode != VNET_NAT && net->mode != VNET_ISOLATED)
		return 0;
	if (!mac || !*mac || !ip || !*ip || strlen(mac) >= sizeof(want.mac) || strlen(ip) >= sizeof(want.ip)) {
		nl_err_set(err, 500, "Reserving an address on the libvirt network %s needs a MAC and an IP address.",
			   net->name);
		return -1;
	}
	/* libvirt accepts an address outside the subnet, and dnsmasq then ignores it: the
	 * guest would silently get another address. */
	if (!in_subnet(ip, net->address, net->prefix)) {
		nl_err_set(err, 500, "Reserving %s for %s failed: the address is not in the subnet %s/%d of the "
			   "libvirt network %s.", ip, mac, net->address, net->prefix, net->name);
		return -1;
	}
	snprintf(want.mac, sizeof(want.mac), "%s", mac);
	snprintf(want.ip, sizeof(want.ip), "%s", ip);
	if (name)
		snprintf(want.name, sizeof(want.name), "%s", name);
	virNetworkPtr n = lookup(conn, net, &missing, err);
	if (!n) {
		if (missing)
			nl_err_set(err, 500, "Reserving %s for %s failed: the libvirt network %s does not exist.", ip, mac,
				   net->name);
		return -1;
	}
	int k = scopes_of(n, scopes, &active);
	for (int i = 0; i < k && rc == 0; i++)
		rc = reserve_scope(n, net, scopes[i], active, want, i == 0, err);
	virNetworkFree(n);
	return rc;
}

int vnet_release(virConnectPtr conn, const struct vnet *net, const char *mac, struct nl_error *err)
{
	unsigned int scopes[2];
	bool missing, active;
	int rc = 0;

	if (net->mode != VNET_NAT && net->mode != VNET_ISOLATED)
		return 0;
	if (!mac || !*mac)
		return 0;
	virNetworkPtr n = lookup(conn, net, &missing, err);
	if (!n)
		return missing ? 0 : -1;   /* no network, no reservation */
	int k = scopes_of(n, scopes, &active);
	for (int i = 0; i < k && rc == 0; i++)
		rc = release_scope(n, net, scopes[i], active, mac, err);
	virNetworkFree(n);
	return rc;
}

/* ---- the domain's interface ---------------------------------------------------------------- */

void vnet_interface_xml(FILE *f, const struct vnet *net, const char *mac, const char *model)
{
	switch (net->mode) {
	case VNET_NAT:
	case VNET_ISOLATED:
		fputs("    <interface type='network'>\n      <source network='", f);
		nl_xml_escape(f, net->name);
		fputs("'/>\n", f);
		break;
	case VNET_BRIDGE:
		fputs("    <interface type='bridge'>\n      <source bridge='", f);
		nl_xml_escape(f, net->bridge);
		fputs("'/>\n", f);
		break;
	case VNET_USER:
		fputs("    <interface type='user'>\n", f);
		break;
	}
	if (mac && *mac) {
		fputs("      <mac address='", f);
		nl_xml_escape(f, mac);
		fputs("'/>\n", f);
	}
	fputs("      <model type='", f);
	nl_xml_escape(f, model && *model ? model : "virtio");
	fputs("'/>\n    </interface>\n", f);
}
