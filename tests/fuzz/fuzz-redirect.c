/* periscope — fuzz target: plain HTTP on the HTTPS port, the first bytes of a connection
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is what a client sent first, as psc_redirect_answer_plain() peeks it. An answer,
 * when there is one, is a whole 308 whose Location is one header line to an https: URL with
 * a path, and it covers no more of the input than there was.
 */
#include <string.h>
#include <libsoup/soup.h>
#include "psc-fuzz.h"
#include "psc-redirect.h"

#define PORT 8443

static void
check_answer (const char *answer, gsize length, gsize covered)
{
  const char *location, *line_end;

  g_assert_cmpuint (covered, <=, length);
  g_assert_cmpuint (covered, >, 0);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 308 Permanent Redirect\r\n"));
  g_assert_nonnull (strstr (answer, "\r\n\r\n"));
  location = strstr (answer, "\r\nLocation: https://");
  g_assert_nonnull (location);
  location += strlen ("\r\nLocation: ");
  line_end = strstr (location, "\r\n");
  g_assert_nonnull (line_end);
  /* One line: nothing that could end the header or start another. */
  for (const char *c = location; c < line_end; c++)
    g_assert_true ((guchar) *c > ' ' && (guchar) *c < 0x7f);
  /* The host and its port, then a path: never a Location without one. */
  g_assert_nonnull (g_strstr_len (location + strlen ("https://"),
          line_end - location - strlen ("https://"), "/"));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *head = (const char *) data;
  gsize covered = 0;
  g_autofree char *with_fallback = psc_redirect_plain_answer (head, size, "192.0.2.7", PORT,
      &covered);
  g_autofree char *without = NULL;

  if (with_fallback == NULL) {
    /* Only an input that does not start as a request goes unanswered, given a host. */
    g_assert_true (size == 0 || !g_ascii_isupper (head[0]));
    return 0;
  }
  check_answer (with_fallback, size, covered);
  without = psc_redirect_plain_answer (head, size, NULL, PORT, &covered);
  if (without != NULL)
    check_answer (without, size, covered);
  return 0;
}
