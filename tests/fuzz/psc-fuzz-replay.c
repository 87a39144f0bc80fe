/* periscope — the replay main() of a fuzz target: each file of its corpus once
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * `fuzz-NAME DIR|FILE…` runs LLVMFuzzerTestOneInput() on every file of each directory (and
 * on each file named), as libFuzzer would run a reproducer: the `fuzz` test suite replays the
 * corpora in every `meson test`, with any compiler, so a fixed crash stays fixed and the
 * corpora never rot. An input that fails an assertion aborts with its file named.
 */
#include "psc-fuzz.h"

#include <stdio.h>

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static gboolean
replay_file (const char *path, guint *count)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &error)) {
    g_printerr ("%s\n", error->message);
    return FALSE;
  }
  /* Named before it runs: after a crash (an abort, an ASan report), the last line names it. */
  fprintf (stderr, "%s\n", path);
  /* A copy of exactly @length bytes: ASan sees a read past the input, as under libFuzzer. */
  {
    g_autofree uint8_t *copy = g_memdup2 (contents, length);
    LLVMFuzzerTestOneInput (copy, length);
  }
  (*count)++;
  return TRUE;
}

int
main (int argc, char **argv)
{
  guint count = 0;

  if (argc < 2) {
    g_printerr ("usage: %s CORPUS-DIR|FILE…\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++) {
    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr (GError) error = NULL;
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, &error);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (dir == NULL) {
        g_printerr ("%s\n", error->message);
        return 1;
      }
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      /* In name order: a failure replays the same way everywhere. */
      g_ptr_array_sort (names, compare_paths);
      for (guint j = 0; j < names->len; j++)
        if (!replay_file (g_ptr_array_index (names, j), &count))
          return 1;
    } else if (!replay_file (argv[i], &count)) {
      return 1;
    }
  }
  g_print ("replayed %u inputs\n", count);
  return count > 0 ? 0 : 1;
}
