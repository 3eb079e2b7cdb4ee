/*
 * What harbord's two processes say to each other: the message header and
 * its descriptors, and the spawn requests the privileged process answers
 * only when the configuration has the service run that program, as that
 * user, with that environment.
 */
#include "autoconfig.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <pwd.h>
#include <sys/socket.h>
#endif
#include <unistd.h>

#include "harbor.h"
#include "config.h"
#include "privsep.h"
#include "privsep-spawn.h"
#include "check-run.h"

#ifndef _WIN32
static void
header(unsigned char *h, int version, int type, unsigned long len)
{
	h[0] = (unsigned char)version;
	h[1] = (unsigned char)type;
	h[2] = h[3] = 0;
	h[4] = (unsigned char)(len >> 24);
	h[5] = (unsigned char)(len >> 16);
	h[6] = (unsigned char)(len >> 8);
	h[7] = (unsigned char)len;
}

START_TEST(test_header_rules)
{
	unsigned char		h[8];
	enum privsep_type	t;
	size_t			len;
	char			why[128];

	header(h, 1, PS_LISTEN, 10);
	ck_assert_int_eq(privsep_header_check(h, 1, &t, &len, why,
	    sizeof why), 0);
	ck_assert_uint_eq(len, 10);
	/* A listening socket comes with its descriptor, and one only. */
	ck_assert_int_eq(privsep_header_check(h, 0, &t, &len, why,
	    sizeof why), -1);
	ck_assert_int_eq(privsep_header_check(h, 2, &t, &len, why,
	    sizeof why), -1);
	/* A spawn request with its two; a configuration with none. */
	header(h, 1, PS_SPAWN, 10);
	ck_assert_int_eq(privsep_header_check(h, 2, &t, &len, why,
	    sizeof why), 0);
	ck_assert_int_eq(privsep_header_check(h, 1, &t, &len, why,
	    sizeof why), -1);
	header(h, 1, PS_CONFIG, 10);
	ck_assert_int_eq(privsep_header_check(h, 1, &t, &len, why,
	    sizeof why), -1);
	/* Another version, an unknown type, a length past the bound. */
	header(h, 2, PS_CONFIG, 10);
	ck_assert_int_eq(privsep_header_check(h, 0, &t, &len, why,
	    sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "version 2"));
	header(h, 1, PS_TYPE_MAX, 10);
	ck_assert_int_eq(privsep_header_check(h, 0, &t, &len, why,
	    sizeof why), -1);
	header(h, 1, 0, 10);
	ck_assert_int_eq(privsep_header_check(h, 0, &t, &len, why,
	    sizeof why), -1);
	header(h, 1, PS_CONFIG, PRIVSEP_PAYLOAD_MAX + 1UL);
	ck_assert_int_eq(privsep_header_check(h, 0, &t, &len, why,
	    sizeof why), -1);
}
END_TEST

/* Two descriptors cross, arrive close-on-exec, and a message that breaks
 * the rules leaves none open. */
START_TEST(test_descriptors_cross)
{
	struct privsep_msg	msg;
	char			why[128];
	int			sv[2], a, b, before;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a = open("/dev/null", O_RDONLY);
	b = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(privsep_send2(sv[0], PS_SPAWN, "x", 1, a, b), 0);
	ck_assert_int_eq(privsep_recv(sv[1], &msg, why, sizeof why), 1);
	ck_assert_int_eq(msg.type, PS_SPAWN);
	ck_assert_int_ge(msg.fd, 0);
	ck_assert_int_ge(msg.fd2, 0);
	ck_assert_int_eq(fcntl(msg.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	privsep_msg_clear(&msg);

	/* A configuration with a descriptor: refused, and closed. */
	before = dup(0);
	(void)close(before);
	ck_assert_int_eq(privsep_send(sv[0], PS_CONFIG, "x", 1, a), 0);
	ck_assert_int_eq(privsep_recv(sv[1], &msg, why, sizeof why), -1);
	ck_assert_ptr_nonnull(strstr(why, "descriptors"));
	ck_assert_int_eq(dup(0), before);
	(void)close(before);

	/* A header cut short by the peer's end. */
	ck_assert_int_eq(write(sv[0], "\1\2\0", 3), 3);
	(void)shutdown(sv[0], SHUT_WR);
	ck_assert_int_eq(privsep_recv(sv[1], &msg, why, sizeof why), -1);
	(void)close(a);
	(void)close(b);
	(void)close(sv[0]);
	(void)close(sv[1]);
}
END_TEST

static struct config *
load(const char *text)
{
	struct conf_errors	 errs = { .n = 0 };
	struct config		*conf = config_load_string("t.conf", text, &errs);

	ck_assert_msg(conf != NULL, "%s", errs.n > 0 ? errs.msg[0] : "?");
	return conf;
}

/* A request as the serving process makes it, encoded and decoded. */
static void
request(struct spawn_request *rq, const char *service, long uid, long gid,
    char *const *argv, char *const *envp)
{
	struct harbor_spawn	 sp = { sizeof sp, argv, envp, uid, gid };
	unsigned char		*buf;
	size_t			 len, cut;

	ck_assert_int_eq(spawn_request_encode(service, &sp, &buf, &len), 0);
	for (cut = 0; cut < len; cut++)
		ck_assert_int_eq(spawn_request_decode(buf, cut, rq), -1);
	ck_assert_int_eq(spawn_request_decode(buf, len, rq), 0);
	free(buf);
}

START_TEST(test_spawn_only_what_is_configured)
{
	struct passwd		*pw = getpwnam("daemon");
	struct config		*conf;
	struct spawn_request	 rq;
	char			 why[256];
	long			 uid, gid;
	char *argv[] = { "/bin/echo", "a", "b", NULL };
	char *argv_more[] = { "/bin/echo", "a", "b", "c", NULL };
	char *argv_other[] = { "/bin/sh", "-c", "id", NULL };
	char *env[] = { "PROTO=TCP", "TCPREMOTEIP=127.0.0.1",
	    "TCPREMOTEPORT=5000", "FOO=bar", NULL };
	char *env_preload[] = { "PROTO=TCP", "LD_PRELOAD=/tmp/x.so", NULL };
	char *env_changed[] = { "FOO=baz", NULL };
	char *env_odd[] = { "TCPREMOTEIP=/etc/passwd", NULL };

	ck_assert_msg(pw != NULL, "no user daemon here");
	uid = (long)pw->pw_uid;
	gid = (long)pw->pw_gid;
	conf = load("service x { listen 127.0.0.1:0; exec /bin/echo a b; "
	    "user daemon; env FOO=bar }\n"
	    "service e { listen 127.0.0.1:0; handler echo }\n");

	request(&rq, "x", uid, gid, argv, env);
	ck_assert_msg(spawn_request_allowed(conf, &rq, why, sizeof why) == 0,
	    "%s", why);
	spawn_request_free(&rq);

	request(&rq, "x", 0, 0, argv, env);		/* as root */
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "runs its program as uid"));
	spawn_request_free(&rq);

	request(&rq, "x", uid, gid, argv_more, env);
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	spawn_request_free(&rq);
	request(&rq, "x", uid, gid, argv_other, env);
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "another program"));
	spawn_request_free(&rq);

	request(&rq, "x", uid, gid, argv, env_preload);
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "'LD_PRELOAD'"));
	spawn_request_free(&rq);
	request(&rq, "x", uid, gid, argv, env_changed);
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	spawn_request_free(&rq);
	request(&rq, "x", uid, gid, argv, env_odd);
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	spawn_request_free(&rq);

	/* No such service; a service that runs no program. */
	request(&rq, "y", uid, gid, argv, env);
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	spawn_request_free(&rq);
	request(&rq, "e", uid, gid, argv, env);
	ck_assert_int_eq(spawn_request_allowed(conf, &rq, why, sizeof why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "no exec service 'e'"));
	spawn_request_free(&rq);
	config_free(conf);
}
END_TEST

#endif /* !_WIN32 */

int
main(void)
{
	Suite	*s = suite_create("privsep");
	TCase	*tc = tcase_create("messages");

#ifndef _WIN32
	tcase_add_test(tc, test_header_rules);
	tcase_add_test(tc, test_descriptors_cross);
	tcase_add_test(tc, test_spawn_only_what_is_configured);
#else
	check_skip("privsep", "no privilege separation on Windows");
#endif
	suite_add_tcase(s, tc);
	return check_run(s);
}
