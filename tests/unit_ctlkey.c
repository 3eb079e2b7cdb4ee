/*
 * unit_ctlkey.c -- the key of a control channel that no file mode guards
 * (ctl-key.c): the control file's text read back as written, anything
 * else refused; the key line a client sends first accepted for the key
 * and for nothing else, a byte off anywhere included.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

#include "check-run.h"

static void
some_key(char key[CTL_KEY_SIZE], unsigned char seed)
{
	unsigned char	bytes[CTL_KEY_BYTES];
	size_t		i;

	for (i = 0; i < sizeof bytes; i++)
		bytes[i] = (unsigned char)(seed + i * 37);
	ctl_key_from_bytes(bytes, key);
}

START_TEST(test_key_hex)
{
	unsigned char	bytes[CTL_KEY_BYTES];
	char		key[CTL_KEY_SIZE];

	memset(bytes, 0, sizeof bytes);
	bytes[0] = 0xa5;
	bytes[CTL_KEY_BYTES - 1] = 0x0f;
	ctl_key_from_bytes(bytes, key);
	ck_assert_uint_eq(strlen(key), 2 * CTL_KEY_BYTES);
	ck_assert(strncmp(key, "a500", 4) == 0);
	ck_assert_str_eq(key + 2 * CTL_KEY_BYTES - 2, "0f");
}
END_TEST

START_TEST(test_file_round_trip)
{
	char	key[CTL_KEY_SIZE], back[CTL_KEY_SIZE], text[200], why[64];
	int	port, n;

	some_key(key, 7);
	n = ctl_keyfile_format(text, sizeof text, 49152, key);
	ck_assert_int_eq(n, (int)strlen(text));
	ck_assert(strncmp(text, "harbord-control 127.0.0.1 49152 ", 32) == 0);
	ck_assert_int_eq(ctl_keyfile_parse(text, &port, back, why,
	    sizeof why), 0);
	ck_assert_int_eq(port, 49152);
	ck_assert_str_eq(back, key);
	/* A buffer too small is said, not cut. */
	ck_assert_int_eq(ctl_keyfile_format(text, 40, 1, key), -1);
}
END_TEST

START_TEST(test_file_refused)
{
	char		key[CTL_KEY_SIZE], text[200], why[64], back[CTL_KEY_SIZE];
	const char	*bad[] = {
		"",
		"precious\n",
		"harbord-control 127.0.0.1 0 %s\n",
		"harbord-control 127.0.0.1 65536 %s\n",
		"harbord-control 127.0.0.1 1234567 %s\n",
		"harbord-control 127.0.0.1 -1 %s\n",
		"harbord-control 127.0.0.1  80 %s\n",
		"harbord-control 10.0.0.1 80 %s\n",
		"harbord-control 127.0.0.1 80\n",
		"harbord-control 127.0.0.1 80 %sff\n",
		"harbord-control 127.0.0.1 80 %.63s\n",
		"harbord-control 127.0.0.1 80 %.63sG\n",
	};
	size_t		i;
	int		port = -7;

	some_key(key, 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, bad[i], key);
		ck_assert_msg(ctl_keyfile_parse(text, &port, back, why,
		    sizeof why) == -1, "taken: %s", text);
		ck_assert_str_eq(why, "not a harbord control file");
		ck_assert_int_eq(port, -7);
	}
	/* Upper case is not what harbord writes. */
	snprintf(text, sizeof text, "harbord-control 127.0.0.1 80 %s\n", key);
	text[29] = 'A';
	ck_assert_int_eq(ctl_keyfile_parse(text, &port, back, why,
	    sizeof why), -1);
}
END_TEST

START_TEST(test_key_line)
{
	char	key[CTL_KEY_SIZE], other[CTL_KEY_SIZE], line[100];
	size_t	n, i;

	some_key(key, 3);
	ck_assert_int_gt(ctl_key_line(line, sizeof line, key), 0);
	n = strlen(line);
	ck_assert(line[n - 1] == '\n');
	ck_assert_int_eq(ctl_key_check(line, n - 1, key), 0);
	/* Its newline is not part of it, nor is anything more. */
	ck_assert_int_eq(ctl_key_check(line, n, key), -1);
	ck_assert_int_eq(ctl_key_check(line, n - 2, key), -1);
	/* A byte off, wherever it is. */
	for (i = 0; i < n - 1; i++) {
		char	copy[100];

		memcpy(copy, line, n);
		copy[i] ^= 0x01;
		ck_assert_msg(ctl_key_check(copy, n - 1, key) == -1,
		    "byte %zu off was taken", i);
	}
	some_key(other, 4);
	ck_assert_int_eq(ctl_key_check(line, n - 1, other), -1);
	/* No key is never a match, even for a line that says none. */
	ck_assert_int_eq(ctl_key_check("key ", 4, ""), -1);
	ck_assert_int_eq(ctl_key_check("status", 6, key), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ctlkey");
	TCase	*tc = tcase_create("ctlkey");

	tcase_add_test(tc, test_key_hex);
	tcase_add_test(tc, test_file_round_trip);
	tcase_add_test(tc, test_file_refused);
	tcase_add_test(tc, test_key_line);
	suite_add_tcase(s, tc);
	return check_run(s);
}
