/*
 * harness.c -- run the real harbord on loopback and talk to it as a client.
 * See harness.h.
 */
#include "harness.h"	/* first: feature macros */

#include <sys/types.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <grp.h>
#include <pwd.h>
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check-run.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0		/* SIGPIPE is ignored by harness_init() */
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0		/* Windows: see set_cloexec() */
#endif
#ifndef O_BINARY
#define O_BINARY 0
#endif
#ifndef PATH_MAX
#define PATH_MAX 1024
#endif

#define MAX_LISTENS 64

static char		 tmpdir[PATH_MAX];
static const char	*harbord_path;
static bool		 verbose;

/* --- small utilities ------------------------------------------------------- */

long long
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
remaining_ms(long long deadline)
{
	long long left = deadline - harness_now_ms();

	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return p;
}

char *
harness_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

#ifdef _WIN32
/* Windows: what a child inherits is every inheritable handle, so the
 * harness's own files and sockets are made not inheritable. */
static void
set_cloexec(int fd)
{
	(void)SetHandleInformation((HANDLE)_get_osfhandle(fd),
	    HANDLE_FLAG_INHERIT, 0);
}

static void
sock_cloexec(int fd)
{
	(void)SetHandleInformation((HANDLE)(uintptr_t)fd, HANDLE_FLAG_INHERIT,
	    0);
}

static void
sock_nonblock(int fd)
{
	u_long on = 1;

	(void)ioctlsocket((SOCKET)fd, FIONBIO, &on);
}

/* errno for a Winsock error, as the callers test it. */
static int
wsa_errno(int e)
{
	switch (e) {
	case WSAEWOULDBLOCK:	return EAGAIN;
	case WSAEINPROGRESS:	return EINPROGRESS;
	case WSAEINTR:		return EINTR;
	case WSAECONNREFUSED:	return ECONNREFUSED;
	case WSAECONNRESET:	return ECONNRESET;
	case WSAECONNABORTED:	return ECONNABORTED;
	case WSAETIMEDOUT:	return ETIMEDOUT;
	case WSAEADDRINUSE:	return EADDRINUSE;
	case WSAEADDRNOTAVAIL:	return EADDRNOTAVAIL;
	case WSAEAFNOSUPPORT:	return EAFNOSUPPORT;
	case WSAENOTCONN:	return ENOTCONN;
	case WSAENOBUFS:	return ENOBUFS;
	case WSAEMFILE:		return EMFILE;
	case WSAEINVAL:		return EINVAL;
	default:		return EIO;
	}
}

static ssize_t
sock_send(int fd, const void *buf, size_t len)
{
	int n = send((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, 0);

	if (n == SOCKET_ERROR) {
		errno = wsa_errno(WSAGetLastError());
		return -1;
	}
	return n;
}

static ssize_t
sock_recv(int fd, void *buf, size_t len)
{
	int n = recv((SOCKET)fd, buf, len > INT_MAX ? INT_MAX : (int)len, 0);

	if (n == SOCKET_ERROR) {
		errno = wsa_errno(WSAGetLastError());
		return -1;
	}
	return n;
}

/* poll(2) over select(): entries with a negative fd are skipped, as
 * poll(2) does; an exceptional condition (a failed connect) is POLLERR. */
static int
sock_poll(struct pollfd *p, unsigned n, int timeout_ms)
{
	fd_set r, w, e;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int ready = 0, any = 0;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	for (unsigned i = 0; i < n; i++) {
		p[i].revents = 0;
		if ((int)p[i].fd < 0)
			continue;
		if (p[i].events & POLLIN)
			FD_SET(p[i].fd, &r);
		if (p[i].events & POLLOUT)
			FD_SET(p[i].fd, &w);
		FD_SET(p[i].fd, &e);
		any = 1;
	}
	if (!any) {
		Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
		return 0;
	}
	if (select(0, &r, &w, &e, timeout_ms < 0 ? NULL : &tv) ==
	    SOCKET_ERROR) {
		errno = wsa_errno(WSAGetLastError());
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if ((int)p[i].fd < 0)
			continue;
		if (FD_ISSET(p[i].fd, &r))
			p[i].revents |= POLLIN;
		if (FD_ISSET(p[i].fd, &w))
			p[i].revents |= POLLOUT;
		if (FD_ISSET(p[i].fd, &e))
			p[i].revents |= POLLERR;
		ready += p[i].revents != 0;
	}
	return ready;
}

static int
sock_close(int fd)
{
	return closesocket((SOCKET)fd) == 0 ? 0 : -1;
}
#else
static void
set_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags != -1)
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

static void
set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags != -1)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int
make_pipe(int p[2])
{
	if (pipe(p) == -1)
		return -1;
	set_cloexec(p[0]);
	set_cloexec(p[1]);
	return 0;
}

#define sock_cloexec(fd)		set_cloexec(fd)
#define sock_nonblock(fd)		set_nonblock(fd)
#define sock_send(fd, buf, len)		send((fd), (buf), (len), MSG_NOSIGNAL)
#define sock_recv(fd, buf, len)		recv((fd), (buf), (len), 0)
#define sock_poll(p, n, ms)		poll((p), (n), (ms))
#define sock_close(fd)			close(fd)
#endif

static bool
write_all_fd(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

#ifdef _WIN32
/* There the status is GetExitCodeProcess()'s. */
#define status_code(status)	(status)

/* MinGW has no memmem. */
static void *
memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
	const char *h = hay;

	if (nlen == 0)
		return (void *)h;
	for (size_t i = 0; nlen <= hlen && i <= hlen - nlen; i++)
		if (h[i] == *(const char *)needle &&
		    memcmp(h + i, needle, nlen) == 0)
			return (void *)(h + i);
	return NULL;
}
#else
static int
status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}
#endif

/* --- suite plumbing -------------------------------------------------------- */

const char *
harness_harbord(void)
{
	return harbord_path;
}

const char *
harness_tmpdir(void)
{
	return tmpdir;
}

void
harness_skip_note(const char *test, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	fprintf(stderr, "SKIP %s: %s\n", test, reason);
	fflush(stderr);
}

#ifdef _WIN32
/* Every process the harness starts is in this job, which kills them all
 * when the test program ends: no process group does it there. */
static HANDLE	 job;
static HANDLE	 procs[256];
static int	 nprocs;

static void
win_init(void)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
	WSADATA wsa;
	char base[MAX_PATH];
	DWORD n;

	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		fprintf(stderr, "harness: WSAStartup failed\n");
		exit(99);
	}
	if ((job = CreateJobObjectA(NULL, NULL)) != NULL) {
		memset(&lim, 0, sizeof lim);
		lim.BasicLimitInformation.LimitFlags =
		    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
		(void)SetInformationJobObject(job,
		    JobObjectExtendedLimitInformation, &lim, sizeof lim);
	}
	n = GetTempPathA(sizeof base, base);
	if (n == 0 || n >= sizeof base) {
		fprintf(stderr, "harness: no temporary directory\n");
		exit(99);
	}
	/* Forward slashes: the paths go into configs, where a backslash
	 * in a quoted string escapes. */
	for (char *p = base; *p != '\0'; p++)
		if (*p == '\\')
			*p = '/';
	snprintf(tmpdir, sizeof tmpdir, "%sharbord-test.%lu.%lu", base,
	    (unsigned long)GetCurrentProcessId(),
	    (unsigned long)GetTickCount());
	if (!CreateDirectoryA(tmpdir, NULL)) {
		fprintf(stderr, "harness: cannot create %s\n", tmpdir);
		exit(99);
	}
}
#endif

void
harness_init(void)
{
	const char *base, *env;
#ifndef _WIN32
	struct sigaction sa;
#endif

	env = getenv("HARBORD");
#ifdef _WIN32
#undef X_OK
#define X_OK	F_OK		/* msvcrt's access() takes no X_OK */
#define HARBORD_EXE(p)	p ".exe"
#else
#define HARBORD_EXE(p)	p
#endif
	if (env == NULL || *env == '\0') {
		if (access(HARBORD_EXE("src/harbord"), X_OK) == 0)
			env = HARBORD_EXE("src/harbord");
		else if (access(HARBORD_EXE("../src/harbord"), X_OK) == 0)
			env = HARBORD_EXE("../src/harbord");
	}
	if (env == NULL || access(env, X_OK) != 0) {
		fprintf(stderr, "harness: HARBORD is not set or %s is not "
		    "executable; build the daemon first (make)\n",
		    env ? env : "src/harbord");
		exit(99);	/* automake: hard error */
	}
	harbord_path = env;
	verbose = (env = getenv("HARNESS_VERBOSE")) != NULL && *env == '1';

#ifdef _WIN32
	(void)base;
	win_init();
#else
	base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/harbord-test.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpdir,
		    strerror(errno));
		exit(99);
	}

	/* The tests write to sockets the daemon may have closed. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
#endif
}

#ifdef _WIN32
/* The job holds every daemon; this only keeps the handles, to end the
 * daemons of a test that failed before its hd_free(). */
static void
win_track(HANDLE proc)
{
	if (job != NULL)
		(void)AssignProcessToJobObject(job, proc);
	for (int i = 0; i < nprocs; i++)
		if (WaitForSingleObject(procs[i], 0) == WAIT_OBJECT_0) {
			CloseHandle(procs[i]);
			procs[i--] = procs[--nprocs];
		}
	if (nprocs < (int)(sizeof procs / sizeof procs[0]))
		DuplicateHandle(GetCurrentProcess(), proc, GetCurrentProcess(),
		    &procs[nprocs++], 0, FALSE, DUPLICATE_SAME_ACCESS);
}

void
harness_register_pid(pid_t pid)
{
	(void)pid;	/* win_track() has it */
}
#else
static bool
pid_is_harbord(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, "harbord") != NULL;
}

void
harness_register_pid(pid_t pid)
{
	char path[PATH_MAX + 16], line[32];
	int fd;

	snprintf(path, sizeof path, "%s/pids", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1)
		return;
	snprintf(line, sizeof line, "%ld\n", (long)pid);
	write_all_fd(fd, line, strlen(line));
	close(fd);
}
#endif

/* Kill every registered daemon that is still around and empty tmpdir. */
static void
harness_cleanup(bool remove_dir)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	char *pids;
	DIR *dir;

	if (tmpdir[0] == '\0')
		return;
#ifdef _WIN32
	for (int i = 0; i < nprocs; i++) {
		if (WaitForSingleObject(procs[i], 0) != WAIT_OBJECT_0) {
			fprintf(stderr, "harness: killing leftover harbord\n");
			TerminateProcess(procs[i], 137);
			WaitForSingleObject(procs[i], 5000);
		}
		CloseHandle(procs[i]);
	}
	nprocs = 0;
	(void)pids;
#else
	snprintf(path, sizeof path, "%s/pids", tmpdir);
	if ((pids = harness_read_file(path)) != NULL) {
		for (char *p = pids; *p != '\0';) {
			char *end;
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			/* Only kill what /proc confirms is harbord, so a
			 * recycled pid is never hit. */
			if (pid > 1 && harness_pid_alive((pid_t)pid) &&
			    pid_is_harbord((pid_t)pid)) {
				fprintf(stderr, "harness: killing leftover "
				    "harbord %ld\n", pid);
				kill((pid_t)pid, SIGKILL);
			}
			p = end;
			while (*p == '\n')
				p++;
		}
		free(pids);
	}
#endif
	if ((dir = opendir(tmpdir)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", tmpdir,
			    de->d_name);
			if (unlink(path) == -1)
				rmdir(path);
		}
		closedir(dir);
	}
	if (remove_dir)
		rmdir(tmpdir);
}

static void
harness_fixture_setup(void)
{
}

static void
harness_fixture_teardown(void)
{
	harness_cleanup(false);
}

TCase *
harness_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, H_TCASE_TIMEOUT);
	tcase_add_unchecked_fixture(tc, harness_fixture_setup,
	    harness_fixture_teardown);
	return tc;
}

int
harness_run_suite(Suite *s)
{
	int status = check_run(s);

	harness_cleanup(true);
	return status;
}

char *
harness_write_temp(const char *prefix, const char *text)
{
	char *path = harness_fmt("%s/%s.XXXXXX", tmpdir, prefix);
	int fd = mkstemp(path);

	ck_assert_msg(fd != -1, "mkstemp %s: %s", path, strerror(errno));
	set_cloexec(fd);
#ifdef _WIN32
	(void)_setmode(fd, O_BINARY);	/* the bytes given, no CRLF */
#endif
	ck_assert_msg(write_all_fd(fd, text, strlen(text)), "write %s: %s",
	    path, strerror(errno));
	close(fd);
	return path;
}

void
harness_write_file(const char *path, const char *text)
{
	char *tmp = harness_fmt("%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_BINARY,
	    0600);

	ck_assert_msg(fd != -1, "open %s: %s", tmp, strerror(errno));
	ck_assert_msg(write_all_fd(fd, text, strlen(text)), "write %s: %s",
	    tmp, strerror(errno));
	close(fd);
#ifdef _WIN32
	/* rename() there does not replace an existing file. */
	ck_assert_msg(MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING),
	    "MoveFileEx %s: error %lu", tmp, (unsigned long)GetLastError());
#else
	ck_assert_msg(rename(tmp, path) == 0, "rename %s: %s", tmp,
	    strerror(errno));
#endif
	free(tmp);
}

char *
harness_read_file(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_BINARY)) == -1)
		return NULL;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (cap - len < 2048)
			buf = xrealloc(buf, cap *= 2);
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* --- /proc ----------------------------------------------------------------- */

#ifdef _WIN32
bool
harness_have_proc(void)
{
	return false;
}

long
harness_proc_rss_kb(pid_t pid)
{
	return -1;
}

double
harness_proc_cpu_s(pid_t pid)
{
	return -1;
}

bool
harness_pid_alive(pid_t pid)
{
	HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
	bool alive;

	if (h == NULL)
		return false;
	alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
	CloseHandle(h);
	return alive;
}
#else
bool
harness_have_proc(void)
{
	return access("/proc/self/status", R_OK) == 0 &&
	    access("/proc/self/stat", R_OK) == 0;
}

long
harness_proc_rss_kb(pid_t pid)
{
	char path[64], *text, *p;
	long kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((text = harness_read_file(path)) == NULL)
		return -1;
	if ((p = strstr(text, "\nVmRSS:")) != NULL)
		kb = strtol(p + 7, NULL, 10);
	free(text);
	return kb;
}

/* Fields of /proc/PID/stat after the command name, 0 = state (field 3). */
static bool
proc_stat_fields(pid_t pid, char *state, unsigned long long *utime,
    unsigned long long *stime)
{
	char path[64], *text, *p, *tok, *save;
	bool ok = false;
	int i;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((text = harness_read_file(path)) == NULL)
		return false;
	if ((p = strrchr(text, ')')) == NULL)
		goto out;
	for (i = 0, tok = strtok_r(p + 1, " ", &save); tok != NULL;
	    i++, tok = strtok_r(NULL, " ", &save)) {
		if (i == 0 && state != NULL)
			*state = tok[0];
		else if (i == 11 && utime != NULL)
			*utime = strtoull(tok, NULL, 10);
		else if (i == 12) {
			if (stime != NULL)
				*stime = strtoull(tok, NULL, 10);
			ok = true;
			break;
		}
	}
out:
	free(text);
	return ok;
}

double
harness_proc_cpu_s(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || !proc_stat_fields(pid, NULL, &ut, &st))
		return -1;
	return (double)(ut + st) / (double)hz;
}

bool
harness_pid_alive(pid_t pid)
{
	char state = '?';

	if (pid <= 0)
		return false;
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return false;
	if (harness_have_proc() && proc_stat_fields(pid, &state, NULL, NULL))
		return state != 'Z' && state != 'X';
	return true;
}
#endif

/* --- spawning -------------------------------------------------------------- */

#ifdef _WIN32
/* The command line that the C runtime's parser splits back into argv:
 * an argument with blanks or quotes is quoted, and backslashes are
 * doubled only before a quote. */
static char *
win_cmdline(char **argv)
{
	size_t cap = 1, len = 0;
	char *out;

	for (char **a = argv; *a != NULL; a++)
		cap += 2 * strlen(*a) + 3;
	out = xmalloc(cap);
	for (char **a = argv; *a != NULL; a++) {
		const char *p = *a;

		if (a != argv)
			out[len++] = ' ';
		if (*p != '\0' && strpbrk(p, " \t\"") == NULL) {
			memcpy(out + len, p, strlen(p));
			len += strlen(p);
			continue;
		}
		out[len++] = '"';
		for (;; p++) {
			size_t bs = 0;

			while (*p == '\\') {
				bs++;
				p++;
			}
			if (*p == '\0' || *p == '"')
				bs = 2 * bs + (*p == '"');
			while (bs-- > 0)
				out[len++] = '\\';
			if (*p == '\0')
				break;
			out[len++] = *p;
		}
		out[len++] = '"';
	}
	out[len] = '\0';
	return out;
}

/* CreateProcess with the given standard handles, which alone of the
 * harness's are inheritable for the moment of the call (the pipes are
 * made not inheritable, so that no other daemon holds them open).  Only
 * the main thread spawns. */
static HANDLE
win_spawn(char **argv, HANDLE in, HANDLE out, HANDLE err, pid_t *pid)
{
	HANDLE std[3] = { in, out, err };
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;
	char *cmd = win_cmdline(argv);
	BOOL ok;

	for (int i = 0; i < 3; i++)
		SetHandleInformation(std[i], HANDLE_FLAG_INHERIT,
		    HANDLE_FLAG_INHERIT);
	memset(&si, 0, sizeof si);
	si.cb = sizeof si;
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = in;
	si.hStdOutput = out;
	si.hStdError = err;
	ok = CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si,
	    &pi);
	for (int i = 0; i < 3; i++)
		SetHandleInformation(std[i], HANDLE_FLAG_INHERIT, 0);
	free(cmd);
	if (!ok)
		return NULL;
	CloseHandle(pi.hThread);
	win_track(pi.hProcess);
	*pid = (pid_t)pi.dwProcessId;
	return pi.hProcess;
}

static HANDLE
win_devnull(void)
{
	HANDLE h = CreateFileA("NUL", GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);

	ck_assert_msg(h != INVALID_HANDLE_VALUE, "open NUL: error %lu",
	    (unsigned long)GetLastError());
	return h;
}

/* The C runtime writes a text-mode LF as CRLF: appends src to dst with
 * CRLF folded back to LF, a CR at the end of src held in *cr.  dst has
 * room for n + 1 bytes; returns how many it got. */
static size_t
fold_crlf(char *dst, const char *src, size_t n, bool *cr)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (*cr && src[i] != '\n')
			dst[len++] = '\r';
		*cr = src[i] == '\r';
		if (!*cr)
			dst[len++] = src[i];
	}
	return len;
}
#else
struct spawn {
	const char	*path;
	char		**argv;
	int		 in_fd, out_fd, err_fd;
	long		 nofile;
	int		 maxfd;
	bool		 as_user;	/* become uid and gid first */
	uid_t		 uid;
	gid_t		 gid;
};

/* Fork and exec; the child only calls async-signal-safe functions. */
static pid_t
spawn(struct spawn *sp)
{
	struct sigaction dfl;
	struct rlimit rl;
	sigset_t none;
	pid_t pid;

	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&none);
	sp->maxfd = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		sp->maxfd = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;

	pid = fork();
	if (pid != 0)
		return pid;

	/* child */
	if (dup2(sp->in_fd, 0) == -1 || dup2(sp->out_fd, 1) == -1 ||
	    dup2(sp->err_fd, 2) == -1)
		_exit(126);
	for (int fd = 3; fd < sp->maxfd; fd++)
		close(fd);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sp->nofile > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)sp->nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(126);
	}
	if (sp->as_user && (setgroups(1, &sp->gid) == -1 ||
	    setgid(sp->gid) == -1 || setuid(sp->uid) == -1))
		_exit(126);
	execv(sp->path, sp->argv);
	_exit(127);
}

/* The ids of user, for spawn(); false if there is none. */
static bool
spawn_as(struct spawn *sp, const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL)
		return false;
	sp->as_user = true;
	sp->uid = pw->pw_uid;
	sp->gid = pw->pw_gid;
	return true;
}
#endif

static char **
build_argv(const char *const *head, const char *const *tail)
{
	size_t n = 0, i = 0;
	char **argv;

	for (const char *const *a = head; a && *a; a++)
		n++;
	for (const char *const *a = tail; a && *a; a++)
		n++;
	argv = xmalloc((n + 1) * sizeof *argv);
	for (const char *const *a = head; a && *a; a++)
		argv[i++] = (char *)*a;
	for (const char *const *a = tail; a && *a; a++)
		argv[i++] = (char *)*a;
	argv[i] = NULL;
	return argv;
}

#ifndef _WIN32
static int
open_devnull(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	ck_assert_msg(fd != -1, "open /dev/null: %s", strerror(errno));
	return fd;
}

#endif

struct sink {
	char	*buf;
	size_t	 len, cap;
	bool	 eof;
#ifdef _WIN32
	HANDLE	 h;
	bool	 cr;
#endif
};

#ifdef _WIN32
/* Reads one pipe to its end; a thread per pipe, as Windows cannot poll
 * pipes. */
static void *
sink_main(void *arg)
{
	struct sink *s = arg;
	char buf[4096];
	DWORD n;

	while (ReadFile(s->h, buf, sizeof buf, &n, NULL) && n > 0) {
		if (s->cap - s->len < sizeof buf + 2)
			s->buf = xrealloc(s->buf, s->cap = s->cap * 2 + 8192);
		s->len += fold_crlf(s->buf + s->len, buf, n, &s->cr);
	}
	if (s->cr)
		s->buf[s->len++] = '\r';
	s->buf[s->len] = '\0';
	s->eof = true;
	return NULL;
}

void
harness_run_program(const char *path, const char *const *args,
    int timeout_ms, struct hrun *r)
{
	const char *head[] = { path, NULL };
	struct sink out = { 0 }, err = { 0 };
	HANDLE wo, we, nul, proc;
	pthread_t to, te;
	char **argv;
	DWORD code;
	pid_t pid;

	memset(r, 0, sizeof *r);
	out.buf = xmalloc(out.cap = 8192);
	err.buf = xmalloc(err.cap = 8192);
	out.buf[0] = err.buf[0] = '\0';
	ck_assert(CreatePipe(&out.h, &wo, NULL, 0) &&
	    CreatePipe(&err.h, &we, NULL, 0));
	nul = win_devnull();
	argv = build_argv(head, args);
	/* Wine's CreateProcess now and then fails with an internal error
	 * (1359) while other processes start: tried three times. */
	for (int tries = 0; (proc = win_spawn(argv, nul, wo, we,
	    &pid)) == NULL && GetLastError() == ERROR_INTERNAL_ERROR &&
	    tries < 2; tries++)
		harness_sleep_ms(200);
	ck_assert_msg(proc != NULL, "CreateProcess %s: error %lu",
	    path, (unsigned long)GetLastError());
	free(argv);
	CloseHandle(wo);
	CloseHandle(we);
	CloseHandle(nul);
	ck_assert(pthread_create(&to, NULL, sink_main, &out) == 0 &&
	    pthread_create(&te, NULL, sink_main, &err) == 0);

	if (WaitForSingleObject(proc, (DWORD)timeout_ms) == WAIT_OBJECT_0 &&
	    GetExitCodeProcess(proc, &code))
		r->code = (int)code;
	else {
		TerminateProcess(proc, 137);
		WaitForSingleObject(proc, INFINITE);
		r->code = -1;
	}
	/* The pipes end with the process: nothing else holds them. */
	pthread_join(to, NULL);
	pthread_join(te, NULL);
	CloseHandle(proc);
	CloseHandle(out.h);
	CloseHandle(err.h);
	r->closed = out.eof && err.eof;
	r->out = out.buf;
	r->err = err.buf;
}
#else
static void
sink_read(struct sink *s, int fd)
{
	ssize_t n;

	if (s->cap - s->len < 4096)
		s->buf = xrealloc(s->buf, s->cap = s->cap * 2 + 8192);
	n = read(fd, s->buf + s->len, s->cap - s->len - 1);
	if (n > 0)
		s->len += (size_t)n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		s->eof = true;
	s->buf[s->len] = '\0';
}

bool
harness_user_runs_harbord(const char *user)
{
	const char *head[] = { harbord_path, "-V", NULL };
	struct spawn sp;
	long long deadline = harness_now_ms() + H_WAIT_MS;
	int devnull, status;
	pid_t pid;

	memset(&sp, 0, sizeof sp);
	if (geteuid() != 0 || !spawn_as(&sp, user))
		return false;
	devnull = open_devnull();
	sp.path = harbord_path;
	sp.argv = build_argv(head, NULL);
	sp.in_fd = sp.out_fd = sp.err_fd = devnull;
	pid = spawn(&sp);
	free(sp.argv);
	close(devnull);
	if (pid == -1)
		return false;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (harness_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return false;
		}
		harness_sleep_ms(20);
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* harness_run_program(), as user if not NULL. */
static void
run_program_as(const char *user, const char *path, const char *const *args,
    int timeout_ms, struct hrun *r)
{
	const char *head[] = { path, NULL };
	struct sink out = { 0 }, err = { 0 };
	int po[2], pe[2], devnull, status;
	long long deadline, drain_deadline = 0;
	struct spawn sp;
	bool exited = false;
	pid_t pid;

	memset(r, 0, sizeof *r);
	out.buf = xmalloc(out.cap = 8192);
	err.buf = xmalloc(err.cap = 8192);
	out.buf[0] = err.buf[0] = '\0';
	ck_assert(make_pipe(po) == 0 && make_pipe(pe) == 0);
	devnull = open_devnull();

	memset(&sp, 0, sizeof sp);
	if (user != NULL) {
		ck_assert_msg(spawn_as(&sp, user), "no user %s", user);
		ck_assert(chmod(tmpdir, 0711) == 0);
	}
	sp.path = path;
	sp.argv = build_argv(head, args);
	sp.in_fd = devnull;
	sp.out_fd = po[1];
	sp.err_fd = pe[1];
	pid = spawn(&sp);
	ck_assert_msg(pid != -1, "fork: %s", strerror(errno));
	harness_register_pid(pid);
	close(po[1]);
	close(pe[1]);
	close(devnull);
	free(sp.argv);
	set_nonblock(po[0]);
	set_nonblock(pe[0]);

	r->code = -1;
	deadline = harness_now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p[2] = {
			{ out.eof ? -1 : po[0], POLLIN, 0 },
			{ err.eof ? -1 : pe[0], POLLIN, 0 },
		};
		long long limit = exited ? drain_deadline : deadline;
		int wait = remaining_ms(limit);

		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			r->code = status_code(status);
			/* Whatever holds the pipes now (a daemonized
			 * grandchild that kept stdio) gets a second. */
			drain_deadline = harness_now_ms() + 1000;
			continue;
		}
		if (out.eof && err.eof && exited)
			break;
		if (wait == 0) {
			if (exited)
				break;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			r->code = -1;
			break;
		}
		if (poll(p, 2, wait > 20 ? 20 : wait) > 0) {
			if (p[0].revents)
				sink_read(&out, po[0]);
			if (p[1].revents)
				sink_read(&err, pe[0]);
		}
	}
	r->closed = out.eof && err.eof;
	close(po[0]);
	close(pe[0]);
	r->out = out.buf;
	r->err = err.buf;
}

void
harness_run_program(const char *path, const char *const *args,
    int timeout_ms, struct hrun *r)
{
	run_program_as(NULL, path, args, timeout_ms, r);
}

void
harness_run_as(const char *user, const char *const *args, int timeout_ms,
    struct hrun *r)
{
	run_program_as(user, harbord_path, args, timeout_ms, r);
}
#endif

void
harness_run(const char *const *args, int timeout_ms, struct hrun *r)
{
	harness_run_program(harbord_path, args, timeout_ms, r);
}

const char *
harness_harborctl(void)
{
	const char *p = getenv("HARBORCTL");

	return p != NULL && *p != '\0' && access(p, X_OK) == 0 ? p : NULL;
}

void
harness_run_free(struct hrun *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* --- a daemon in the foreground -------------------------------------------- */

struct hlisten {
	char	service[128];
	char	host[128];
	int	port;
};

struct hdaemon {
	pid_t		 pid;
	bool		 reaped;
	int		 status;
	int		 out_fd;
	char		*conf_path;
	char		*ctl_path;	/* the control socket the harness set */
	bool		 as_user;	/* its config readable to others */
#ifdef _WIN32
	HANDLE		 proc;
	HANDLE		 out_h;		/* the read end of its stdout/stderr */
	bool		 cr;		/* reader: a CR held back */
#endif

	pthread_t	 reader;
	bool		 reader_running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	/* protected by mu */
	char		*log;
	size_t		 len, cap;
	bool		 eof;
	bool		 stop;

	size_t		 mark;
	size_t		 scanned;
	struct hlisten	 listens[MAX_LISTENS];
	int		 nlistens;
};

#ifdef _WIN32
/* Blocking reads to the end: the pipe ends when the daemon does, as no
 * other process holds it. */
static void *
reader_main(void *arg)
{
	struct hdaemon *d = arg;
	char buf[16384];
	DWORD n;

	for (;;) {
		bool ok = ReadFile(d->out_h, buf, sizeof buf, &n, NULL) &&
		    n > 0;

		pthread_mutex_lock(&d->mu);
		if (ok) {
			if (d->cap - d->len <= (size_t)n + 1) {
				d->cap = (d->cap + (size_t)n) * 2;
				d->log = xrealloc(d->log, d->cap);
			}
			d->len += fold_crlf(d->log + d->len, buf, n, &d->cr);
			d->log[d->len] = '\0';
		} else
			d->eof = true;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		if (ok && verbose)
			write_all_fd(2, buf, (size_t)n);
		if (!ok)
			break;
	}
	return NULL;
}
#else
static void *
reader_main(void *arg)
{
	struct hdaemon *d = arg;
	char buf[16384];

	for (;;) {
		struct pollfd p = { d->out_fd, POLLIN, 0 };
		bool stop;
		ssize_t n;
		int r;

		r = poll(&p, 1, 100);
		pthread_mutex_lock(&d->mu);
		stop = d->stop;
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
		if (r <= 0)
			continue;
		n = read(d->out_fd, buf, sizeof buf);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		pthread_mutex_lock(&d->mu);
		if (n > 0) {
			if (d->cap - d->len <= (size_t)n) {
				d->cap = (d->cap + (size_t)n) * 2;
				d->log = xrealloc(d->log, d->cap);
			}
			memcpy(d->log + d->len, buf, (size_t)n);
			d->len += (size_t)n;
			d->log[d->len] = '\0';
		} else
			d->eof = true;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		if (n > 0 && verbose)
			write_all_fd(2, buf, (size_t)n);
		if (n <= 0)
			break;
	}
	return NULL;
}
#endif

/* Wait on the condition for at most slice_ms (d->mu held). */
static void
cv_wait_slice(struct hdaemon *d, int slice_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)slice_ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

/* Number of addresses in `listen` statements of a config text. */
static int
count_listen_addrs(const char *p)
{
	bool stmt_start = true, in_listen = false;
	int count = 0;

	while (*p != '\0') {
		const char *tok;

		if (*p == '#') {
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (strchr("\n;{}", *p) != NULL) {
			stmt_start = true;
			in_listen = false;
			p++;
			continue;
		}
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		tok = p;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '"')
				p++;
		} else
			while (*p != '\0' && !isspace((unsigned char)*p) &&
			    strchr("#;{}", *p) == NULL)
				p++;
		if (in_listen)
			count++;
		else if (stmt_start && p - tok == 6 &&
		    memcmp(tok, "listen", 6) == 0)
			in_listen = true;
		stmt_start = false;
	}
	return count;
}

/* Parse new complete "service NAME listening on HOST:PORT" lines (d->mu). */
static void
scan_listens(struct hdaemon *d)
{
	static const char key[] = " listening on ";

	while (d->scanned < d->len) {
		const char *start = d->log + d->scanned;
		const char *nl = memchr(start, '\n', d->len - d->scanned);
		char line[1024], *k, *name, *addr, *colon;
		struct hlisten l;
		int i;

		if (nl == NULL)
			break;
		d->scanned = (size_t)(nl - d->log) + 1;
		snprintf(line, sizeof line, "%.*s", (int)(nl - start), start);
		if ((k = strstr(line, key)) == NULL)
			continue;
		for (name = k; name > line && name[-1] != ' '; name--)
			;
		if (name == k || name - line < 8 ||
		    memcmp(name - 8, "service ", 8) != 0)
			continue;
		/* The address is one token; words may follow it. */
		addr = k + sizeof key - 1;
		addr[strcspn(addr, " \t")] = '\0';
		if ((colon = strrchr(addr, ':')) == NULL)
			continue;
		memset(&l, 0, sizeof l);
		snprintf(l.service, sizeof l.service, "%.*s", (int)(k - name),
		    name);
		snprintf(l.host, sizeof l.host, "%.*s", (int)(colon - addr),
		    addr);
		l.port = atoi(colon + 1);
		for (i = 0; i < d->nlistens; i++)
			if (strcmp(d->listens[i].service, l.service) == 0 &&
			    strcmp(d->listens[i].host, l.host) == 0)
				break;
		if (i < MAX_LISTENS) {
			d->listens[i] = l;
			if (i == d->nlistens)
				d->nlistens++;
		}
	}
}

static bool
log_has(struct hdaemon *d, size_t from, const char *s)
{
	if (from > d->len)
		from = d->len;
	return memmem(d->log + from, d->len - from, s, strlen(s)) != NULL;
}

static int
log_count(struct hdaemon *d, size_t from, const char *s)
{
	size_t n = strlen(s);
	const char *p, *end = d->log + d->len;
	int count = 0;

	if (from > d->len)
		from = d->len;
	for (p = d->log + from;
	    (p = memmem(p, (size_t)(end - p), s, n)) != NULL; p += n)
		count++;
	return count;
}

static void
reap_nohang(struct hdaemon *d)
{
#ifdef _WIN32
	DWORD code;

	if (!d->reaped && WaitForSingleObject(d->proc, 0) == WAIT_OBJECT_0 &&
	    GetExitCodeProcess(d->proc, &code)) {
		d->reaped = true;
		d->status = (int)code;
	}
#else
	int status;

	if (!d->reaped && waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->reaped = true;
		d->status = status;
	}
#endif
}

static void
hd_abort_start(struct hdaemon *d, const char *why)
{
	hd_dump_log(d, why);
	hd_free(d);
	ck_abort_msg("harbord did not start: %s (its output is on stderr)",
	    why);
}

/* The test's config, as harness_daemon_config makes it, with the
 * daemon's control socket. */
static char *
daemon_config(struct hdaemon *d, const char *config)
{
	char *base = harness_daemon_config(config), *full;

	if (d->ctl_path == NULL)
		return base;
	full = harness_fmt("%s\ncontrol-socket %s\n", base, d->ctl_path);
	free(base);
	return full;
}

const char *
hd_control_path(struct hdaemon *d)
{
	return d->ctl_path;
}

void
hd_ctl(struct hdaemon *d, struct hrun *r, const char *cmd, const char *arg)
{
	const char *ctl = harness_harborctl();
	const char *args[] = { "-s", d->ctl_path, "-t", "20", cmd, arg, NULL };

	ck_assert_msg(ctl != NULL, "HARBORCTL is not set to harborctl");
	ck_assert_msg(d->ctl_path != NULL, "this daemon has no control "
	    "socket of the harness's");
	harness_run_program(ctl, args, 30000, r);
}

struct hdaemon *
hd_start(const char *config, const struct hd_opts *opts)
{
	static const struct hd_opts none;
	const char *head[8];
	struct hdaemon *d;
#ifdef _WIN32
	HANDLE w, nul;
	char **argv;
#else
	struct spawn sp;
	int p[2], devnull;
#endif
	int expect, n = 0;
	long long deadline;
	char starting[64];

	if (opts == NULL)
		opts = &none;
	d = xmalloc(sizeof *d);
	memset(d, 0, sizeof *d);
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->log = xmalloc(d->cap = 65536);
	d->log[0] = '\0';

	head[n++] = harbord_path;
	head[n++] = "-d";
	d->as_user = opts->user != NULL;
	if (!opts->no_config) {
		char *full;

		/* Each daemon its own control socket, not the system's; one
		 * run as another user makes none in the harness's directory,
		 * which is root's.  (On Windows, its control file.) */
		if (!opts->as_written && !d->as_user &&
		    strstr(config, "control-socket") == NULL) {
			static int n;

#ifdef _WIN32
			const char *ext = "ctl";
#else
			const char *ext = "sock";
#endif

			d->ctl_path = harness_fmt("%s/ctl.%ld.%d.%s", tmpdir,
			    (long)getpid(), ++n, ext);
		}
		full = opts->as_written || d->as_user ?
		    harness_fmt("%s", config) : daemon_config(d, config);

		d->conf_path = harness_write_temp("harbord.conf", full);
		free(full);
		head[n++] = "-f";
		head[n++] = d->conf_path;
	}
	head[n] = NULL;
	expect = opts->expect_listen;
	if (expect <= 0)
		expect = opts->no_config ? 6 : count_listen_addrs(config);

#ifdef _WIN32
	/* opts->nofile: Windows has no descriptor limit to set; the tests
	 * that need one skip there. */
	ck_assert(CreatePipe(&d->out_h, &w, NULL, 0));
	nul = win_devnull();
	argv = build_argv(head, opts->args);
	d->proc = win_spawn(argv, nul, w, w, &d->pid);
	ck_assert_msg(d->proc != NULL, "CreateProcess %s: error %lu",
	    harbord_path, (unsigned long)GetLastError());
	free(argv);
	CloseHandle(w);
	CloseHandle(nul);
	d->out_fd = -1;
#else
	ck_assert(make_pipe(p) == 0);
	devnull = open_devnull();
	memset(&sp, 0, sizeof sp);
	if (d->as_user) {
		ck_assert_msg(spawn_as(&sp, opts->user), "no user %s",
		    opts->user);
		/* Its configuration, in the temporary directory, is for it
		 * to read. */
		ck_assert(chmod(tmpdir, 0711) == 0);
		if (d->conf_path != NULL)
			ck_assert(chmod(d->conf_path, 0644) == 0);
	}
	sp.path = harbord_path;
	sp.argv = build_argv(head, opts->args);
	sp.in_fd = devnull;
	sp.out_fd = sp.err_fd = p[1];
	sp.nofile = opts->nofile;
	d->pid = spawn(&sp);
	ck_assert_msg(d->pid != -1, "fork: %s", strerror(errno));
	harness_register_pid(d->pid);
	free(sp.argv);
	close(p[1]);
	close(devnull);
	d->out_fd = p[0];
	set_nonblock(d->out_fd);
#endif
	ck_assert(pthread_create(&d->reader, NULL, reader_main, d) == 0);
	d->reader_running = true;

	snprintf(starting, sizeof starting, "harbord %s starting",
	    HARBORD_VERSION);
	deadline = harness_now_ms() + H_WAIT_MS;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		scan_listens(d);
		if (log_has(d, 0, starting) && d->nlistens >= expect)
			break;
		reap_nohang(d);
		if (d->reaped || d->eof || remaining_ms(deadline) == 0) {
			char why[256];

			if (d->reaped)
				snprintf(why, sizeof why, "it exited with "
				    "code %d", status_code(d->status));
			else if (d->eof)
				snprintf(why, sizeof why, "its output closed");
			else
				snprintf(why, sizeof why, "no '%s' and %d "
				    "listening lines within %d ms (saw %d)",
				    starting, expect, H_WAIT_MS, d->nlistens);
			pthread_mutex_unlock(&d->mu);
			hd_abort_start(d, why);
		}
		cv_wait_slice(d, 50);
	}
	pthread_mutex_unlock(&d->mu);
	return d;
}

pid_t
hd_pid(struct hdaemon *d)
{
	return d->pid;
}

#ifndef _WIN32
/* The pid of a harbord whose parent is ppid, 0 if none (/proc only). */
static pid_t
harbord_child_of(pid_t ppid)
{
	DIR		*dir;
	struct dirent	*e;
	char		*path, *text, *close_paren;
	long		 parent;
	pid_t		 found = 0;

	if ((dir = opendir("/proc")) == NULL)
		return 0;
	while (found == 0 && (e = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		path = harness_fmt("/proc/%s/stat", e->d_name);
		text = harness_read_file(path);
		free(path);
		/* "pid (comm) state ppid ...": comm may hold anything. */
		if (text != NULL && strncmp(strchr(text, '(') != NULL ?
		    strchr(text, '(') : "", "(harbord)", 9) == 0 &&
		    (close_paren = strrchr(text, ')')) != NULL &&
		    sscanf(close_paren + 1, " %*c %ld", &parent) == 1 &&
		    parent == (long)ppid)
			found = (pid_t)atol(e->d_name);
		free(text);
	}
	closedir(dir);
	return found;
}
#endif

pid_t
hd_serving_pid(struct hdaemon *d)
{
#ifndef _WIN32
	long long	deadline = harness_now_ms() + H_WAIT_MS;
	pid_t		pid;

	if (geteuid() != 0)
		return d->pid;		/* one process */
	while ((pid = harbord_child_of(d->pid)) == 0 &&
	    harness_now_ms() < deadline)
		harness_sleep_ms(20);
	ck_assert_msg(pid != 0, "harbord %ld (as root) has no serving process",
	    (long)d->pid);
	return pid;
#else
	return d->pid;
#endif
}

const char *
hd_config_path(struct hdaemon *d)
{
	return d->conf_path;
}

void
hd_rewrite_config(struct hdaemon *d, const char *config)
{
	char *full = d->as_user ? harness_fmt("%s", config) :
	    daemon_config(d, config);

	ck_assert(d->conf_path != NULL);
	harness_write_file(d->conf_path, full);
#ifndef _WIN32
	if (d->as_user)
		ck_assert(chmod(d->conf_path, 0644) == 0);
#endif
	free(full);
}

char *
harness_daemon_config(const char *config)
{
	bool names_user = strncmp(config, "user ", 5) == 0 ||
	    strstr(config, "\nuser ") != NULL;

	/* At the end, so line numbers in the test's text stay as written;
	 * a test that names a user itself gets that one. */
#ifdef _WIN32
	bool root = false;	/* no root, and no 'user' either */
#else
	bool root = geteuid() == 0;
#endif

	return harness_fmt("%s%s", config, root && !names_user ?
	    "\n# the tests run as root, and say so\nuser root\n" : "");
}

int
hd_port_host(struct hdaemon *d, const char *service, const char *host)
{
	int port = -1;

	pthread_mutex_lock(&d->mu);
	scan_listens(d);
	for (int i = 0; i < d->nlistens; i++) {
		if (strcmp(d->listens[i].service, service) != 0)
			continue;
		if (host == NULL || strcmp(d->listens[i].host, host) == 0) {
			port = d->listens[i].port;
			break;
		}
	}
	pthread_mutex_unlock(&d->mu);
	return port;
}

int
hd_port(struct hdaemon *d, const char *service)
{
	int port = hd_port_host(d, service, NULL);

	if (port <= 0)
		hd_dump_log(d, "no usable listening line for the service");
	ck_assert_msg(port > 0, "no 'service %s listening on ADDR:PORT' line "
	    "with a port > 0 (found %d)", service, port);
	return port;
}

size_t
hd_mark(struct hdaemon *d)
{
	pthread_mutex_lock(&d->mu);
	d->mark = d->len;
	pthread_mutex_unlock(&d->mu);
	return d->mark;
}

void
hd_set_mark(struct hdaemon *d, size_t mark)
{
	d->mark = mark;
}

bool
hd_wait_count(struct hdaemon *d, const char *s, int n, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	bool found;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		found = log_count(d, d->mark, s) >= n;
		if (found || d->eof || remaining_ms(deadline) == 0)
			break;
		cv_wait_slice(d, remaining_ms(deadline) < 50 ?
		    remaining_ms(deadline) + 1 : 50);
	}
	pthread_mutex_unlock(&d->mu);
	return found;
}

bool
hd_wait_log(struct hdaemon *d, const char *s, int timeout_ms)
{
	return hd_wait_count(d, s, 1, timeout_ms);
}

bool
hd_wait_log_or_dump(struct hdaemon *d, const char *s, int timeout_ms)
{
	char why[512];

	if (hd_wait_log(d, s, timeout_ms))
		return true;
	snprintf(why, sizeof why, "expected a line containing \"%s\"", s);
	hd_dump_log(d, why);
	return false;
}

int
hd_count_log(struct hdaemon *d, const char *s)
{
	int n;

	pthread_mutex_lock(&d->mu);
	n = log_count(d, d->mark, s);
	pthread_mutex_unlock(&d->mu);
	return n;
}

char *
hd_find_line(struct hdaemon *d, const char *s, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char *line = NULL;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		size_t from = d->mark < d->len ? d->mark : d->len;
		char *hit = memmem(d->log + from, d->len - from, s, strlen(s));

		if (hit != NULL) {
			char *start = hit, *end;

			while (start > d->log + from && start[-1] != '\n')
				start--;
			end = memchr(hit, '\n', (size_t)(d->log + d->len - hit));
			if (end != NULL || d->eof) {
				if (end == NULL)
					end = d->log + d->len;
				line = xmalloc((size_t)(end - start) + 1);
				memcpy(line, start, (size_t)(end - start));
				line[end - start] = '\0';
				break;
			}
		}
		if (d->eof || remaining_ms(deadline) == 0)
			break;
		cv_wait_slice(d, 50);
	}
	pthread_mutex_unlock(&d->mu);
	return line;
}

char *
hd_log(struct hdaemon *d)
{
	char *copy;

	pthread_mutex_lock(&d->mu);
	copy = xmalloc(d->len + 1);
	memcpy(copy, d->log, d->len + 1);
	pthread_mutex_unlock(&d->mu);
	return copy;
}

void
hd_dump_log(struct hdaemon *d, const char *why)
{
	const size_t tail = 8000;
	size_t from;

	pthread_mutex_lock(&d->mu);
	from = d->len > tail ? d->len - tail : 0;
	fprintf(stderr, "---- harbord[%ld] output%s (%s) ----\n%s%s"
	    "---- end of harbord output ----\n", (long)d->pid,
	    from ? ", last 8000 bytes" : "", why, d->log + from,
	    d->len && d->log[d->len - 1] != '\n' ? "\n" : "");
	fflush(stderr);
	pthread_mutex_unlock(&d->mu);
}

#ifdef _WIN32
/* harborctl CMD, as the Windows build is steered: 0 once harbord
 * answered (whatever it answered), -1 if it could not be asked. */
static int
hd_ctl_quiet(struct hdaemon *d, const char *cmd)
{
	struct hrun r;
	int code;

	if (harness_harborctl() == NULL || d->ctl_path == NULL) {
		errno = ENOSYS;
		return -1;
	}
	hd_ctl(d, &r, cmd, NULL);
	code = r.code;
	if (code != 0 && code != 1)
		fprintf(stderr, "harborctl %s: exit %d: %s", cmd, code, r.err);
	harness_run_free(&r);
	return code == 0 || code == 1 ? 0 : -1;
}
#endif

#ifdef __linux__
/* Whether every thread of pid is stopped.  A stop signal is taken by one
 * thread, which then stops the others; until that thread runs, which on
 * a busy machine can be milliseconds, the rest go on serving. */
static bool
all_threads_stopped(pid_t pid)
{
	DIR		*dir;
	struct dirent	*e;
	char		*path, *text, *close_paren;
	char		 state;
	bool		 stopped = true;

	path = harness_fmt("/proc/%ld/task", (long)pid);
	dir = opendir(path);
	free(path);
	if (dir == NULL)
		return true;	/* gone: nothing to wait for */
	while (stopped && (e = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		path = harness_fmt("/proc/%ld/task/%s/stat", (long)pid,
		    e->d_name);
		text = harness_read_file(path);
		free(path);
		/* "tid (comm) state ...": a thread that has exited since the
		 * listing has no file, and does not count. */
		if (text != NULL &&
		    (close_paren = strrchr(text, ')')) != NULL &&
		    sscanf(close_paren + 1, " %c", &state) == 1 &&
		    state != 'T' && state != 't')
			stopped = false;
		free(text);
	}
	closedir(dir);
	return stopped;
}
#endif

#ifndef _WIN32
/* Returns once pid is stopped: at most H_WAIT_MS. */
static void
wait_stopped(pid_t pid)
{
#ifdef __linux__
	long long deadline = harness_now_ms() + H_WAIT_MS;

	while (!all_threads_stopped(pid) && harness_now_ms() < deadline)
		harness_sleep_ms(1);
#else
	/* No portable way to ask: give the stop time to reach every thread. */
	(void)pid;
	harness_sleep_ms(100);
#endif
}
#endif

int
hd_signal(struct hdaemon *d, int sig)
{
	reap_nohang(d);
	if (d->reaped)
		return -1;
#ifdef _WIN32
	/* See harness.h: no signal reaches it there; a stop is asked on
	 * its control socket. */
	if (sig == SIGTERM)
		return hd_ctl_quiet(d, "stop");
	errno = ENOSYS;
	return -1;
#else
	pid_t serving = d->pid;

	/* Stopping harbord stops the serving: its serving process too. */
	if ((sig == SIGSTOP || sig == SIGCONT) && geteuid() == 0) {
		serving = hd_serving_pid(d);
		if (kill(serving, sig) == -1)
			return -1;
	}
	if (kill(d->pid, sig) == -1)
		return -1;
	if (sig == SIGSTOP)
		wait_stopped(serving);
	return 0;
#endif
}

int
hd_reload(struct hdaemon *d)
{
#ifdef _WIN32
	reap_nohang(d);
	if (d->reaped)
		return -1;
	return hd_ctl_quiet(d, "reload");
#else
	return hd_signal(d, SIGHUP);
#endif
}

/* Ends the daemon at once, as SIGKILL does, and reaps it. */
static void
hd_kill(struct hdaemon *d)
{
#ifdef _WIN32
	if (!d->reaped) {
		TerminateProcess(d->proc, 137);
		WaitForSingleObject(d->proc, INFINITE);
		reap_nohang(d);
	}
#else
	if (!d->reaped) {
		kill(d->pid, SIGKILL);
		if (waitpid(d->pid, &d->status, 0) == d->pid)
			d->reaped = true;
	}
#endif
}

bool
hd_running(struct hdaemon *d)
{
	reap_nohang(d);
	return !d->reaped;
}

int
hd_wait_exit(struct hdaemon *d, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		reap_nohang(d);
		if (d->reaped)
			return status_code(d->status);
		if (remaining_ms(deadline) == 0)
			return -1;
		harness_sleep_ms(10);
	}
}

int
hd_stop(struct hdaemon *d)
{
	int code;

#ifdef _WIN32
	/* Without a control socket, no way to ask: terminated, it has no
	 * exit code of its own. */
	if (d->ctl_path == NULL) {
		reap_nohang(d);
		hd_kill(d);
		return -1;
	}
#endif
	hd_signal(d, SIGTERM);
	if ((code = hd_wait_exit(d, 15000)) != -1)
		return code;
	hd_dump_log(d, "did not exit within 15 s of SIGTERM; killing it");
	hd_kill(d);
	return -1;
}

void
hd_free(struct hdaemon *d)
{
	if (d == NULL)
		return;
	reap_nohang(d);
	hd_kill(d);
	if (d->reader_running) {
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->reader, NULL);
	}
#ifdef _WIN32
	CloseHandle(d->out_h);
	CloseHandle(d->proc);
#else
	close(d->out_fd);
#endif
	if (d->conf_path != NULL) {
		unlink(d->conf_path);
		free(d->conf_path);
	}
	free(d->ctl_path);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d->log);
	free(d);
}

/* --- clients --------------------------------------------------------------- */

static socklen_t
make_addr(const char *ip, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return sizeof *sin;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof *sin6;
	}
	return 0;
}

int
hc_connect_ip(const char *ip, int port, int timeout_ms)
{
	return hc_connect_from(NULL, ip, port, timeout_ms);
}

#ifdef _WIN32
/* select(), not WSAPoll(), waits for the connection: WSAPoll does not
 * report a refused connect on some Windows versions. */
int
hc_connect_from(const char *src, const char *ip, int port, int timeout_ms)
{
	struct sockaddr_storage ss, from;
	socklen_t sl = make_addr(ip, port, &ss);
	socklen_t fl = src != NULL ? make_addr(src, 0, &from) : 0;
	SOCKET s;
	int err = 0;

	if (sl == 0 || (src != NULL && fl == 0)) {
		errno = EINVAL;
		return -1;
	}
	if ((s = socket(ss.ss_family, SOCK_STREAM, 0)) == INVALID_SOCKET) {
		errno = wsa_errno(WSAGetLastError());
		return -1;
	}
	sock_cloexec((int)s);
	sock_nonblock((int)s);
	if (src != NULL && bind(s, (struct sockaddr *)&from, fl) ==
	    SOCKET_ERROR) {
		errno = wsa_errno(WSAGetLastError());
		closesocket(s);
		return -1;
	}
	if (connect(s, (struct sockaddr *)&ss, sl) == SOCKET_ERROR) {
		if ((err = WSAGetLastError()) == WSAEWOULDBLOCK) {
			struct timeval tv = { timeout_ms / 1000,
			    (timeout_ms % 1000) * 1000 };
			fd_set w, e;
			int el = sizeof err;

			FD_ZERO(&w);
			FD_ZERO(&e);
			FD_SET(s, &w);
			FD_SET(s, &e);
			err = 0;
			if (select(0, NULL, &w, &e, &tv) == 0)
				err = WSAETIMEDOUT;
			else if (getsockopt(s, SOL_SOCKET, SO_ERROR,
			    (char *)&err, &el) == SOCKET_ERROR)
				err = WSAGetLastError();
		}
	}
	if (err != 0) {
		closesocket(s);
		errno = wsa_errno(err);
		return -1;
	}
	return (int)s;
}
#else
int
hc_connect_from(const char *src, const char *ip, int port, int timeout_ms)
{
	struct sockaddr_storage ss, from;
	socklen_t sl = make_addr(ip, port, &ss);
	socklen_t fl = src != NULL ? make_addr(src, 0, &from) : 0;
	int fd, err = 0;

	if (sl == 0 || (src != NULL && fl == 0)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	set_cloexec(fd);
	set_nonblock(fd);
	if (src != NULL && bind(fd, (struct sockaddr *)&from, fl) == -1) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			struct pollfd p = { fd, POLLOUT, 0 };
			socklen_t el = sizeof err;
			long long deadline = harness_now_ms() + timeout_ms;
			int r;

			while ((r = poll(&p, 1, remaining_ms(deadline))) == -1 &&
			    errno == EINTR)
				;
			if (r == 0)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &el) == -1)
				err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}
#endif

int
hc_connect(int port)
{
	return hc_connect_ip("127.0.0.1", port, 5000);
}

int
hc_connect6(int port)
{
	return hc_connect_ip("::1", port, 5000);
}

int
hc_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/* poll one fd for events until deadline; > 0 ready, 0 timeout, -1 error */
static int
poll_one(int fd, short events, long long deadline, short *revents)
{
	struct pollfd p = { fd, events, 0 };
	int r;

	while ((r = sock_poll(&p, 1, remaining_ms(deadline))) == -1 &&
	    errno == EINTR)
		;
	if (revents != NULL)
		*revents = p.revents;
	return r;
}

bool
hc_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = sock_send(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return false;
		if (poll_one(fd, POLLOUT, deadline, NULL) <= 0)
			return false;
	}
	return true;
}

bool
hc_send_str(int fd, const char *s)
{
	return hc_send_all(fd, s, strlen(s), 5000);
}

size_t
hc_read_n(int fd, void *buf, size_t n, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	size_t got = 0;

	while (got < n) {
		ssize_t r = sock_recv(fd, (char *)buf + got, n - got);

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (poll_one(fd, POLLIN, deadline, NULL) <= 0)
			break;
	}
	return got;
}

size_t
hc_read_eof(int fd, void *buf, size_t cap, int timeout_ms, bool *eof)
{
	long long deadline = harness_now_ms() + timeout_ms;
	size_t got = 0;

	*eof = false;
	while (got < cap) {
		ssize_t r = sock_recv(fd, (char *)buf + got, cap - got);

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0) {
			*eof = true;
			break;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			*eof = true;	/* reset counts as closed */
			break;
		}
		if (poll_one(fd, POLLIN, deadline, NULL) <= 0)
			break;
	}
	return got;
}

bool
hc_wait_eof(int fd, int timeout_ms, size_t *ndata)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char buf[65536];

	if (ndata != NULL)
		*ndata = 0;
	for (;;) {
		ssize_t r = sock_recv(fd, buf, sizeof buf);

		if (r > 0) {
			if (ndata != NULL)
				*ndata += (size_t)r;
			continue;
		}
		if (r == 0)
			return true;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return true;
		if (poll_one(fd, POLLIN, deadline, NULL) <= 0)
			return false;
	}
}

bool
hc_silent(int fd, int window_ms)
{
	long long deadline = harness_now_ms() + window_ms;
	short rev = 0;

	for (;;) {
		int r = poll_one(fd, POLLIN, deadline, &rev);

		if (r > 0)
			return false;
		if (r == 0 || remaining_ms(deadline) == 0)
			return true;
	}
}

bool
hc_exchange(int fd, const void *out, size_t outlen, void *in, size_t inlen,
    bool shut_wr, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	size_t sent = 0, got = 0;
	bool shut = !shut_wr;

	while (got < inlen || sent < outlen || !shut) {
		struct pollfd p = { fd, 0, 0 };
		int r;

		if (sent == outlen && !shut) {
			if (shutdown(fd, SHUT_WR) == -1)
				return false;
			shut = true;
			continue;
		}
		if (sent < outlen)
			p.events |= POLLOUT;
		if (got < inlen)
			p.events |= POLLIN;
		while ((r = sock_poll(&p, 1, remaining_ms(deadline))) == -1 &&
		    errno == EINTR)
			;
		if (r <= 0)
			return false;
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = sock_recv(fd, (char *)in + got,
			    inlen - got);

			if (n > 0)
				got += (size_t)n;
			else if (n == 0 || (errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR))
				return false;
		}
		if (sent < outlen && (p.revents & POLLOUT)) {
			size_t chunk = outlen - sent > 65536 ? 65536 :
			    outlen - sent;
			ssize_t n = sock_send(fd, (const char *)out + sent,
			    chunk);

			if (n > 0)
				sent += (size_t)n;
			else if (n == -1 && errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR)
				return false;
		}
	}
	return true;
}

bool
hc_echo_ok(int fd, const char *msg)
{
	size_t n = strlen(msg);
	char *buf = xmalloc(n + 1);
	bool ok;

	ok = hc_send_all(fd, msg, n, 5000) && hc_read_n(fd, buf, n, 5000) == n &&
	    memcmp(buf, msg, n) == 0;
	free(buf);
	return ok;
}

void
hc_close(int fd)
{
	if (fd >= 0)
		sock_close(fd);
}

ssize_t
hc_recv(int fd, void *buf, size_t n)
{
	return sock_recv(fd, buf, n);
}

ssize_t
hc_send(int fd, const void *buf, size_t n)
{
	return sock_send(fd, buf, n);
}

int
hc_poll(struct pollfd *p, unsigned n, int timeout_ms)
{
	return sock_poll(p, n, timeout_ms);
}

void
hc_reset(int fd)
{
	struct linger lg = { 1, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, (const void *)&lg, sizeof lg);
	sock_close(fd);
}

/* A socket bound to ip:port, listening (backlog 16) or not. */
static int
bound_socket(const char *ip, int port, int *port_out, bool listening)
{
	struct sockaddr_storage ss;
	socklen_t sl = make_addr(ip, port, &ss);
	int fd, one = 1;

	if (sl == 0 || (fd = (int)socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	sock_cloexec(fd);
#ifdef _WIN32
	/* There SO_REUSEADDR would let it share a port in use. */
	(void)one;
#else
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#endif
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    (listening && listen(fd, 16) == -1)) {
#ifdef _WIN32
		int e = wsa_errno(WSAGetLastError());
#else
		int e = errno;
#endif

		sock_close(fd);
		errno = e;
		return -1;
	}
	if (port_out != NULL)
		*port_out = hc_local_port(fd);
	return fd;
}

int
harness_listen_ip(const char *ip, int port, int *port_out)
{
	return bound_socket(ip, port, port_out, true);
}

int
harness_bind_ip(const char *ip, int port, int *port_out)
{
	return bound_socket(ip, port, port_out, false);
}

int
harness_accept(int lfd, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	int fd;

	if (poll_one(lfd, POLLIN, deadline, NULL) <= 0)
		return -1;
	if ((fd = (int)accept(lfd, NULL, NULL)) == -1)
		return -1;
	sock_cloexec(fd);
	sock_nonblock(fd);
	return fd;
}

bool
harness_have_ipv6(void)
{
	int fd = harness_listen_ip("::1", 0, NULL);

	if (fd == -1)
		return false;
	sock_close(fd);
	return true;
}

const char *const harness_dispatch_name[2] = { "inline", "pool" };

struct hdaemon *
hd_start_service(const char *handler, int mode, const char *extra)
{
	struct hdaemon *d;
	char *cfg;

	cfg = harness_fmt(
	    "io-threads 2\n"
	    "workers 2\n"
	    "service %s {\n"
	    "    listen 127.0.0.1:0\n"
	    "    handler %s\n"
	    "    dispatch %s\n"
	    "%s"
	    "}\n",
	    handler, handler, harness_dispatch_name[mode],
	    extra != NULL ? extra : "");
	d = hd_start(cfg, NULL);
	free(cfg);
	return d;
}

void
hd_finish(struct hdaemon *d)
{
	int code;

#ifdef _WIN32
	static bool said;

	if (d->ctl_path == NULL) {
		if (!said) {
			harness_skip_note("hd_finish", "a daemon without the "
			    "harness's control socket cannot be asked to stop "
			    "on Windows: it is terminated, and its exit code "
			    "after a graceful stop is not checked");
			said = true;
		}
		hd_stop(d);
		hd_free(d);
		return;
	}
#endif
	code = hd_stop(d);

	ck_assert_msg(code == 0, "exit code %d after SIGTERM (-1: still "
	    "running 15 s later)", code);
	hd_free(d);
}

int
hc_connect_ok(int port)
{
	int fd = hc_connect(port);

	ck_assert_msg(fd >= 0, "connect to 127.0.0.1:%d: %s", port,
	    strerror(errno));
	return fd;
}

void
harness_fill_bytes(unsigned char *buf, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)(x >> 11);
	}
}

char *
harness_wait_file(const char *path, const char *s, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		char *text = harness_read_file(path);

		if (text != NULL && (s == NULL || strstr(text, s) != NULL))
			return text;
		free(text);
		if (harness_now_ms() >= deadline)
			return NULL;
		harness_sleep_ms(20);
	}
}
