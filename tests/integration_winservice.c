/*
 * integration_winservice.c -- harbord as a Windows service, under the
 * Service Control Manager (wine's services.exe in a cross build; Windows
 * builds only).  harbord -S install registers it as the manual says; the
 * SCM starts it and it serves; the SCM's PARAMCHANGE reloads it; its stop
 * is graceful (a client still connected is served until it leaves, then
 * the SCM sees STOPPED, exit code 0, and the log says harbord exited); a
 * start that fails ends STOPPED with harbord's status as the service's
 * own exit code; "log stderr" goes to harbord.log beside harbord.exe; and
 * harbord -S remove stops and deletes it.  What -S refuses, and why, is
 * checked too.
 *
 * The tests use the one service name harbord installs, "harbord", in the
 * wine prefix of the build (contrib/mingw/check.sh makes one per build
 * directory): each begins and ends by removing it.
 */
#include "harness.h"	/* first: feature macros */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check-run.h"

#define EXIT_USAGE		64
#define EXIT_NOINPUT		66
#define EXIT_UNAVAILABLE	69
#define EXIT_CANTCREAT		73
#define EXIT_CONFIG		78

#define SERVICE		"harbord"

static void
run(struct hrun *r, const char *a0, const char *a1, const char *a2,
    const char *a3)
{
	const char *args[] = { a0, a1, a2, a3, NULL };

	harness_run(args, 60000, r);
}

static void
print_run(const char *what, const struct hrun *r)
{
	fprintf(stderr, "---- %s: exit %d\nstdout:\n%s\nstderr:\n%s\n----\n",
	    what, r->code, r->out, r->err);
}

/* harbord -S remove, whatever a test before left. */
static void
remove_service(void)
{
	struct hrun	r;

	run(&r, "-S", "remove", NULL, NULL);
	harness_run_free(&r);
}

/* harbord -S install -f config: the config's path. */
static char *
install(const char *config)
{
	char		*path = harness_write_temp("service.conf", config);
	struct hrun	 r;

	run(&r, "-S", "install", "-f", path);
	if (r.code != 0)
		print_run("harbord -S install", &r);
	ck_assert_int_eq(r.code, 0);
	ck_assert_msg(strstr(r.out, "installed the service harbord") != NULL,
	    "-S install says: %s", r.out);
	harness_run_free(&r);
	return path;
}

/* Closed by the teardown, should a test fail: a service is deleted only
 * once nobody holds it open, and until then cannot be installed again. */
static SC_HANDLE	scm, svc_held;

static SC_HANDLE
open_service(void)
{
	if (scm == NULL)
		scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT);
	ck_assert_msg(scm != NULL, "OpenSCManager: error %lu",
	    (unsigned long)GetLastError());
	svc_held = OpenServiceA(scm, SERVICE, SERVICE_ALL_ACCESS);
	ck_assert_msg(svc_held != NULL, "OpenService: error %lu",
	    (unsigned long)GetLastError());
	return svc_held;
}

static void
close_service(void)
{
	if (svc_held != NULL)
		CloseServiceHandle(svc_held);
	svc_held = NULL;
}

/* Polls until the service is in state want, at most timeout_ms: true if
 * it got there; st holds the last status seen. */
static bool
wait_state(SC_HANDLE svc, DWORD want, int timeout_ms, SERVICE_STATUS *st)
{
	long long	deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		ck_assert(QueryServiceStatus(svc, st));
		if (st->dwCurrentState == want)
			return true;
		if (harness_now_ms() >= deadline)
			return false;
		harness_sleep_ms(50);
	}
}

/* The port of the first "service NAME listening on 127.0.0.1:PORT" in
 * the log at path, waited for. */
static int
logged_port(const char *path, const char *name)
{
	char	*what = harness_fmt("service %s listening on 127.0.0.1:",
		    name);
	char	*text = harness_wait_file(path, what, 15000);
	int	 port;

	ck_assert_msg(text != NULL, "no \"%s\" in %s", what, path);
	port = atoi(strstr(text, what) + strlen(what));
	free(text);
	free(what);
	return port;
}

/* harbord.log beside the harbord.exe that runs (libtool's .libs/ when
 * the build has a wrapper). */
static char *
service_log_path(void)
{
	char	*dir = harness_fmt("%s", harness_harbord()), *slash, *libs;
	char	*path;

	if ((slash = strrchr(dir, '/')) != NULL ||
	    (slash = strrchr(dir, '\\')) != NULL)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	libs = harness_fmt("%s.libs/harbord.exe", dir);
	path = access(libs, F_OK) == 0 ?
	    harness_fmt("%s.libs/harbord.log", dir) :
	    harness_fmt("%sharbord.log", dir);
	free(libs);
	free(dir);
	return path;
}

static void
setup(void)
{
	remove_service();
}

static void
teardown(void)
{
	close_service();
	remove_service();
	if (scm != NULL)
		CloseServiceHandle(scm);
	scm = NULL;
}

START_TEST(test_install_start_reload_stop_remove)
{
	char			*log = harness_fmt("%s/service.log",
				    harness_tmpdir());
	char			*conf_text = harness_fmt(
				    "log file \"%s\"\n"
				    "shutdown-timeout 20s\n"
				    "service echo {\n"
				    "    listen 127.0.0.1:0\n"
				    "    handler echo\n"
				    "}\n", log);
	char			*conf, *reloaded, *text;
	union {
		QUERY_SERVICE_CONFIGA	cfg;
		char			buf[8192];
	}			 q;
	SERVICE_STATUS		 st;
	SC_HANDLE		 svc;
	struct hrun		 r;
	DWORD			 need;
	int			 fd, port;

	conf = install(conf_text);
	svc = open_service();
	/* As -S install says: at boot, by name, harbord -S run -f FILE. */
	ck_assert(QueryServiceConfigA(svc, &q.cfg, sizeof q, &need));
	ck_assert_uint_eq(q.cfg.dwStartType, SERVICE_AUTO_START);
	ck_assert_uint_eq(q.cfg.dwServiceType, SERVICE_WIN32_OWN_PROCESS);
	ck_assert_str_eq(q.cfg.lpDisplayName, "harbord TCP server");
	ck_assert_msg(strstr(q.cfg.lpBinaryPathName, "harbord") != NULL &&
	    strstr(q.cfg.lpBinaryPathName, "\" -S run -f \"") != NULL,
	    "the service runs %s", q.cfg.lpBinaryPathName);
	/* The file by its whole path: the service starts elsewhere. */
	ck_assert_msg(strstr(q.cfg.lpBinaryPathName, ":\\") != NULL &&
	    strstr(q.cfg.lpBinaryPathName, "service.conf") != NULL,
	    "the service runs %s", q.cfg.lpBinaryPathName);
	{
		union {
			SERVICE_DESCRIPTIONA	d;
			char			buf[1024];
		} desc;

		ck_assert(QueryServiceConfig2A(svc, SERVICE_CONFIG_DESCRIPTION,
		    (BYTE *)&desc, sizeof desc, &need));
		ck_assert_ptr_nonnull(desc.d.lpDescription);
		ck_assert_msg(strlen(desc.d.lpDescription) > 0,
		    "no description");
	}

	/* Installed again: refused, saying so. */
	run(&r, "-S", "install", "-f", conf);
	ck_assert_int_eq(r.code, EXIT_CANTCREAT);
	ck_assert_msg(strstr(r.err, "installed already") != NULL, "%s",
	    r.err);
	harness_run_free(&r);

	ck_assert_msg(StartServiceA(svc, 0, NULL), "StartService: error %lu",
	    (unsigned long)GetLastError());
	ck_assert_msg(wait_state(svc, SERVICE_RUNNING, 15000, &st),
	    "the service is in state %lu, not running",
	    (unsigned long)st.dwCurrentState);
	ck_assert(st.dwControlsAccepted & SERVICE_ACCEPT_STOP);
	ck_assert(st.dwControlsAccepted & SERVICE_ACCEPT_SHUTDOWN);
	ck_assert(st.dwControlsAccepted & SERVICE_ACCEPT_PARAMCHANGE);
	port = logged_port(log, "echo");
	fd = hc_connect_ok(port);
	ck_assert(hc_echo_ok(fd, "hello, service\n"));
	hc_close(fd);

	/* PARAMCHANGE reads the file again. */
	reloaded = harness_fmt("%sservice daytime {\n"
	    "    listen 127.0.0.1:0\n    handler daytime\n}\n", conf_text);
	harness_write_file(conf, reloaded);
	ck_assert_msg(ControlService(svc, SERVICE_CONTROL_PARAMCHANGE, &st),
	    "ControlService(PARAMCHANGE): error %lu",
	    (unsigned long)GetLastError());
	text = harness_wait_file(log, "configuration reloaded: 2 services",
	    15000);
	ck_assert_msg(text != NULL, "no reload in the log");
	free(text);
	ck_assert_int_gt(logged_port(log, "daytime"), 0);

	/* A stop with a client connected: it is served on until it goes
	 * (shutdown-timeout is longer than the test waits). */
	fd = hc_connect_ok(port);
	ck_assert(hc_echo_ok(fd, "before\n"));
	ck_assert_msg(ControlService(svc, SERVICE_CONTROL_STOP, &st),
	    "ControlService(STOP): error %lu", (unsigned long)GetLastError());
	text = harness_wait_file(log, "stop asked by the Service Control "
	    "Manager", 15000);
	ck_assert_msg(text != NULL, "the stop did not reach harbord");
	free(text);
	text = harness_wait_file(log, "shutting down: 1 connection open",
	    15000);
	ck_assert_msg(text != NULL, "harbord did not shut down gracefully");
	free(text);
	ck_assert(QueryServiceStatus(svc, &st));
	ck_assert_uint_eq(st.dwCurrentState, SERVICE_STOP_PENDING);
	ck_assert_uint_ge(st.dwWaitHint, 20000);
	ck_assert(hc_echo_ok(fd, "during the stop\n"));
	hc_close(fd);
	ck_assert_msg(wait_state(svc, SERVICE_STOPPED, 15000, &st),
	    "the service is in state %lu, not stopped",
	    (unsigned long)st.dwCurrentState);
	ck_assert_uint_eq(st.dwWin32ExitCode, NO_ERROR);
	text = harness_wait_file(log, "exiting", 5000);
	ck_assert_msg(text != NULL, "the log does not say harbord exited");
	ck_assert_msg(strstr(text, "grace period over") == NULL,
	    "the client was cut off: %s", text);
	free(text);
	/* Nobody listens any more. */
	ck_assert_int_lt(hc_connect_ip("127.0.0.1", port, 2000), 0);

	close_service();
	run(&r, "-S", "remove", NULL, NULL);
	ck_assert_int_eq(r.code, 0);
	ck_assert_msg(strstr(r.out, "removed the service harbord") != NULL,
	    "%s", r.out);
	harness_run_free(&r);
	{
		SC_HANDLE	gone = OpenServiceA(scm, SERVICE,
				    SERVICE_QUERY_STATUS);
		DWORD		e = GetLastError();

		ck_assert(gone == NULL);
		ck_assert_uint_eq(e, ERROR_SERVICE_DOES_NOT_EXIST);
	}
	free(reloaded);
	free(conf);
	free(conf_text);
	free(log);
}
END_TEST

/* "log stderr", the default: harbord.log beside harbord.exe, from the
 * first line; -S remove stops the service first. */
START_TEST(test_default_log_and_remove_running)
{
	char		*log = service_log_path(), *conf, *text;
	SERVICE_STATUS	 st;
	SC_HANDLE	 svc;
	struct hrun	 r;
	int		 fd, port;

	(void)unlink(log);
	conf = install("service echo {\n    listen 127.0.0.1:0\n"
	    "    handler echo\n}\n");
	svc = open_service();
	ck_assert(StartServiceA(svc, 0, NULL));
	ck_assert(wait_state(svc, SERVICE_RUNNING, 15000, &st));
	port = logged_port(log, "echo");
	fd = hc_connect_ok(port);
	ck_assert(hc_echo_ok(fd, "hi\n"));
	hc_close(fd);

	run(&r, "-S", "remove", NULL, NULL);
	if (r.code != 0)
		print_run("harbord -S remove", &r);
	ck_assert_int_eq(r.code, 0);
	ck_assert_msg(strstr(r.out, "stopped the service harbord\n") != NULL &&
	    strstr(r.out, "removed the service harbord\n") != NULL, "%s",
	    r.out);
	harness_run_free(&r);
	text = harness_wait_file(log, "exiting", 5000);
	ck_assert_msg(text != NULL, "%s does not say harbord exited", log);
	ck_assert_msg(strstr(text, "not started as root") != NULL,
	    "the first lines are not in %s: %s", log, text);
	free(text);
	close_service();
	(void)unlink(log);
	free(conf);
	free(log);
}
END_TEST

/* A configuration with errors: the service stops at once, with harbord's
 * status as its own exit code, and the errors are in the log. */
START_TEST(test_failed_start)
{
	char		*log = service_log_path(), *conf, *text;
	SERVICE_STATUS	 st;
	SC_HANDLE	 svc;

	(void)unlink(log);
	conf = install("service broken {\n");
	svc = open_service();
	ck_assert(StartServiceA(svc, 0, NULL));
	ck_assert_msg(wait_state(svc, SERVICE_STOPPED, 15000, &st),
	    "the service is in state %lu, not stopped",
	    (unsigned long)st.dwCurrentState);
	ck_assert_uint_eq(st.dwWin32ExitCode, ERROR_SERVICE_SPECIFIC_ERROR);
	ck_assert_uint_eq(st.dwServiceSpecificExitCode, EXIT_CONFIG);
	text = harness_wait_file(log, "is never closed", 5000);
	ck_assert_msg(text != NULL, "no configuration error in %s", log);
	free(text);
	close_service();
	(void)unlink(log);
	free(conf);
	free(log);
}
END_TEST

/* What -S refuses: each says why, with its status. */
START_TEST(test_refusals)
{
	char		*missing = harness_fmt("%s/no-such.conf",
			    harness_tmpdir());
	struct hrun	 r;

	/* Not started by the SCM. */
	run(&r, "-S", "run", NULL, NULL);
	ck_assert_int_eq(r.code, EXIT_USAGE);
	ck_assert_msg(strstr(r.err, "is for the Service Control Manager") !=
	    NULL, "%s", r.err);
	harness_run_free(&r);

	run(&r, "-S", "start", NULL, NULL);
	ck_assert_int_eq(r.code, EXIT_USAGE);
	ck_assert_msg(strstr(r.err, "expected install, remove or run") !=
	    NULL, "%s", r.err);
	harness_run_free(&r);

	run(&r, "-d", "-S", "install", NULL);
	ck_assert_int_eq(r.code, EXIT_USAGE);
	harness_run_free(&r);

	run(&r, "-S", "install", "-f", missing);
	ck_assert_int_eq(r.code, EXIT_NOINPUT);
	ck_assert_msg(strstr(r.err, "no-such.conf") != NULL, "%s", r.err);
	harness_run_free(&r);

	/* Nothing to remove. */
	run(&r, "-S", "remove", NULL, NULL);
	ck_assert_int_eq(r.code, EXIT_UNAVAILABLE);
	ck_assert_msg(strstr(r.err, "no service harbord is installed") !=
	    NULL, "%s", r.err);
	harness_run_free(&r);
	free(missing);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("integration_winservice");
	TCase	*tc;

	harness_init();
	tc = harness_tcase("service");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_install_start_reload_stop_remove);
	tcase_add_test(tc, test_default_log_and_remove_running);
	tcase_add_test(tc, test_failed_start);
	suite_add_tcase(s, tc);
	return harness_run_suite(s);
}
