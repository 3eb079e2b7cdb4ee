/*
 * kv: a key-value store served over TCP, a program embedding libharbor.
 *
 *	kv [-p port]
 *
 * listens on 127.0.0.1 (port 7070 unless -p says otherwise) for a line
 * protocol:
 *
 *	SET key value	-> OK
 *	GET key		-> VALUE value, or NOTFOUND
 *	DEL key		-> OK, or NOTFOUND
 *	QUIT		-> BYE, and the connection closes
 *	anything else	-> ERROR (the connection stays)
 *
 * The handler runs on the worker pool (it takes a lock a slow client must
 * not hold an I/O loop for), the table is shared by all clients, and
 * SIGINT or SIGTERM stop the server gracefully.  Build it against an
 * installed libharbor:
 *
 *	cc -o kv kv.c $(pkg-config --cflags --libs libharbor)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <harbor.h>

#define KV_SLOTS	4096
#define KV_MAX_KEY	256
#define KV_MAX_VALUE	4096

struct entry {
	char		*key;
	char		*value;
	struct entry	*next;
};

static struct entry	*table[KV_SLOTS];
static pthread_mutex_t	 table_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned
slot_of(const char *key, size_t len)
{
	unsigned	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h % KV_SLOTS;
}

static struct entry **
find(const char *key, size_t len)
{
	struct entry	**e;

	for (e = &table[slot_of(key, len)]; *e != NULL; e = &(*e)->next)
		if (strlen((*e)->key) == len && memcmp((*e)->key, key, len) == 0)
			break;
	return e;
}

/* "WORD rest": the word's length, and the rest after one space. */
static size_t
word(const char *s, size_t len, const char **rest, size_t *restlen)
{
	size_t	n = 0;

	while (n < len && s[n] != ' ')
		n++;
	*rest = n < len ? s + n + 1 : s + len;
	*restlen = n < len ? len - n - 1 : 0;
	return n;
}

static int
kv_set(const char *key, size_t klen, const char *value, size_t vlen)
{
	struct entry	**e, *n;
	char		 *v;

	if ((v = malloc(vlen + 1)) == NULL)
		return -1;
	memcpy(v, value, vlen);
	v[vlen] = '\0';
	pthread_mutex_lock(&table_lock);
	e = find(key, klen);
	if (*e != NULL) {
		free((*e)->value);
		(*e)->value = v;
	} else if ((n = calloc(1, sizeof *n)) != NULL &&
	    (n->key = malloc(klen + 1)) != NULL) {
		memcpy(n->key, key, klen);
		n->key[klen] = '\0';
		n->value = v;
		*e = n;
	} else {
		free(n);
		free(v);
		pthread_mutex_unlock(&table_lock);
		return -1;
	}
	pthread_mutex_unlock(&table_lock);
	return 0;
}

static size_t
kv_input(struct harbor_conn *c, const char *line, size_t len)
{
	const char	*arg, *value;
	size_t		 n = len, alen, klen, vlen;
	struct entry	**e, *gone;

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	switch (word(line, n, &arg, &alen)) {
	case 3:
		if (memcmp(line, "SET", 3) == 0) {
			klen = word(arg, alen, &value, &vlen);
			if (klen == 0 || klen > KV_MAX_KEY ||
			    vlen > KV_MAX_VALUE || value == arg + alen)
				break;
			(void)harbor_conn_printf(c, "%s\r\n",
			    kv_set(arg, klen, value, vlen) == 0 ? "OK" :
			    "ERROR out of memory");
			return len;
		}
		if (memcmp(line, "GET", 3) == 0 && alen > 0 &&
		    memchr(arg, ' ', alen) == NULL) {
			pthread_mutex_lock(&table_lock);
			e = find(arg, alen);
			if (*e != NULL)
				(void)harbor_conn_printf(c, "VALUE %s\r\n",
				    (*e)->value);
			else
				(void)harbor_conn_printf(c, "NOTFOUND\r\n");
			pthread_mutex_unlock(&table_lock);
			return len;
		}
		if (memcmp(line, "DEL", 3) == 0 && alen > 0 &&
		    memchr(arg, ' ', alen) == NULL) {
			pthread_mutex_lock(&table_lock);
			e = find(arg, alen);
			if ((gone = *e) != NULL)
				*e = gone->next;
			pthread_mutex_unlock(&table_lock);
			(void)harbor_conn_printf(c, "%s\r\n", gone != NULL ?
			    "OK" : "NOTFOUND");
			if (gone != NULL) {
				free(gone->key);
				free(gone->value);
				free(gone);
			}
			return len;
		}
		break;
	case 4:
		if (memcmp(line, "QUIT", 4) == 0 && alen == 0) {
			(void)harbor_conn_printf(c, "BYE\r\n");
			harbor_conn_close(c);
			return len;
		}
		break;
	}
	(void)harbor_conn_printf(c, "ERROR\r\n");
	return len;
}

static const struct harbor_handler kv_handler = {
	HARBOR_HANDLER_V1,
	.name = "kv",
	.input = kv_input,
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	harbor_server_shutdown(arg, 5000);
}

int
main(int argc, char **argv)
{
	struct harbor_server	*srv;
	struct harbor_service	*svc;
	struct event		*sigint, *sigterm;
	const char		*port = "7070";
	char			 err[256], addr[64];
	int			 ch;

	while ((ch = getopt(argc, argv, "p:")) != -1) {
		switch (ch) {
		case 'p':
			port = optarg;
			break;
		default:
			fprintf(stderr, "usage: kv [-p port]\n");
			return 64;
		}
	}
	snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
	if ((srv = harbor_server_new(NULL)) == NULL ||
	    (svc = harbor_service_new("kv", &kv_handler)) == NULL) {
		fprintf(stderr, "kv: out of memory\n");
		return 71;
	}
	if (harbor_service_add_listen(svc, addr, err, sizeof err) == -1 ||
	    harbor_service_set_dispatch(svc, HARBOR_DISPATCH_POOL) == -1 ||
	    harbor_service_set_max_line(svc, KV_MAX_KEY + KV_MAX_VALUE + 8) ==
	    -1) {
		fprintf(stderr, "kv: %s\n", err);
		return 64;
	}
	harbor_service_set_framing(svc, HARBOR_FRAMING_LINE);
	if (harbor_server_add_service(srv, svc, err, sizeof err) == -1 ||
	    harbor_server_bind(srv, err, sizeof err) == -1 ||
	    harbor_server_start(srv, err, sizeof err) == -1) {
		fprintf(stderr, "kv: %s\n", err);
		harbor_server_free(srv);
		return 71;
	}
	sigint = evsignal_new(harbor_server_base(srv), SIGINT, on_signal, srv);
	sigterm = evsignal_new(harbor_server_base(srv), SIGTERM, on_signal,
	    srv);
	if (sigint == NULL || sigterm == NULL ||
	    evsignal_add(sigint, NULL) == -1 ||
	    evsignal_add(sigterm, NULL) == -1) {
		fprintf(stderr, "kv: cannot watch for signals\n");
		return 71;
	}
	if (harbor_server_run(srv) == -1) {
		fprintf(stderr, "kv: cannot run\n");
		return 71;
	}
	event_free(sigint);
	event_free(sigterm);
	harbor_server_free(srv);
	return 0;
}
