/* periscope — fuzz target: a WHEP PATCH body, application/trickle-ice-sdpfrag (RFC 8840)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include "psc-fuzz.h"
#include "psc-sdp.h"

static void
check (const uint8_t *data, size_t size, const char *ufrag)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) candidates = psc_sdp_parse_fragment ((const char *) data, size, ufrag,
      &error);

  if (candidates == NULL) {
    psc_fuzz_assert_error (error, PSC_SDP_ERROR);
    return;
  }
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (candidates), <=, PSC_SDP_MAX_FRAGMENT_LINES);
  for (guint i = 0; candidates[i] != NULL; i++) {
    g_assert_true (g_str_has_prefix (candidates[i], "candidate:"));
    g_assert_null (strpbrk (candidates[i], "\r\n"));
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  check (data, size, "EsAw");
  check (data, size, NULL);
  return 0;
}
