/* periscope — fuzz target: the same-origin policy (the Origin and Host headers of every
 * WebSocket upgrade and state-changing request, and --allow-origin)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input lines: the `Origin` header, the `Host` header (no line: none sent), then each
 * --allow-origin, the same lines given as --allow-host too. A policy that the list makes must
 * give the same verdict twice, and a normalized origin is its own normalization. A Host that
 * is one of the --allow-host names, as given, is trusted.
 */
#include <gio/gio.h>
#include <string.h>
#include "psc-fuzz.h"
#include "psc-origin.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_auto (GStrv) lines = psc_fuzz_split (data, size, 64);
  g_autoptr (GError) error = NULL;
  g_autoptr (PscOriginPolicy) policy = NULL;
  g_autofree char *normalized = psc_origin_normalize (lines[0]);
  const char *host = lines[1];

  if (normalized != NULL) {
    g_autofree char *again = psc_origin_normalize (normalized);
    g_assert_cmpstr (again, ==, normalized);
    psc_origin_is_loopback (normalized);
  }
  const char *const *listed = lines[1] != NULL ? (const char *const *) lines + 2 : NULL;
  g_autoptr (PscOriginPolicy) hosts = NULL;

  policy = psc_origin_policy_new (listed, NULL, &error);
  if (policy == NULL) {
    psc_fuzz_assert_error (error, G_IO_ERROR);
    policy = psc_origin_policy_new (NULL, NULL, NULL);
  }
  g_clear_error (&error);
  hosts = psc_origin_policy_new (NULL, listed, &error);
  if (hosts == NULL) {
    psc_fuzz_assert_error (error, G_IO_ERROR);
  } else {
    gboolean trusted = psc_origin_policy_host_is_trusted (hosts, host);

    g_assert_cmpint (trusted, ==, psc_origin_policy_host_is_trusted (hosts, host));
    for (guint i = 0; listed != NULL && listed[i] != NULL; i++)
      if (listed[i][0] != '.' && strchr (listed[i], '.') != NULL &&
          !g_str_has_suffix (listed[i], "."))
        g_assert_true (psc_origin_policy_host_is_trusted (hosts, listed[i]));
  }
  psc_origin_policy_host_is_trusted (policy, host);
  for (guint i = 0; i < 2; i++) {
    const char *scheme = i == 0 ? "http" : "https";
    PscOriginVerdict verdict = psc_origin_policy_check (policy, lines[0], scheme, host);

    g_assert_cmpint (verdict, ==, psc_origin_policy_check (policy, lines[0], scheme, host));
    g_assert_true (verdict != PSC_ORIGIN_NONE);
    /* Anything but a foreign origin is one that normalizes. */
    g_assert_true (verdict == PSC_ORIGIN_FOREIGN || normalized != NULL);
  }
  return 0;
}
