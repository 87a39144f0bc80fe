/* periscope tests — file permissions that hold for root too
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * Tests run as root in CI and containers, where a file's mode 0444 stops nobody:
 * CAP_DAC_OVERRIDE lets root write it. Dropping that capability (and CAP_DAC_READ_SEARCH)
 * from the process's effective set makes the mode bits apply, as for any user. For the rest
 * of the test program: tests that need it run last, or in a program of their own.
 */
#pragma once

#include <glib.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void
psc_test_drop_dac_override (void)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };

  g_assert_cmpint (syscall (SYS_capget, &header, data), ==, 0);
  data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
  g_assert_cmpint (syscall (SYS_capset, &header, data), ==, 0);
}
