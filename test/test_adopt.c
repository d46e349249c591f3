/*
 * test_adopt.c - novacron get/list of observed state and novacron import (adopting libvirt domains).
 */
#include <check.h>

#include "tests.h"
#include "testutil.h"

Suite *nc_suite_adopt(void)
{
	Suite *s = suite_create("adopt");

	return s;
}
