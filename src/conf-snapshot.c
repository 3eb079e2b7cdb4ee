/*
 * A configuration's files as they were read: the main file, each file an
 * include named and what each include pattern matched, in reading order.
 * harbord's privileged process reads the files (outside any chroot, with
 * its rights); the serving process, which may read none of them, parses
 * the same configuration again from the snapshot it is sent, so that a
 * mistake is reported with the same file:line:column on both sides.
 *
 * The encoding that travels between them: "HCS1", the number of entries,
 * then for each its kind (one byte), its name and its data, each a 32-bit
 * length (network order) and the bytes.  Decoding trusts nothing: every
 * length is checked against what is left and against the bounds below.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf-table.h"

#define SNAP_MAGIC	"HCS1"

struct conf_snap_entry {
	enum conf_snap_kind	 kind;
	char			*name;
	char			*data;	/* a pattern's: names, each with NUL */
	size_t			 len;
};

struct conf_snapshot {
	struct conf_snap_entry	*e;
	size_t			 n;
	size_t			 bytes;	/* names and data, for the bound */
};

struct conf_snapshot *
conf_snapshot_new(void)
{
	return calloc(1, sizeof(struct conf_snapshot));
}

void
conf_snapshot_free(struct conf_snapshot *snap)
{
	size_t	i;

	if (snap == NULL)
		return;
	for (i = 0; i < snap->n; i++) {
		free(snap->e[i].name);
		free(snap->e[i].data);
	}
	free(snap->e);
	free(snap);
}

int
conf_snapshot_add(struct conf_snapshot *snap, enum conf_snap_kind kind,
    const char *name, const void *data, size_t len)
{
	struct conf_snap_entry	*grown, *e;
	size_t			 namelen = strlen(name);

	if (snap->n >= CONF_SNAP_ENTRIES_MAX ||
	    len > CONF_SNAP_BYTES_MAX - snap->bytes ||
	    namelen > CONF_SNAP_BYTES_MAX - snap->bytes - len)
		return -1;
	if ((grown = realloc(snap->e, (snap->n + 1) * sizeof *grown)) == NULL)
		return -1;
	snap->e = grown;
	e = &snap->e[snap->n];
	e->kind = kind;
	e->len = len;
	e->name = strdup(name);
	e->data = malloc(len + 1);	/* a NUL after, for the parser */
	if (e->name == NULL || e->data == NULL) {
		free(e->name);
		free(e->data);
		return -1;
	}
	memcpy(e->data, data, len);
	e->data[len] = '\0';
	snap->n++;
	snap->bytes += namelen + len;
	return 0;
}

const char *
conf_snapshot_find(const struct conf_snapshot *snap, enum conf_snap_kind kind,
    const char *name, size_t *len)
{
	size_t	i;

	for (i = 0; i < snap->n; i++)
		if (snap->e[i].kind == kind && strcmp(snap->e[i].name,
		    name) == 0) {
			*len = snap->e[i].len;
			return snap->e[i].data;
		}
	return NULL;
}

const char *
conf_snapshot_main(const struct conf_snapshot *snap)
{
	return snap->n > 0 && snap->e[0].kind == CONF_SNAP_FILE ?
	    snap->e[0].name : NULL;
}

static void
put32(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static size_t
get32(const unsigned char *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
}

int
conf_snapshot_encode(const struct conf_snapshot *snap, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*buf, *p;
	size_t		 len = 8, i, namelen;

	for (i = 0; i < snap->n; i++)
		len += 9 + strlen(snap->e[i].name) + snap->e[i].len;
	if ((buf = malloc(len)) == NULL)
		return -1;
	memcpy(buf, SNAP_MAGIC, 4);
	put32(buf + 4, snap->n);
	p = buf + 8;
	for (i = 0; i < snap->n; i++) {
		namelen = strlen(snap->e[i].name);
		*p++ = (unsigned char)snap->e[i].kind;
		put32(p, namelen);
		memcpy(p + 4, snap->e[i].name, namelen);
		p += 4 + namelen;
		put32(p, snap->e[i].len);
		memcpy(p + 4, snap->e[i].data, snap->e[i].len);
		p += 4 + snap->e[i].len;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

struct conf_snapshot *
conf_snapshot_decode(const unsigned char *buf, size_t len)
{
	struct conf_snapshot	*snap;
	size_t			 n, i, namelen, datalen;
	char			 name[CONF_SNAP_NAME_MAX + 1];
	unsigned		 kind;

	if (len < 8 || memcmp(buf, SNAP_MAGIC, 4) != 0 ||
	    (n = get32(buf + 4)) > CONF_SNAP_ENTRIES_MAX ||
	    (snap = conf_snapshot_new()) == NULL)
		return NULL;
	buf += 8;
	len -= 8;
	for (i = 0; i < n; i++) {
		if (len < 5)
			goto bad;
		kind = buf[0];
		namelen = get32(buf + 1);
		if ((kind != CONF_SNAP_FILE && kind != CONF_SNAP_PATTERN &&
		    kind != CONF_SNAP_ACCOUNT) ||
		    namelen == 0 || namelen > CONF_SNAP_NAME_MAX ||
		    namelen > len - 5)
			goto bad;
		memcpy(name, buf + 5, namelen);
		name[namelen] = '\0';
		if (memchr(name, '\0', namelen) != NULL)
			goto bad;
		buf += 5 + namelen;
		len -= 5 + namelen;
		if (len < 4 || (datalen = get32(buf)) > len - 4)
			goto bad;
		/* A pattern's names end with their NULs, the last too. */
		if (kind == CONF_SNAP_PATTERN && datalen > 0 &&
		    buf[4 + datalen - 1] != '\0')
			goto bad;
		if (conf_snapshot_add(snap, (enum conf_snap_kind)kind, name,
		    buf + 4, datalen) == -1)
			goto bad;
		buf += 4 + datalen;
		len -= 4 + datalen;
	}
	if (len != 0 || conf_snapshot_main(snap) == NULL)
		goto bad;
	return snap;
bad:
	conf_snapshot_free(snap);
	return NULL;
}

int
conf_snapshot_take_accounts(const struct conf_snapshot *snap,
    struct config *conf)
{
	size_t	i;
	const struct conf_snap_entry *e;

	for (i = 0; i < snap->n; i++) {
		e = &snap->e[i];
		if (e->kind != CONF_SNAP_ACCOUNT)
			continue;
		if (strlen(e->name) < 3 || e->name[1] != ':' ||
		    conf_accounts_from_snapshot(conf, e->name[0], e->name + 2,
		    e->data) == -1)
			return -1;
	}
	return 0;
}
