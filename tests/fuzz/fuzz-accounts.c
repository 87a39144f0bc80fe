/* periscope — fuzz target: the users file (--users) and the token file (--token-file)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The first byte chooses the file (even: users, odd: tokens); the rest is its text, as
 * psc_auth_load_file() passes it on (it refuses a NUL byte itself). Each input starts from
 * no accounts. A file that loads must give the accounts it lists: each token is then taken.
 */
#include <string.h>
#include "psc-auth.h"
#include "psc-fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (PscAuth) auth = psc_auth_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  gboolean tokens;

  if (size == 0)
    return 0;
  tokens = data[0] & 1;
  text = psc_fuzz_string (data + 1, size - 1);
  if (!(tokens ? psc_auth_add_tokens (auth, text, "accounts", &error) :
          psc_auth_add_users (auth, text, "accounts", &error))) {
    psc_fuzz_assert_error (error, PSC_AUTH_ERROR);
    /* One line, naming the file and the line. */
    g_assert_true (g_str_has_prefix (error->message, "accounts line "));
    g_assert_null (strchr (error->message, '\n'));
    g_assert_false (psc_auth_is_enabled (auth));
    return 0;
  }
  g_assert_no_error (error);
  if (tokens) {
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
      const char *line = g_strstrip (lines[i]);
      g_auto (GStrv) fields = g_strsplit (line, ":", 3);
      if (line[0] != '#' && g_strv_length (fields) == 3)
        g_assert_cmpint (psc_auth_check_token (auth, fields[1], NULL), !=, PSC_AUTH_ROLE_NONE);
    }
  }
  return 0;
}
