/* Shared helpers for the Check unit suites. */
#ifndef PYHEAP_CHECK_UTIL_H
#define PYHEAP_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>

/* Run one suite in fork mode (a crash fails one test, not the run) and
 * return the process exit status. */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
