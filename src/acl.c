/*
 * Access control lists: allow and deny rules of IPv4/IPv6 networks.
 *
 * The most specific rule that matches a client decides (the longest
 * prefix), so "deny all; allow 10.0.0.0/8; deny 10.1.0.0/16" reads the way
 * it looks whatever the order.  Equally specific allow and deny: deny.  A
 * client no rule matches is allowed when the list has no allow rules (a
 * pure deny list) and denied otherwise (an allow list names who may come).
 * An IPv4-mapped IPv6 client (::ffff:a.b.c.d) is matched as the IPv4
 * address it is.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "util.h"

static const uint8_t v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
cidr_parse(const char *text, struct cidr *out, char *err, size_t errlen)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash = strchr(text, '/');
	size_t		 hostlen;
	unsigned long	 prefix = 0;
	const char	*p;

	memset(out, 0, sizeof *out);
	hostlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (hostlen == 0 || hostlen >= sizeof host) {
		snprintf(err, errlen, "bad network '%s' (expected an address "
		    "such as 10.0.0.0/8 or ::1, or all)", text);
		return -1;
	}
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (evutil_inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (evutil_inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
		if (memcmp(out->addr, v4_mapped_prefix, 12) == 0) {
			/* Written as ::ffff:a.b.c.d: it is that IPv4 net. */
			memmove(out->addr, out->addr + 12, 4);
			memset(out->addr + 4, 0, 12);
			out->family = AF_INET;
			out->prefix = 32;
			if (slash != NULL)
				prefix = 96;	/* subtracted below */
		}
	} else {
		snprintf(err, errlen, "bad network '%s' (expected an address "
		    "such as 10.0.0.0/8 or ::1, or all)", text);
		return -1;
	}
	if (slash != NULL) {
		unsigned long	v = 0;

		if (slash[1] == '\0')
			goto bad_prefix;
		for (p = slash + 1; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || v > 128)
				goto bad_prefix;
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v < prefix || v - prefix > out->prefix)
			goto bad_prefix;
		out->prefix = (unsigned)(v - prefix);
	}
	/* Host bits set under the prefix mean a typo more often than not. */
	{
		unsigned	i, bits = out->prefix;

		for (i = 0; i < 16; i++) {
			uint8_t	mask = bits >= 8 ? 0xff :
			    (uint8_t)(0xff << (8 - bits));

			if ((out->addr[i] & (uint8_t)~mask) != 0) {
				snprintf(err, errlen, "network '%s' has host "
				    "bits set beyond /%u", text, out->prefix);
				return -1;
			}
			bits = bits >= 8 ? bits - 8 : 0;
		}
	}
	return 0;
bad_prefix:
	snprintf(err, errlen, "bad prefix length in '%s' (expected /0../%d)",
	    text, out->family == AF_INET ? 32 : 128);
	return -1;
}

/* The address as matched: family and 4 or 16 bytes. */
static int
peer_bytes(const struct sockaddr *sa, uint8_t *bytes)
{
	if (sa->sa_family == AF_INET) {
		memcpy(bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = (const uint8_t *)
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (memcmp(a, v4_mapped_prefix, 12) == 0) {
			memcpy(bytes, a + 12, 4);
			return AF_INET;
		}
		memcpy(bytes, a, 16);
		return AF_INET6;
	}
	return -1;
}

int
cidr_contains(const struct cidr *net, int family, const uint8_t *bytes)
{
	unsigned	full, rest;

	if (net->family != family)
		return 0;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(net->addr, bytes, full) != 0)
		return 0;
	if (rest != 0) {
		uint8_t	mask = (uint8_t)(0xff << (8 - rest));

		if ((net->addr[full] & mask) != (bytes[full] & mask))
			return 0;
	}
	return 1;
}

int
acl_add(struct acl *acl, const char *text, int allow, char *err,
    size_t errlen)
{
	struct acl_rule	*grown;
	struct cidr	 nets[2];
	size_t		 n = 1, i;

	if (strcmp(text, "all") == 0) {
		memset(nets, 0, sizeof nets);
		nets[0].family = AF_INET;
		nets[1].family = AF_INET6;
		n = 2;
	} else if (cidr_parse(text, &nets[0], err, errlen) == -1)
		return -1;
	grown = realloc(acl->rules, (acl->n + n) * sizeof *grown);
	if (grown == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	acl->rules = grown;
	for (i = 0; i < n; i++) {
		acl->rules[acl->n].net = nets[i];
		acl->rules[acl->n].allow = allow;
		/* Logs quote the rule as the user wrote it. */
		snprintf(acl->rules[acl->n].text,
		    sizeof acl->rules[acl->n].text, "%s %s",
		    allow ? "allow" : "deny", text);
		acl->n++;
	}
	if (allow)
		acl->nallow++;
	return 0;
}

const struct acl_rule *
acl_match(const struct acl *acl, const struct sockaddr *peer, int *allowed)
{
	const struct acl_rule	*best = NULL;
	uint8_t			 bytes[16];
	int			 family = peer_bytes(peer, bytes);
	size_t			 i;

	for (i = 0; i < acl->n; i++) {
		const struct acl_rule *r = &acl->rules[i];

		if (!cidr_contains(&r->net, family, bytes))
			continue;
		if (best == NULL || r->net.prefix > best->net.prefix ||
		    (r->net.prefix == best->net.prefix && !r->allow))
			best = r;
	}
	if (best != NULL)
		*allowed = best->allow;
	else
		*allowed = acl->nallow == 0;
	return best;
}

void
acl_clear(struct acl *acl)
{
	free(acl->rules);
	memset(acl, 0, sizeof *acl);
}
