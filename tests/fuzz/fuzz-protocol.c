/* periscope — fuzz target for the signalling parser (every WebSocket message goes through it)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Built as a libFuzzer target with -Dfuzzing=true and clang; otherwise as a replay program
 * that runs each file of the corpus once (the `fuzz` test suite), so the corpus never rots.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>
#include "psc-protocol.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) message = psc_message_parse ((const char *) data, size, &error);

  /* Exactly one of message and error; a parsed message must serialise and parse again. */
  g_assert_true ((message == NULL) != (error == NULL));
  if (message != NULL) {
    g_autofree char *json = psc_message_to_json (message);
    g_autoptr (PscMessage) again = psc_message_parse (json, strlen (json), NULL);
    g_assert_nonnull (again);
    g_assert_cmpint (again->type, ==, message->type);
  } else {
    g_assert_true (error->domain == PSC_PROTOCOL_ERROR);
  }
  return 0;
}

#ifndef PSC_LIBFUZZER
int
main (int argc, char **argv)
{
  guint files = 0;

  for (int i = 1; i < argc; i++) {
    g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
    const char *name;

    if (dir == NULL) {
      g_printerr ("cannot open corpus %s\n", argv[i]);
      return 1;
    }
    while ((name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *path = g_build_filename (argv[i], name, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      if (!g_file_get_contents (path, &contents, &length, NULL))
        return 1;
      LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
      files++;
    }
  }
  g_print ("replayed %u inputs\n", files);
  return files > 0 ? 0 : 1;
}
#endif
