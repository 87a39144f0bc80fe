/* periscope — what every fuzz target shares: input helpers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-fuzz.h"

#include <string.h>

char *
psc_fuzz_string (const uint8_t *data, size_t size)
{
  /* g_strndup (NULL, 0) is NULL: an empty input (the replay's) is "". */
  return size > 0 ? g_strndup ((const char *) data, size) : g_strdup ("");
}

GStrv
psc_fuzz_split (const uint8_t *data, size_t size, guint max)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  const char *p = size > 0 ? (const char *) data : "", *end = p + size;

  g_return_val_if_fail (max > 0, NULL);

  for (guint n = 1; n < max; n++) {
    const char *newline = memchr (p, '\n', end - p);
    if (newline == NULL)
      break;
    g_autofree char *line = g_strndup (p, newline - p);
    g_strv_builder_add (builder, line);
    p = newline + 1;
  }
  {
    g_autofree char *rest = g_strndup (p, end - p);
    g_strv_builder_add (builder, rest);
  }
  return g_strv_builder_end (builder);
}
