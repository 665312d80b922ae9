/*
 * Unit tests for util/size: parsing sizes with binary suffixes and printing
 * them back in human form.
 */

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/size.h"

#define SENTINEL UINT64_C(0xdeadbeefcafe)

static void assert_parse(const char *s, uint64_t expected) {
        uint64_t v = SENTINEL;

        ck_assert_msg(size_parse(s, &v) == 0, "size_parse(\"%s\") failed", s);
        ck_assert_msg(v == expected, "size_parse(\"%s\") = %llu, expected %llu", s, (unsigned long long)v,
                      (unsigned long long)expected);
}

static void assert_parse_fails(const char *s, int expected) {
        uint64_t v = SENTINEL;
        int r = size_parse(s, &v);

        ck_assert_msg(r == expected, "size_parse(\"%s\") = %d, expected %d", s ? s : "(null)", r, expected);
        ck_assert_msg(v == SENTINEL, "size_parse(\"%s\") clobbered the result on failure", s ? s : "(null)");
}

START_TEST(test_parse_plain) {
        assert_parse("0", 0);
        assert_parse("1", 1);
        assert_parse("4096", 4096);
        assert_parse("18446744073709551615", UINT64_MAX);
}
END_TEST

START_TEST(test_parse_suffixes) {
        assert_parse("64K", UINT64_C(64) * 1024);
        assert_parse("1M", UINT64_C(1) << 20);
        assert_parse("2G", UINT64_C(2) << 30);
        assert_parse("1T", UINT64_C(1) << 40);
        assert_parse("1MiB", UINT64_C(1) << 20);
        assert_parse("3KiB", UINT64_C(3) << 10);
        assert_parse("5GB", UINT64_C(5) << 30);
        assert_parse("7TiB", UINT64_C(7) << 40);
        assert_parse("100B", 100);
        assert_parse("0K", 0);
        /* The largest value that still fits with a "T" suffix. */
        assert_parse("16777215T", ((UINT64_C(1) << 24) - 1) << 40);
}
END_TEST

START_TEST(test_parse_lowercase) {
        assert_parse("1kb", 1024);
        assert_parse("64k", UINT64_C(64) << 10);
        assert_parse("1m", UINT64_C(1) << 20);
        assert_parse("2g", UINT64_C(2) << 30);
        assert_parse("1t", UINT64_C(1) << 40);
        assert_parse("1mib", UINT64_C(1) << 20);
        assert_parse("9b", 9);
}
END_TEST

START_TEST(test_parse_overflow) {
        assert_parse_fails("16777216T", -ERANGE);
        assert_parse_fails("99999999999999999999", -ERANGE);
        assert_parse_fails("18446744073709551616", -ERANGE);
        assert_parse_fails("17179869184G", -ERANGE);
        assert_parse_fails("17592186044416M", -ERANGE);
        assert_parse_fails("18014398509481984K", -ERANGE);
}
END_TEST

START_TEST(test_parse_invalid) {
        assert_parse_fails("", -EINVAL);
        assert_parse_fails("-1", -EINVAL);
        assert_parse_fails("1X", -EINVAL);
        assert_parse_fails("K", -EINVAL);
        assert_parse_fails(" 1", -EINVAL);
        assert_parse_fails("1.5M", -EINVAL);
        assert_parse_fails(NULL, -EINVAL);
        assert_parse_fails("+1", -EINVAL);
        assert_parse_fails("1 K", -EINVAL);
        assert_parse_fails("1K ", -EINVAL);
        assert_parse_fails("1KK", -EINVAL);
        assert_parse_fails("1iB", -EINVAL);
        assert_parse_fails("0x10", -EINVAL);
}
END_TEST

/* The words for a refusal say what is wrong. */
START_TEST(test_parse_error_text) {
        uint64_t v;

        ck_assert_str_eq(size_parse_error("99999999999999T", size_parse("99999999999999T", &v)),
                         "too large (the largest size is 18446744073709551615 bytes, 16 EiB - 1)");
        ck_assert_str_eq(size_parse_error("-1", size_parse("-1", &v)), "a size cannot be negative");
        ck_assert_str_eq(size_parse_error("-5M", size_parse("-5M", &v)), "a size cannot be negative");
        ck_assert_str_eq(size_parse_error("", size_parse("", &v)),
                         "empty: a size is a number of bytes, e.g. 4096, 64K, 1M, 2G");
        ck_assert_str_eq(size_parse_error("1X", size_parse("1X", &v)),
                         "not a size: a number of bytes with an optional K, M, G or T (powers of 1024; "
                         "also k, KB, KiB), e.g. 4096, 64K, 1M, 2G");
}
END_TEST

START_TEST(test_format) {
        char buf[32];

        ck_assert_str_eq(size_format(buf, sizeof(buf), 0), "0");
        ck_assert_str_eq(size_format(buf, sizeof(buf), 1), "1");
        ck_assert_str_eq(size_format(buf, sizeof(buf), 1023), "1023");
        ck_assert_str_eq(size_format(buf, sizeof(buf), 1024), "1K");
        ck_assert_str_eq(size_format(buf, sizeof(buf), 1536), "1.5K");
        ck_assert_str_eq(size_format(buf, sizeof(buf), 1048576), "1M");
        ck_assert_str_eq(size_format(buf, sizeof(buf), UINT64_C(3) << 30), "3G");
        ck_assert_str_eq(size_format(buf, sizeof(buf), UINT64_C(1) << 40), "1T");
        /* Returns its buffer. */
        ck_assert_ptr_eq(size_format(buf, sizeof(buf), 5), buf);
}
END_TEST

START_TEST(test_format_truncates) {
        char buf[3];

        memset(buf, 'x', sizeof(buf));
        ck_assert_str_eq(size_format(buf, sizeof(buf), 1023), "10");
}
END_TEST

static Suite *size_suite(void) {
        Suite *s = suite_create("size");
        TCase *tc;

        tc = tcase_create("parse");
        tcase_add_test(tc, test_parse_plain);
        tcase_add_test(tc, test_parse_suffixes);
        tcase_add_test(tc, test_parse_lowercase);
        suite_add_tcase(s, tc);

        tc = tcase_create("parse-errors");
        tcase_add_test(tc, test_parse_overflow);
        tcase_add_test(tc, test_parse_invalid);
        tcase_add_test(tc, test_parse_error_text);
        suite_add_tcase(s, tc);

        tc = tcase_create("format");
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_format_truncates);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(size_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
