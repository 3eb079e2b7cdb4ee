# libFuzzer targets, built with --enable-fuzzing (clang).  Run one with its
# seed corpus, e.g.:
#   mkdir -p /tmp/c && tests/fuzz/fuzz_config -max_total_time=60 /tmp/c \
#       $(srcdir)/tests/fuzz/corpus/config
if FUZZING
FUZZ_TARGETS = tests/fuzz/fuzz_config tests/fuzz/fuzz_framing \
	tests/fuzz/fuzz_addr tests/fuzz/fuzz_quotes tests/fuzz/fuzz_proxy \
	tests/fuzz/fuzz_privsep tests/fuzz/fuzz_control
noinst_PROGRAMS = $(FUZZ_TARGETS)
FUZZ_CORE = src/libharborcore.la $(LIBEVENT_LIBS) $(LIBEVENT_PTHREADS_LIBS)

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_LDADD = src/libharbordconf.la $(FUZZ_CORE)
tests_fuzz_fuzz_config_LDFLAGS = -fsanitize=fuzzer

tests_fuzz_fuzz_framing_SOURCES = tests/fuzz/fuzz_framing.c
tests_fuzz_fuzz_framing_LDADD = $(FUZZ_CORE)
tests_fuzz_fuzz_framing_LDFLAGS = -fsanitize=fuzzer

tests_fuzz_fuzz_addr_SOURCES = tests/fuzz/fuzz_addr.c
tests_fuzz_fuzz_addr_LDADD = $(FUZZ_CORE)
tests_fuzz_fuzz_addr_LDFLAGS = -fsanitize=fuzzer

tests_fuzz_fuzz_proxy_SOURCES = tests/fuzz/fuzz_proxy.c
tests_fuzz_fuzz_proxy_LDADD = $(FUZZ_CORE)
tests_fuzz_fuzz_proxy_LDFLAGS = -fsanitize=fuzzer

tests_fuzz_fuzz_quotes_SOURCES = tests/fuzz/fuzz_quotes.c
tests_fuzz_fuzz_quotes_LDADD = $(FUZZ_CORE)
tests_fuzz_fuzz_quotes_LDFLAGS = -fsanitize=fuzzer

tests_fuzz_fuzz_privsep_SOURCES = tests/fuzz/fuzz_privsep.c src/privsep-msg.c \
	src/privsep-spawn.c
tests_fuzz_fuzz_privsep_LDADD = src/libharbordconf.la $(FUZZ_CORE)
tests_fuzz_fuzz_privsep_LDFLAGS = -fsanitize=fuzzer

tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz_control.c src/ctl-commands.c \
	src/ctl-key.c
tests_fuzz_fuzz_control_LDADD = $(FUZZ_CORE)
tests_fuzz_fuzz_control_LDFLAGS = -fsanitize=fuzzer
endif
