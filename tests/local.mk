# Test programs: Check unit suites and integration suites that run the real
# daemon on loopback.  Included from the top Makefile.am.

# Scripts run by the shell, on Windows cross builds too (not under wine).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)

if HAVE_CHECK
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(HARBOR_TEST_CFLAGS)
TEST_LIBS = $(CHECK_LIBS)
CORE_LIBS = $(LIBEVENT_LIBS) $(LIBEVENT_PTHREADS_LIBS)

harbor_tests = tests/unit_config tests/unit_conftable tests/unit_confwords \
	tests/unit_addr \
	tests/unit_acl \
	tests/unit_limits tests/unit_proxy tests/unit_framing tests/unit_privsep \
	tests/unit_pool tests/unit_library tests/library_api tests/unit_logqueue \
	tests/unit_loopwake tests/unit_ctlkey \
	tests/library_input tests/library_output tests/library_order \
	tests/integration_services \
	tests/integration_access tests/integration_daemon \
	tests/integration_privsep tests/integration_badinput tests/integration_relay \
	tests/integration_resolve tests/integration_notify \
	tests/integration_control tests/integration_metrics \
	tests/integration_logging tests/integration_activation \
	tests/integration_upgrade \
	tests/integration_reuseport \
	tests/integration_modules tests/integration_examples
if HARBOR_WINDOWS
# harbord as a Windows service, under the Service Control Manager (wine's,
# in a cross build).
harbor_tests += tests/integration_winservice
endif
check_PROGRAMS = $(harbor_tests)
TESTS = $(harbor_tests) tests/layers.sh tests/docs.sh tests/install.sh \
	tests/logrotate.sh tests/conf-examples.sh tests/haproxy-example.sh
if HARBOR_WINE
# A Windows build made on another system: each test runs under wine.
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/wine-run.sh
endif
# The memory-bound tests read harbord's RSS; in an AddressSanitizer build
# its quarantine of freed memory would count as growth, so keep it small
# unless the caller chose otherwise.
AM_TESTS_ENVIRONMENT = \
	HARBORD=$(abs_top_builddir)/src/harbord$(EXEEXT); export HARBORD; \
	HARBORCTL=$(abs_top_builddir)/src/harborctl$(EXEEXT); export HARBORCTL; \
	ASAN_OPTIONS=$${ASAN_OPTIONS-quarantine_size_mb=4}; export ASAN_OPTIONS; \
	HARBOR_TEST_SRCDIR=$(abs_top_srcdir)/tests; export HARBOR_TEST_SRCDIR; \
	NM='$(NM)'; export NM; \
	CC='$(CC)'; EXEEXT='$(EXEEXT)'; LIBEVENT_CFLAGS='$(LIBEVENT_CFLAGS)'; \
	export CC EXEEXT LIBEVENT_CFLAGS; \
	HARBOR_TEST_MODULES=$(TEST_MODULES); export HARBOR_TEST_MODULES; \
	HARBOR_TEST_EXAMPLES=$(TEST_EXAMPLES); export HARBOR_TEST_EXAMPLES; \
	HARBOR_TEST_BUILDDIR=$(abs_top_builddir); export HARBOR_TEST_BUILDDIR; \
	MAKE='$(MAKE)'; export MAKE; \
	HARBOR_SBINDIR='$(sbindir)'; HARBOR_SYSCONFDIR='$(sysconfdir)'; \
	HARBOR_LOCALSTATEDIR='$(localstatedir)'; \
	HARBOR_RUNSTATEDIR='$(runstatedir)'; \
	HARBOR_MANDIR='$(mandir)'; HARBOR_DOCDIR='$(docdir)'; \
	export HARBOR_SBINDIR HARBOR_SYSCONFDIR HARBOR_LOCALSTATEDIR; \
	export HARBOR_RUNSTATEDIR HARBOR_MANDIR HARBOR_DOCDIR;

tests_unit_config_SOURCES = tests/unit_config.c tests/conf-fixture.c \
	tests/conf-fixture.h
tests_unit_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_config_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_config_LDADD = src/libharbordconf.la src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_conftable_SOURCES = tests/unit_conftable.c
tests_unit_conftable_CFLAGS = $(TEST_CFLAGS)
tests_unit_conftable_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_conftable_LDADD = src/libharbordconf.la src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_confwords_SOURCES = tests/unit_confwords.c tests/conf-fixture.c \
	tests/conf-fixture.h
tests_unit_confwords_CFLAGS = $(TEST_CFLAGS)
tests_unit_confwords_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_confwords_LDADD = src/libharbordconf.la src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_logqueue_SOURCES = tests/unit_logqueue.c src/logsink.c \
	src/logqueue.c src/logsink.h src/logqueue.h
tests_unit_logqueue_CFLAGS = $(TEST_CFLAGS)
tests_unit_logqueue_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_logqueue_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_loopwake_SOURCES = tests/unit_loopwake.c src/loopwake.c \
	src/loopwake.h
tests_unit_loopwake_CFLAGS = $(TEST_CFLAGS)
tests_unit_loopwake_LDFLAGS = $(HARBOR_PROG_LDFLAGS) $(PTHREAD_CFLAGS)
tests_unit_loopwake_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_ctlkey_SOURCES = tests/unit_ctlkey.c src/ctl-key.c src/control.h
tests_unit_ctlkey_CFLAGS = $(TEST_CFLAGS)
tests_unit_ctlkey_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_ctlkey_LDADD = compat/libcompat.la $(TEST_LIBS)

tests_unit_addr_SOURCES = tests/unit_addr.c
tests_unit_addr_CFLAGS = $(TEST_CFLAGS)
tests_unit_addr_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_addr_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_acl_SOURCES = tests/unit_acl.c
tests_unit_acl_CFLAGS = $(TEST_CFLAGS)
tests_unit_acl_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_acl_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_limits_SOURCES = tests/unit_limits.c
tests_unit_limits_CFLAGS = $(TEST_CFLAGS)
tests_unit_limits_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_limits_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_privsep_SOURCES = tests/unit_privsep.c src/privsep-msg.c \
	src/privsep-spawn.c
tests_unit_privsep_CFLAGS = $(TEST_CFLAGS)
tests_unit_privsep_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_privsep_LDADD = src/libharbordconf.la src/libharborcore.la \
	$(CORE_LIBS) $(TEST_LIBS)

tests_unit_proxy_SOURCES = tests/unit_proxy.c
tests_unit_proxy_CFLAGS = $(TEST_CFLAGS)
tests_unit_proxy_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_proxy_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_framing_SOURCES = tests/unit_framing.c
tests_unit_framing_CFLAGS = $(TEST_CFLAGS)
tests_unit_framing_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_framing_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

tests_unit_pool_SOURCES = tests/unit_pool.c
tests_unit_pool_CFLAGS = $(TEST_CFLAGS)
tests_unit_pool_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_pool_LDADD = src/libharborcore.la $(CORE_LIBS) $(TEST_LIBS)

# The public API only, as a program embedding libharbor would use it.
EMBED = tests/embed.c tests/embed.h
tests_unit_library_SOURCES = tests/unit_library.c $(EMBED)
tests_unit_library_CFLAGS = $(TEST_CFLAGS)
tests_unit_library_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_unit_library_LDADD = src/libharbor.la $(CORE_LIBS) $(TEST_LIBS)

tests_library_api_SOURCES = tests/library_api.c $(EMBED)
tests_library_api_CFLAGS = $(TEST_CFLAGS)
tests_library_api_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_library_api_LDADD = src/libharbor.la $(CORE_LIBS) $(TEST_LIBS)

tests_library_output_SOURCES = tests/library_output.c $(EMBED)
tests_library_output_CFLAGS = $(TEST_CFLAGS)
tests_library_output_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_library_output_LDADD = src/libharbor.la $(CORE_LIBS) $(TEST_LIBS)

tests_library_order_SOURCES = tests/library_order.c $(EMBED)
tests_library_order_CFLAGS = $(TEST_CFLAGS)
tests_library_order_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_library_order_LDADD = src/libharbor.la $(CORE_LIBS) $(TEST_LIBS)

tests_library_input_SOURCES = tests/library_input.c $(EMBED)
tests_library_input_CFLAGS = $(TEST_CFLAGS)
tests_library_input_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_library_input_LDADD = src/libharbor.la $(CORE_LIBS) $(TEST_LIBS)

HARNESS = tests/harness.c tests/harness.h tests/check-run.h tests/test-peer.h
tests_integration_services_SOURCES = tests/integration_services.c $(HARNESS)
tests_integration_services_CFLAGS = $(TEST_CFLAGS)
tests_integration_services_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_services_LDADD = $(TEST_LIBS)

tests_integration_daemon_SOURCES = tests/integration_daemon.c $(HARNESS)
tests_integration_daemon_CFLAGS = $(TEST_CFLAGS)
tests_integration_daemon_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_daemon_LDADD = $(TEST_LIBS)

tests_integration_winservice_SOURCES = tests/integration_winservice.c \
	$(HARNESS)
tests_integration_winservice_CFLAGS = $(TEST_CFLAGS)
tests_integration_winservice_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_winservice_LDADD = $(TEST_LIBS) -ladvapi32

tests_integration_control_SOURCES = tests/integration_control.c \
	src/ctl-key.c $(HARNESS)
tests_integration_control_CFLAGS = $(TEST_CFLAGS)
tests_integration_control_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_control_LDADD = $(TEST_LIBS)

tests_integration_metrics_SOURCES = tests/integration_metrics.c $(HARNESS)
tests_integration_metrics_CFLAGS = $(TEST_CFLAGS)
tests_integration_metrics_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_metrics_LDADD = $(TEST_LIBS) -lm

tests_integration_logging_SOURCES = tests/integration_logging.c $(HARNESS)
tests_integration_logging_CFLAGS = $(TEST_CFLAGS)
tests_integration_logging_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_logging_LDADD = $(TEST_LIBS)

tests_integration_activation_SOURCES = tests/integration_activation.c \
	$(HARNESS)
tests_integration_activation_CFLAGS = $(TEST_CFLAGS)
tests_integration_activation_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_activation_LDADD = $(TEST_LIBS)

tests_integration_upgrade_SOURCES = tests/integration_upgrade.c $(HARNESS)
tests_integration_upgrade_CFLAGS = $(TEST_CFLAGS)
tests_integration_upgrade_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_upgrade_LDADD = $(TEST_LIBS)

tests_integration_notify_SOURCES = tests/integration_notify.c $(HARNESS)
tests_integration_notify_CFLAGS = $(TEST_CFLAGS)
tests_integration_notify_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_notify_LDADD = $(TEST_LIBS)

tests_integration_privsep_SOURCES = tests/integration_privsep.c $(HARNESS)
tests_integration_privsep_CFLAGS = $(TEST_CFLAGS)
tests_integration_privsep_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_privsep_LDADD = $(TEST_LIBS)

tests_integration_reuseport_SOURCES = tests/integration_reuseport.c \
	$(HARNESS)
tests_integration_reuseport_CFLAGS = $(TEST_CFLAGS)
tests_integration_reuseport_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_reuseport_LDADD = $(TEST_LIBS)

tests_integration_access_SOURCES = tests/integration_access.c $(HARNESS)
tests_integration_access_CFLAGS = $(TEST_CFLAGS)
tests_integration_access_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_access_LDADD = $(TEST_LIBS)

tests_integration_badinput_SOURCES = tests/integration_badinput.c $(HARNESS)
tests_integration_badinput_CFLAGS = $(TEST_CFLAGS)
tests_integration_badinput_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_badinput_LDADD = $(TEST_LIBS)

tests_integration_modules_SOURCES = tests/integration_modules.c $(HARNESS)
tests_integration_modules_CFLAGS = $(TEST_CFLAGS)
tests_integration_modules_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_modules_LDADD = $(TEST_LIBS)

# Test modules (shared objects, as harbord loads them), where shared
# libraries are built; elsewhere the module tests say SKIP.
if HARBOR_MODULES
TEST_MODULES = $(abs_top_builddir)/tests/modules/.libs
TEST_MODULE_FLAGS = -module -avoid-version -shared -rpath $(abs_builddir)
check_LTLIBRARIES = tests/modules/mod_upper.la tests/modules/mod_noentry.la \
	tests/modules/mod_oldabi.la tests/modules/mod_clash.la
tests_modules_mod_upper_la_SOURCES = tests/modules/mod_upper.c
tests_modules_mod_upper_la_LDFLAGS = $(TEST_MODULE_FLAGS)
tests_modules_mod_upper_la_LIBADD = src/libharbor.la
tests_modules_mod_noentry_la_SOURCES = tests/modules/mod_noentry.c
tests_modules_mod_noentry_la_LDFLAGS = $(TEST_MODULE_FLAGS)
tests_modules_mod_oldabi_la_SOURCES = tests/modules/mod_oldabi.c
tests_modules_mod_oldabi_la_LDFLAGS = $(TEST_MODULE_FLAGS)
tests_modules_mod_clash_la_SOURCES = tests/modules/mod_clash.c
tests_modules_mod_clash_la_LDFLAGS = $(TEST_MODULE_FLAGS)
tests_modules_mod_clash_la_LIBADD = src/libharbor.la

# The examples, built as a program and modules outside the tree would be,
# against the library and its public header only.
TEST_EXAMPLES = $(abs_top_builddir)/contrib/examples
check_PROGRAMS += contrib/examples/kv
contrib_examples_kv_SOURCES = contrib/examples/kv.c
contrib_examples_kv_LDADD = src/libharbor.la $(LIBEVENT_LIBS) $(PTHREAD_LIBS)
contrib_examples_kv_LDFLAGS = $(PTHREAD_CFLAGS)
check_LTLIBRARIES += contrib/examples/delay.la contrib/examples/lookup.la \
	contrib/examples/lenframe.la
contrib_examples_delay_la_SOURCES = contrib/examples/delay.c
contrib_examples_delay_la_LDFLAGS = $(TEST_MODULE_FLAGS)
contrib_examples_delay_la_LIBADD = src/libharbor.la
contrib_examples_lookup_la_SOURCES = contrib/examples/lookup.c
contrib_examples_lookup_la_LDFLAGS = $(TEST_MODULE_FLAGS) $(PTHREAD_CFLAGS)
contrib_examples_lookup_la_LIBADD = src/libharbor.la
contrib_examples_lenframe_la_SOURCES = contrib/examples/lenframe.c
contrib_examples_lenframe_la_LDFLAGS = $(TEST_MODULE_FLAGS)
contrib_examples_lenframe_la_LIBADD = src/libharbor.la
else
TEST_MODULES =
TEST_EXAMPLES =
endif

tests_integration_examples_SOURCES = tests/integration_examples.c $(HARNESS)
tests_integration_examples_CFLAGS = $(TEST_CFLAGS)
tests_integration_examples_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_examples_LDADD = $(TEST_LIBS)

# Shared objects preloaded into harbord are built by the tests that use
# them, with $(CC) alone: see tests/preload.h.
PRELOAD = tests/preload.c tests/preload.h
tests_integration_relay_SOURCES = tests/integration_relay.c $(HARNESS) \
	$(PRELOAD)
tests_integration_relay_CFLAGS = $(TEST_CFLAGS)
tests_integration_relay_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_relay_LDADD = $(TEST_LIBS)

tests_integration_resolve_SOURCES = tests/integration_resolve.c $(HARNESS) \
	$(PRELOAD)
tests_integration_resolve_CFLAGS = $(TEST_CFLAGS)
tests_integration_resolve_LDFLAGS = $(HARBOR_PROG_LDFLAGS)
tests_integration_resolve_LDADD = $(TEST_LIBS)
endif

# Runs a Windows test program under wine (a cross build's make check).
EXTRA_DIST += tests/wine-run.sh tests/layers.sh tests/docs.sh tests/install.sh \
	tests/logrotate.sh tests/conf-examples.sh tests/haproxy-example.sh \
	tests/resolver-shim.c tests/splice-shim.c
