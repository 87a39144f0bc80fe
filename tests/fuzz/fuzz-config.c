/* periscope — fuzz target: the command line, preset files and ${variables}
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input: one argument a line (`periscope` is argv[0]) up to an empty line, then a preset
 * file (GKeyFile) that an argument `@` names. psc_config_parse() takes them as the daemon
 * does (options, ICE server URLs, origins, the preset, validation), then psc_config_expand()
 * fills the ${variables} of the source and encoder descriptions, and of each argument, and
 * psc_redact_credentials() takes the secrets out of each (as the API and the log show them):
 * redacting redacted text changes nothing.
 *
 * Left out: arguments that end the process or reach outside it — GOption's --help and -?
 * (they print and exit), GStreamer's --gst-* options (global state), and paths under /dev,
 * /proc and /sys (a preset read from /dev/zero never ends).
 */
#define _GNU_SOURCE
#include <gst/gst.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "psc-config.h"
#include "psc-fuzz.h"
#include "psc-redact.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  gst_init (NULL, NULL);
  return 0;
}

static gboolean
argument_is_taken (const char *arg)
{
  if (strstr (arg, "/dev") != NULL || strstr (arg, "/proc") != NULL ||
      strstr (arg, "/sys") != NULL)
    return FALSE;
  if (g_str_has_prefix (arg, "--"))
    return !g_str_has_prefix (arg, "--help") && !g_str_has_prefix (arg, "--gst");
  /* Short options may be grouped: -Wh is -W and -h. */
  return arg[0] != '-' || strpbrk (arg, "h?") == NULL;
}

static void
redact (const char *text)
{
  g_autofree char *once = psc_redact_credentials (text);
  g_autofree char *twice = psc_redact_credentials (once);

  g_assert_cmpstr (twice, ==, once);
}

static void
expand (const PscConfig *config, const char *description)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *expanded = psc_config_expand (config, description, &error);

  redact (description);
  if (expanded != NULL)
    redact (expanded);
  if (expanded == NULL)
    psc_fuzz_assert_error (error, PSC_CONFIG_ERROR);
  else if (strstr (description, "${") == NULL)
    g_assert_cmpstr (expanded, ==, description);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *blank = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (PscConfig) config = psc_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *preset_path = NULL;
  g_auto (GStrv) lines = NULL;
  char **argv;
  int argc, fd;

  for (size_t i = 0; i + 1 < size && blank == NULL; i++)
    if (data[i] == '\n' && data[i + 1] == '\n')
      blank = data + i;
  lines = psc_fuzz_split (data, blank != NULL ? (size_t) (blank - data) : size, 64);

  /* The preset, in memory: psc_config_parse() reads it from a path. */
  fd = memfd_create ("preset", MFD_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  if (blank != NULL) {
    size_t n = size - (blank + 2 - data);
    g_assert_cmpint (write (fd, blank + 2, n), ==, (ssize_t) n);
  }
  preset_path = g_strdup_printf ("/proc/self/fd/%d", fd);

  g_ptr_array_add (args, g_strdup ("periscope"));
  for (guint i = 0; lines[i] != NULL; i++) {
    if (!argument_is_taken (lines[i])) {
      close (fd);
      return 0;
    }
    g_ptr_array_add (args, g_strdup (g_str_equal (lines[i], "@") ? preset_path : lines[i]));
  }
  argc = (int) args->len;
  /* GOption removes what it takes from argv; @args keeps every string to free. */
  argv = g_new0 (char *, args->len + 1);
  memcpy (argv, args->pdata, sizeof (char *) * args->len);

  if (psc_config_parse (config, &argc, &argv, &error)) {
    g_assert_no_error (error);
    if (config->source != NULL)
      expand (config, config->source);
    if (config->encoder != NULL)
      expand (config, config->encoder);
  } else {
    g_assert_nonnull (error);
  }
  for (guint i = 0; lines[i] != NULL; i++)
    expand (config, lines[i]);
  g_free (argv);
  close (fd);
  return 0;
}
