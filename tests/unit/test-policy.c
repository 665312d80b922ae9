/*
 * Unit tests for daemon/policy: file-like permission checks on segments.
 */

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "daemon/policy.h"
#include "util/macro.h"

#define OWNER 1000
#define GROUP 100
#define OTHER_UID 2000
#define OTHER_GID 200

static const PeerCreds owner = { .uid = OWNER, .gid = OWNER };
static const PeerCreds owner_in_group = { .uid = OWNER, .gid = GROUP };
static const PeerCreds member = { .uid = OTHER_UID, .gid = GROUP };
static const PeerCreds other = { .uid = OTHER_UID, .gid = OTHER_GID };
static const PeerCreds root = { .uid = 0, .gid = 0 };
static const PeerCreds root_other_gid = { .uid = 0, .gid = OTHER_GID };

static bool may_read(const PeerCreds *p, uint32_t mode) {
        return policy_may_access(p, OWNER, GROUP, mode, false);
}

static bool may_write(const PeerCreds *p, uint32_t mode) {
        return policy_may_access(p, OWNER, GROUP, mode, true);
}

/* --------------------------------------------------------------- classes -- */

START_TEST(test_owner_class) {
        ck_assert(may_read(&owner, 0400));
        ck_assert(!may_write(&owner, 0400));
        ck_assert(may_read(&owner, 0600));
        ck_assert(may_write(&owner, 0600));
        ck_assert(!may_read(&owner, 0000));
        ck_assert(!may_write(&owner, 0000));
        /* Other bits do not help the owner. */
        ck_assert(!may_read(&owner, 0007));
        ck_assert(!may_write(&owner, 0007));
}
END_TEST

START_TEST(test_owner_not_helped_by_group_bits) {
        /* The owner is also in the segment's group, but only the owner class applies. */
        ck_assert(!may_read(&owner_in_group, 0060));
        ck_assert(!may_write(&owner_in_group, 0060));
        ck_assert(!may_read(&owner_in_group, 0077));
        ck_assert(!may_write(&owner_in_group, 0466));
        ck_assert(may_read(&owner_in_group, 0466));
}
END_TEST

START_TEST(test_group_class) {
        ck_assert(may_read(&member, 0040));
        ck_assert(!may_write(&member, 0040));
        ck_assert(may_write(&member, 0060));
        /* Owner bits do not apply to a group member. */
        ck_assert(!may_read(&member, 0600));
        ck_assert(!may_write(&member, 0600));
        /* A member is not "other": other bits do not help. */
        ck_assert(!may_read(&member, 0604));
        ck_assert(!may_write(&member, 0606));
        ck_assert(!may_read(&member, 0007));
}
END_TEST

START_TEST(test_other_class) {
        ck_assert(may_read(&other, 0004));
        ck_assert(!may_write(&other, 0004));
        ck_assert(may_write(&other, 0006));
        ck_assert(!may_read(&other, 0660));
        ck_assert(!may_write(&other, 0660));
        ck_assert(!may_read(&other, 0770));
        ck_assert(may_read(&other, 0444));
}
END_TEST

START_TEST(test_supplementary_groups) {
        const gid_t groups[] = { 5, 6, GROUP, 7 };
        const gid_t unrelated[] = { 5, 6, 7 };
        PeerCreds p = { .uid = OTHER_UID, .gid = OTHER_GID, .groups = groups, .n_groups = ELEMENTSOF(groups) };
        PeerCreds q = { .uid = OTHER_UID, .gid = OTHER_GID, .groups = unrelated, .n_groups = ELEMENTSOF(unrelated) };
        PeerCreds last = { .uid = OTHER_UID, .gid = OTHER_GID, .groups = groups, .n_groups = 3 };
        PeerCreds none = { .uid = OTHER_UID, .gid = OTHER_GID, .groups = groups, .n_groups = 2 };

        /* Member through a supplementary group: group bits apply, other bits do not. */
        ck_assert(may_read(&p, 0040));
        ck_assert(may_write(&p, 0060));
        ck_assert(!may_read(&p, 0004));
        ck_assert(!may_read(&p, 0604));

        /* Not a member: other bits apply. */
        ck_assert(!may_read(&q, 0040));
        ck_assert(may_read(&q, 0004));

        /* The list is searched to its end, and not past n_groups. */
        ck_assert(may_read(&last, 0040));
        ck_assert(!may_read(&none, 0040));
        ck_assert(may_read(&none, 0004));
}
END_TEST

/* ------------------------------------------------------------------ root -- */

START_TEST(test_root) {
        for (uint32_t mode = 0; mode <= 0777; mode++) {
                ck_assert(may_read(&root, mode));
                ck_assert(may_write(&root, mode));
                ck_assert(may_write(&root_other_gid, mode));
        }
        ck_assert(policy_may_unlink(&root, OWNER));
        ck_assert(policy_may_unlink(&root_other_gid, OWNER));
}
END_TEST

START_TEST(test_root_owned_segment) {
        /* A segment owned by root is protected like any other from others. */
        ck_assert(!policy_may_access(&owner, 0, 0, 0600, false));
        ck_assert(policy_may_access(&owner, 0, 0, 0604, false));
        ck_assert(!policy_may_access(&owner, 0, 0, 0604, true));
}
END_TEST

/* ---------------------------------------------------------- access modes -- */

START_TEST(test_read_only_needs_r) {
        static const struct {
                const PeerCreds *p;
                uint32_t r, w, x;
        } classes[] = {
                { &owner, 0400, 0200, 0100 },
                { &member, 0040, 0020, 0010 },
                { &other, 0004, 0002, 0001 },
        };

        for (size_t i = 0; i < ELEMENTSOF(classes); i++) {
                uint32_t r = classes[i].r, w = classes[i].w, x = classes[i].x;

                ck_assert(may_read(classes[i].p, r));
                ck_assert(may_read(classes[i].p, r | w));
                ck_assert(may_read(classes[i].p, r | x));
                ck_assert(!may_read(classes[i].p, w));
                ck_assert(!may_read(classes[i].p, x));
                ck_assert(!may_read(classes[i].p, w | x));
        }
}
END_TEST

START_TEST(test_read_write_needs_r_and_w) {
        static const struct {
                const PeerCreds *p;
                uint32_t r, w, x;
        } classes[] = {
                { &owner, 0400, 0200, 0100 },
                { &member, 0040, 0020, 0010 },
                { &other, 0004, 0002, 0001 },
        };

        for (size_t i = 0; i < ELEMENTSOF(classes); i++) {
                uint32_t r = classes[i].r, w = classes[i].w, x = classes[i].x;

                ck_assert(may_write(classes[i].p, r | w));
                ck_assert(may_write(classes[i].p, r | w | x));
                ck_assert(!may_write(classes[i].p, r));
                ck_assert(!may_write(classes[i].p, w));
                ck_assert(!may_write(classes[i].p, r | x));
                ck_assert(!may_write(classes[i].p, w | x));
        }
}
END_TEST

START_TEST(test_write_only_mode) {
        /* 0200: the owner may neither read nor read-write (no write-only maps). */
        ck_assert(!may_read(&owner, 0200));
        ck_assert(!may_write(&owner, 0200));
        ck_assert(!may_read(&member, 0020));
        ck_assert(!may_write(&member, 0020));
        ck_assert(!may_read(&other, 0002));
        ck_assert(!may_write(&other, 0002));
}
END_TEST

/* ---------------------------------------------------------------- unlink -- */

START_TEST(test_unlink) {
        const gid_t groups[] = { GROUP };
        PeerCreds member_supp = { .uid = OTHER_UID, .gid = OTHER_GID, .groups = groups, .n_groups = 1 };

        ck_assert(policy_may_unlink(&owner, OWNER));
        ck_assert(policy_may_unlink(&owner_in_group, OWNER));
        ck_assert(!policy_may_unlink(&member, OWNER));
        ck_assert(!policy_may_unlink(&member_supp, OWNER));
        ck_assert(!policy_may_unlink(&other, OWNER));
        ck_assert(policy_may_unlink(&root, OWNER));
        /* Not even a peer whose gid is the owner's uid number. */
        ck_assert(!policy_may_unlink(&(PeerCreds){ .uid = OTHER_UID, .gid = OWNER }, OWNER));
        ck_assert(policy_may_unlink(&other, OTHER_UID));
        ck_assert(!policy_may_unlink(&owner, 0));
}
END_TEST

static Suite *policy_suite(void) {
        Suite *s = suite_create("policy");
        TCase *tc;

        tc = tcase_create("classes");
        tcase_add_test(tc, test_owner_class);
        tcase_add_test(tc, test_owner_not_helped_by_group_bits);
        tcase_add_test(tc, test_group_class);
        tcase_add_test(tc, test_other_class);
        tcase_add_test(tc, test_supplementary_groups);
        suite_add_tcase(s, tc);

        tc = tcase_create("root");
        tcase_add_test(tc, test_root);
        tcase_add_test(tc, test_root_owned_segment);
        suite_add_tcase(s, tc);

        tc = tcase_create("access-modes");
        tcase_add_test(tc, test_read_only_needs_r);
        tcase_add_test(tc, test_read_write_needs_r_and_w);
        tcase_add_test(tc, test_write_only_mode);
        suite_add_tcase(s, tc);

        tc = tcase_create("unlink");
        tcase_add_test(tc, test_unlink);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(policy_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
