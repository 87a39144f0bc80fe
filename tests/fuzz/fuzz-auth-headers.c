/* periscope — fuzz target: what a request's credentials go through before a role is given
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is tried as each header value and body that carries credentials: a `Cookie`
 * header (psc_auth_cookie_value(), then the session table), an `Authorization: Basic`
 * value (psc_auth_parse_basic()), a bearer token (psc_auth_check_token() against a token
 * file loaded once), and the body of POST /login (psc_access_parse_login_form()). The
 * password check itself (yescrypt, by design ~10 ms a try) is left to the unit tests.
 */
#include <string.h>
#include "psc-access.h"
#include "psc-fuzz.h"

static PscAuth *auth;
static char *session;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  auth = psc_auth_new ();
  g_assert_true (psc_auth_add_tokens (auth,
          "player:0123456789abcdefABCDEF-._~+/==:viewer\n"
          "prometheus:prometheus-scrape-token-1:operator\n", "tokens", &error));
  session = psc_auth_session_new (auth, "alice", PSC_AUTH_ROLE_ADMIN);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = psc_fuzz_string (data, size);
  g_autofree char *cookie = psc_auth_cookie_value (text, PSC_ACCESS_COOKIE);
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  const char *name = NULL;
  PscAuthRole role;

  if (cookie != NULL) {
    const char *who = NULL;

    g_assert_null (strchr (cookie, ';'));
    role = psc_auth_session_lookup (auth, cookie, &who);
    g_assert_true (role == PSC_AUTH_ROLE_NONE || (g_str_equal (cookie, session) && who != NULL));
  }

  if (psc_auth_parse_basic (text, &user, &password)) {
    /* RFC 7617 §2: the user id is everything before the first colon. */
    g_assert_null (strchr (user, ':'));
    g_assert_true (g_utf8_validate (user, -1, NULL) && g_utf8_validate (password, -1, NULL));
    g_clear_pointer (&user, g_free);
    g_clear_pointer (&password, g_free);
  }

  role = psc_auth_check_token (auth, text, &name);
  g_assert_true (role == PSC_AUTH_ROLE_NONE || name != NULL);

  if (psc_access_parse_login_form (text, strlen (text), &user, &password)) {
    g_assert_nonnull (user);
    g_assert_nonnull (password);
  }
  return 0;
}
