/*
 * harbord as a Windows service.  -S install and -S remove talk to the
 * Service Control Manager for the administrator; -S run is what the SCM
 * starts.  Then the process's first thread belongs to the SCM's
 * dispatcher, harbord serves on the thread the SCM starts for the service
 * (service_main), and the SCM's controls come on yet another thread (the
 * dispatcher's on Windows, one of its own under wine): a stop or a reload
 * is handed to the main loop (loopwake.c), which does it exactly as for a
 * signal.  The service has no console: standard input, output and error
 * are the null device, and "log stderr" is a file beside harbord.exe.
 * Only this file names the SCM's API.
 */
#include "autoconfig.h"

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <string.h>

#include <winsock2.h>
#include <windows.h>

#include "compat.h"
#include "harbord.h"
#include "loopwake.h"
#include "winservice.h"

#define SERVICE_NAME		"harbord"
#define SERVICE_DISPLAY		"harbord TCP server"
#define SERVICE_DESCRIPTION	"Serves TCP clients as harbord.conf says: " \
				"the small services, programs, relays."
#define SERVICE_LOG		"harbord.log"

/* What the SCM waits for before it takes the service to be hung: the
 * start (the configuration read, the addresses bound), and beyond the
 * grace period, the end of a stop. */
#define START_HINT_MS		10000
#define STOP_MARGIN_MS		5000
/* -S remove waits this long, beyond the service's own wait hint, for a
 * stop. */
#define REMOVE_WAIT_MS		10000

static int		  (*serve_fn)(void *);
static void		  *serve_arg;
static int		   active;	/* inside service_main */
static char		   log_path[MAX_PATH + sizeof SERVICE_LOG];
static struct loopwake	   wake;

/* The status the SCM was last told, under status_lock: the SCM's thread
 * reports a stop while the service's reports the rest. */
static CRITICAL_SECTION		status_lock;
static SERVICE_STATUS_HANDLE	status_handle;
static SERVICE_STATUS		status;
/* shutdown-timeout's default, until the service runs. */
static unsigned			stop_hint_ms = 10000 + STOP_MARGIN_MS;
static int			exit_status;

/* What the SCM refused, as a sysexits status. */
static int
refused_status(DWORD e)
{
	switch (e) {
	case ERROR_ACCESS_DENIED:
		return EXIT_NOPERM;
	case ERROR_SERVICE_EXISTS:
	case ERROR_DUPLICATE_SERVICE_NAME:
		return EXIT_CANTCREAT;
	default:
		return EXIT_UNAVAILABLE;
	}
}

/* "harbord: what: the system's words", and the status for them. */
static int
refused(const char *what, DWORD e)
{
	char	why[256];

	fprintf(stderr, "harbord: %s: %s%s\n", what,
	    compat_win_strerror(e, why, sizeof why),
	    e == ERROR_ACCESS_DENIED ? " (run it as an administrator)" : "");
	return refused_status(e);
}

static SC_HANDLE
open_manager(DWORD access, int *st)
{
	SC_HANDLE	scm;

	if ((scm = OpenSCManagerA(NULL, NULL, access)) == NULL)
		*st = refused("cannot open the Service Control Manager",
		    GetLastError());
	return scm;
}

/* --- -S install, -S remove ----------------------------------------------- */

int
winservice_install(const char *conf_path, int verbose)
{
	SERVICE_DESCRIPTIONA	 desc;
	SC_HANDLE		 scm, svc;
	char			 exe[MAX_PATH], conf[MAX_PATH];
	char			 cmd[2 * MAX_PATH + 32], why[256];
	DWORD			 n;
	int			 st = 0;

	n = GetModuleFileNameA(NULL, exe, sizeof exe);
	if (n == 0 || n >= sizeof exe) {
		fprintf(stderr, "harbord: cannot find harbord.exe's own "
		    "path\n");
		return EXIT_OSERR;
	}
	/* The service starts in the system directory: the file's whole
	 * path, drive and all. */
	if (conf_path != NULL) {
		n = GetFullPathNameA(conf_path, sizeof conf, conf, NULL);
		if (n == 0 || n >= sizeof conf) {
			fprintf(stderr, "harbord: %s: cannot make the path "
			    "absolute\n", conf_path);
			return EXIT_NOINPUT;
		}
	}
	snprintf(cmd, sizeof cmd, "\"%s\" -S run%s%s%s%s", exe,
	    verbose ? " -v" : "", conf_path != NULL ? " -f \"" : "",
	    conf_path != NULL ? conf : "", conf_path != NULL ? "\"" : "");

	if ((scm = open_manager(SC_MANAGER_CREATE_SERVICE, &st)) == NULL)
		return st;
	svc = CreateServiceA(scm, SERVICE_NAME, SERVICE_DISPLAY,
	    SERVICE_CHANGE_CONFIG, SERVICE_WIN32_OWN_PROCESS,
	    SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL,
	    NULL, NULL);
	if (svc == NULL) {
		DWORD	e = GetLastError();

		if (e == ERROR_SERVICE_EXISTS ||
		    e == ERROR_DUPLICATE_SERVICE_NAME) {
			fprintf(stderr, "harbord: the service " SERVICE_NAME
			    " is installed already (harbord -S remove "
			    "removes it)\n");
			st = refused_status(e);
		} else
			st = refused("cannot install the service "
			    SERVICE_NAME, e);
		CloseServiceHandle(scm);
		return st;
	}
	desc.lpDescription = (char *)SERVICE_DESCRIPTION;
	if (!ChangeServiceConfig2A(svc, SERVICE_CONFIG_DESCRIPTION, &desc))
		fprintf(stderr, "harbord: warning: the service has no "
		    "description: %s\n", compat_win_strerror(GetLastError(), why,
		    sizeof why));
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	printf("installed the service " SERVICE_NAME " (\"" SERVICE_DISPLAY
	    "\"), started at boot as: %s\n", cmd);
	printf("start it now with: sc start " SERVICE_NAME "\n");
	return 0;
}

/* Asks a running service to stop and waits, as long as it says it needs
 * and REMOVE_WAIT_MS more, for it to have stopped: 0, or -1 (said). */
static int
stop_and_wait(SC_HANDLE svc, SERVICE_STATUS *st)
{
	ULONGLONG	deadline;
	DWORD		checkpoint = st->dwCheckPoint;

	if (st->dwCurrentState != SERVICE_STOP_PENDING &&
	    !ControlService(svc, SERVICE_CONTROL_STOP, st) &&
	    GetLastError() != ERROR_SERVICE_NOT_ACTIVE) {
		(void)refused("cannot stop the service " SERVICE_NAME,
		    GetLastError());
		return -1;
	}
	printf("stopping the service " SERVICE_NAME "\n");
	fflush(stdout);
	deadline = GetTickCount64() + st->dwWaitHint + REMOVE_WAIT_MS;
	while (st->dwCurrentState != SERVICE_STOPPED) {
		if (GetTickCount64() >= deadline) {
			fprintf(stderr, "harbord: the service " SERVICE_NAME
			    " did not stop in time\n");
			return -1;
		}
		Sleep(200);
		if (!QueryServiceStatus(svc, st)) {
			(void)refused("cannot ask the service's state",
			    GetLastError());
			return -1;
		}
		/* Still on its way: as long again as it says. */
		if (st->dwCheckPoint != checkpoint) {
			checkpoint = st->dwCheckPoint;
			deadline = GetTickCount64() + st->dwWaitHint +
			    REMOVE_WAIT_MS;
		}
	}
	printf("stopped the service " SERVICE_NAME "\n");
	return 0;
}

int
winservice_remove(void)
{
	SERVICE_STATUS	 st;
	SC_HANDLE	 scm, svc;
	int		 r = 0;

	if ((scm = open_manager(SC_MANAGER_CONNECT, &r)) == NULL)
		return r;
	svc = OpenServiceA(scm, SERVICE_NAME, SERVICE_STOP |
	    SERVICE_QUERY_STATUS | DELETE);
	if (svc == NULL) {
		DWORD	e = GetLastError();

		if (e == ERROR_SERVICE_DOES_NOT_EXIST) {
			fprintf(stderr, "harbord: no service " SERVICE_NAME
			    " is installed\n");
			r = EXIT_UNAVAILABLE;
		} else
			r = refused("cannot open the service " SERVICE_NAME,
			    e);
		CloseServiceHandle(scm);
		return r;
	}
	if (!QueryServiceStatus(svc, &st))
		r = refused("cannot ask the service's state", GetLastError());
	else if (st.dwCurrentState != SERVICE_STOPPED &&
	    stop_and_wait(svc, &st) == -1)
		r = EXIT_UNAVAILABLE;
	if (r == 0 && !DeleteService(svc))
		r = refused("cannot remove the service " SERVICE_NAME,
		    GetLastError());
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	if (r == 0)
		printf("removed the service " SERVICE_NAME "\n");
	return r;
}

/* --- -S run ---------------------------------------------------------------- */

/* Tells the SCM the service's state.  Running follows the start only: a
 * stop reported is never taken back by a late report of another
 * thread's, and stopped is the last word. */
static void
report(DWORD state, DWORD hint_ms)
{
	EnterCriticalSection(&status_lock);
	if (status_handle == NULL || status.dwCurrentState == SERVICE_STOPPED ||
	    (state == SERVICE_RUNNING &&
	    status.dwCurrentState != SERVICE_START_PENDING)) {
		LeaveCriticalSection(&status_lock);
		return;
	}
	status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	status.dwControlsAccepted = state == SERVICE_RUNNING ?
	    SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
	    SERVICE_ACCEPT_PARAMCHANGE : 0;
	/* The pending states count their progress, the others do not. */
	if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
		status.dwCheckPoint = status.dwCurrentState == state ?
		    status.dwCheckPoint + 1 : 1;
	else
		status.dwCheckPoint = 0;
	status.dwCurrentState = state;
	status.dwWaitHint = hint_ms;
	if (state == SERVICE_STOPPED && exit_status != 0) {
		/* harbord's own status, as sysexits.h numbers it. */
		status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
		status.dwServiceSpecificExitCode = (DWORD)exit_status;
	} else {
		status.dwWin32ExitCode = NO_ERROR;
		status.dwServiceSpecificExitCode = 0;
	}
	(void)SetServiceStatus(status_handle, &status);
	LeaveCriticalSection(&status_lock);
}

/* The SCM's thread: nothing of the server's is touched here. */
static DWORD WINAPI
on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
	unsigned	hint;

	(void)type;
	(void)data;
	(void)ctx;
	switch (control) {
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		EnterCriticalSection(&status_lock);
		hint = stop_hint_ms;
		LeaveCriticalSection(&status_lock);
		report(SERVICE_STOP_PENDING, hint);
		loopwake_ask(&wake, WINSERVICE_STOP);
		return NO_ERROR;
	case SERVICE_CONTROL_PARAMCHANGE:
		loopwake_ask(&wake, WINSERVICE_RELOAD);
		return NO_ERROR;
	}
	return ERROR_CALL_NOT_IMPLEMENTED;
}

/* No console: what is written to standard output or error goes nowhere,
 * rather than to descriptors that a log file could be opened as. */
static void
null_stdio(void)
{
	int	fd, i;

	if ((fd = open("NUL", O_RDWR)) == -1)
		return;
	for (i = 0; i <= 2; i++)
		if (i != fd)
			(void)_dup2(fd, i);
	if (fd > 2)
		(void)close(fd);
}

/* harbord.log in harbord.exe's directory. */
static void
set_log_path(void)
{
	(void)compat_beside_program(SERVICE_LOG, log_path, sizeof log_path);
}

static void WINAPI
service_main(DWORD argc, LPSTR *argv)
{
	SERVICE_STATUS_HANDLE	h;
	int			st;

	/* The name the SCM started, whatever the table says. */
	h = RegisterServiceCtrlHandlerExA(argc > 0 ? argv[0] : SERVICE_NAME,
	    on_control, NULL);
	EnterCriticalSection(&status_lock);
	status_handle = h;
	if (h == NULL)
		exit_status = EXIT_OSERR;
	LeaveCriticalSection(&status_lock);
	if (h == NULL)
		return;
	report(SERVICE_START_PENDING, START_HINT_MS);
	null_stdio();
	set_log_path();
	active = 1;
	st = serve_fn(serve_arg);
	active = 0;
	EnterCriticalSection(&status_lock);
	exit_status = st;
	LeaveCriticalSection(&status_lock);
	/* The last word: the SCM may end the process from here on. */
	report(SERVICE_STOPPED, 0);
}

int
winservice_run(int (*serve)(void *), void *arg)
{
	SERVICE_TABLE_ENTRYA	table[] = {
		{ (char *)SERVICE_NAME, service_main },
		{ NULL, NULL }
	};
	DWORD			e;
	int			st;

	serve_fn = serve;
	serve_arg = arg;
	InitializeCriticalSection(&status_lock);
	loopwake_init(&wake);
	if (!StartServiceCtrlDispatcherA(table)) {
		e = GetLastError();
		if (e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			fprintf(stderr, "harbord: -S run is for the Service "
			    "Control Manager, which starts the installed "
			    "service with it (sc start " SERVICE_NAME "); "
			    "to run harbord in this console, leave -S out\n");
			return EXIT_USAGE;
		}
		return refused("cannot reach the Service Control Manager", e);
	}
	EnterCriticalSection(&status_lock);
	st = exit_status;
	LeaveCriticalSection(&status_lock);
	return st;
}

const char *
winservice_log_path(void)
{
	return active ? log_path : NULL;
}

int
winservice_watch(struct event_base *base, void (*fn)(unsigned, void *),
    void *arg)
{
	if (!active)
		return 0;
	return loopwake_attach(&wake, base, fn, arg);
}

void
winservice_unwatch(void)
{
	if (active)
		loopwake_detach(&wake);
}

void
winservice_running(unsigned grace_ms)
{
	if (!active)
		return;
	EnterCriticalSection(&status_lock);
	stop_hint_ms = grace_ms + STOP_MARGIN_MS;
	LeaveCriticalSection(&status_lock);
	report(SERVICE_RUNNING, 0);
}

void
winservice_stopping(unsigned grace_ms)
{
	if (active)
		report(SERVICE_STOP_PENDING, grace_ms + STOP_MARGIN_MS);
}
