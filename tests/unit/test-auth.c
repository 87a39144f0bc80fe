/* periscope unit tests — accounts: the users and token files, crypt() hashes, sessions and the
 * failed-login throttle (on a clock the test moves), the routes' roles, the headers read
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib.h>
#include <string.h>

#include "psc-access.h"
#include "psc-auth.h"

/* "secret1", hashed by `periscope --hash-password` (libxcrypt 4.4.33, yescrypt). */
#define ALICE_HASH "$y$j9T$9/7GG9.Tgpa5kbjMIUs1O0$2P5mYqd5DBUrGVAl/cneBx1m208Tr1vLktjLAPKsw6/"
#define TOKEN "abcdefghijklmnop0123456789"

static gint64
test_clock (gpointer user_data)
{
  return *(gint64 *) user_data;
}

static void
test_users_file (void)
{
  g_autoptr (PscAuth) auth = psc_auth_new ();
  g_autoptr (GError) error = NULL;
  const char *name = NULL;

  g_assert_false (psc_auth_is_enabled (auth));
  g_assert_true (psc_auth_add_users (auth, "# the users\n\n  alice:" ALICE_HASH ":operator  \n"
          "bob.b@home:" ALICE_HASH ":viewer\n", "users", &error));
  g_assert_no_error (error);
  g_assert_true (psc_auth_is_enabled (auth));
  g_assert_cmpint (psc_auth_check_password (auth, "alice", "secret1", &name), ==,
      PSC_AUTH_ROLE_OPERATOR);
  g_assert_cmpstr (name, ==, "alice");
  g_assert_cmpint (psc_auth_check_password (auth, "bob.b@home", "secret1", NULL), ==,
      PSC_AUTH_ROLE_VIEWER);
  g_assert_cmpint (psc_auth_check_password (auth, "alice", "secret2", NULL), ==,
      PSC_AUTH_ROLE_NONE);
  g_assert_cmpint (psc_auth_check_password (auth, "carol", "secret1", NULL), ==,
      PSC_AUTH_ROLE_NONE);
  g_assert_cmpint (psc_auth_check_password (auth, "alice", "", NULL), ==, PSC_AUTH_ROLE_NONE);
}

static void
test_users_file_errors (void)
{
  const struct {
    const char *text;
    const char *message;
  } cases[] = {
    { "alice:" ALICE_HASH, "f line 1: expected name:HASH:role (3 fields separated by ':'), "
      "found 2" },
    { "# ok\nalice:" ALICE_HASH ":operator:x", "f line 2: expected name:HASH:role" },
    { "al ice:" ALICE_HASH ":viewer", "f line 1: the name must be 1 to 64 characters" },
    { ":" ALICE_HASH ":viewer", "f line 1: the name must be" },
    { "alice:secret1:viewer", "f line 1: the hash of alice is not a whole yescrypt, bcrypt or SHA-512" },
    { "alice:abJnggxhB/yWI:viewer", "f line 1: the hash of alice is not a whole yescrypt, bcrypt or SHA-512" },
    /* The right method, cut short: crypt_checksalt() alone takes it. */
    { "alice:$y$abc:viewer", "f line 1: the hash of alice is not a whole yescrypt, bcrypt or SHA-512" },
    { "alice:$y$j9T$9/7GG9.Tgpa5kbjMIUs1O0$:viewer", "f line 1: the hash of alice is not" },
    { "alice:$y$j9T$9/7GG9.Tgpa5kbjMIUs1O0$2P5mYqd5:viewer", "f line 1: the hash of alice" },
    /* Strong methods periscope does not take: it could not bound their cost. */
    { "alice:$gy$j9T$CJkIyVZwTG9Uq4UrxWQ6U/$x:viewer", "f line 1: the hash of alice is not" },
    { "alice:$7$CU..../....B9WZe61srme7qmsEMeysb1$x:viewer", "f line 1: the hash of alice is" },
    { "alice:$2b$1$abc:viewer", "f line 1: the hash of alice is not a whole" },
    { "alice:$6$rounds=5000:viewer", "f line 1: the hash of alice is not a whole" },
    /* Shapes crypt() refuses ("*0"), which could never log in: bcrypt under cost 4, a salt
     * whose 22nd character crypt() does not write, SHA-512 under 1,000 rounds or with a
     * leading zero. */
    { "alice:$2b$03$HlfHRGxq7V3EUlW0iRd6H.iwTHkYPn2SX56e2GYQNkGriamI9mi5W:viewer",
      "f line 1: the hash of alice is not a whole" },
    { "alice:$2b$12$HlfHRGxq7V3EUlW0iRd6Haiw" "THkYPn2SX56e2GYQNkGriamI9mi5W:viewer",
      "f line 1: the hash of alice is not a whole" },
    { "alice:$6$rounds=999$abcdefgh$c0A90lrBldBG2Sn3mjTgLlg75rwk0RdnVwpEHqixB6RkXpNhmfEjWXVCWBeI4T"
      "R1Ta5E.3YHJqZZ2AtTiM5Ix.:viewer", "f line 1: the hash of alice is not a whole" },
    { "alice:$6$rounds=0001000$abcdefgh$c0A90lrBldBG2Sn3mjTgLlg75rwk0RdnVwpEHqixB6RkXpNhmfEjWXVC"
      "WBeI4TR1Ta5E.3YHJqZZ2AtTiM5Ix.:viewer", "f line 1: the hash of alice is not a whole" },
    /* Over the ceilings, refused before crypt() runs them (cost 11 would be 1 GiB). */
    { "alice:$y$jCT$vyE20JIkFYYUb/hI11WVo/$K5c/xacIZ4V7yYyX.MzRLCZiQM2NUumdxrOANHFG8B6:viewer",
      "f line 1: the hash of alice costs more than a login may (at most yescrypt cost 7, "
      "bcrypt cost 13, SHA-512 1000000 rounds): make one with periscope --hash-password" },
    { "alice:$y$jFT$qcvtHvJrs399o:viewer", "f line 1: the hash of alice costs more" },
    { "alice:$2b$14$HlfHRGxq7V3EUlW0iRd6H.iwTHkYPn2SX56e2GYQNkGriamI9mi5W:viewer",
      "f line 1: the hash of alice costs more" },
    { "alice:$2y$31$x:viewer", "f line 1: the hash of alice costs more" },
    { "alice:$6$rounds=1000001$abcdefgh$x:viewer", "f line 1: the hash of alice costs more" },
    { "alice:$6$rounds=99999999999999999999999999$x:viewer", "f line 1: the hash of alice costs" },
    { "alice:" ALICE_HASH ":root", "f line 1: unknown role \"root\" for alice: use viewer, "
      "operator or admin" },
    { "alice:" ALICE_HASH ":viewer\n\nalice:" ALICE_HASH ":admin", "f line 3: alice is given "
      "twice" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (PscAuth) auth = psc_auth_new ();
    g_autoptr (GError) error = NULL;

    g_assert_false (psc_auth_add_users (auth, cases[i].text, "f", &error));
    g_assert_error (error, PSC_AUTH_ERROR, PSC_AUTH_ERROR_FILE);
    g_assert_true (g_str_has_prefix (error->message, cases[i].message));
    /* All or none: a file with a bad line adds nobody. */
    g_assert_false (psc_auth_is_enabled (auth));
  }
}

/* Each method periscope takes, at its cost ceiling or below: loaded, and the password
 * checked against it. */
static void
test_users_file_methods (void)
{
  const char *hashes[] = {
    /* yescrypt cost 7, bcrypt 12 and 4 (2b, 2y, 2a), SHA-512 at 1,000,000 rounds and 5,000 */
    "$y$jBT$AKP8pqxjdnzZFhxOXoYFh/$NB.YoGrVgI8Rqt943DdA5MvUBe6HssL7Ya0.rtzKw8.",
    "$2b$12$HlfHRGxq7V3EUlW0iRd6H.iwTHkYPn2SX56e2GYQNkGriamI9mi5W",
    "$2y$04$Q6ffWsC5l.RB/lvxt7BhW.riwRkVfllT7bsfljeuEOYJ8AS9bZp52",
    "$2a$04$4FlQIEgjHDaEeGVcvtyyJ.N6iTb1yHAvs.dlsmvObm6IjbRIMxQLW",
    "$6$rounds=1000000$abcdefgh$c0A90lrBldBG2Sn3mjTgLlg75rwk0RdnVwpEHqixB6RkXpNhmfEjWXVCWBeI4TR1"
        "Ta5E.3YHJqZZ2AtTiM5Ix.",
    "$6$abcdefgh$oGoxMtczJ0/xYkNKQnGuC3pOdNoGsZRZNs7n5JzX8KfMJWEmD2Bx4wBt/tMCPvjE87aPyrlQPEKxEcx"
        "V6d4J6.",
  };

  for (guint i = 0; i < G_N_ELEMENTS (hashes); i++) {
    g_autoptr (PscAuth) auth = psc_auth_new ();
    g_autoptr (GError) error = NULL;
    g_autofree char *text = g_strdup_printf ("alice:%s:viewer", hashes[i]);

    g_assert_true (psc_auth_add_users (auth, text, "f", &error));
    g_assert_no_error (error);
    g_assert_cmpint (psc_auth_check_password (auth, "alice", "secret1", NULL), ==,
        PSC_AUTH_ROLE_VIEWER);
    g_assert_cmpint (psc_auth_check_password (auth, "alice", "secret2", NULL), ==,
        PSC_AUTH_ROLE_NONE);
  }
}

static void
test_tokens_file (void)
{
  g_autoptr (PscAuth) auth = psc_auth_new ();
  g_autoptr (GError) error = NULL;
  const char *name = NULL;

  g_assert_true (psc_auth_add_tokens (auth, "prom:" TOKEN ":operator\n"
          "obs:abc+/def_ghi-jkl.mno~==:viewer\n", "tokens", &error));
  g_assert_no_error (error);
  g_assert_cmpint (psc_auth_check_token (auth, TOKEN, &name), ==, PSC_AUTH_ROLE_OPERATOR);
  g_assert_cmpstr (name, ==, "prom");
  g_assert_cmpint (psc_auth_check_token (auth, "abc+/def_ghi-jkl.mno~==", NULL), ==,
      PSC_AUTH_ROLE_VIEWER);
  g_assert_cmpint (psc_auth_check_token (auth, TOKEN "x", NULL), ==, PSC_AUTH_ROLE_NONE);
  g_assert_cmpint (psc_auth_check_token (auth, "abcdefghijklmnop012345678", NULL), ==,
      PSC_AUTH_ROLE_NONE);
  g_assert_cmpint (psc_auth_check_token (auth, "", NULL), ==, PSC_AUTH_ROLE_NONE);

  g_assert_false (psc_auth_add_tokens (auth, "short:abc:viewer", "t", &error));
  g_assert_true (g_str_has_prefix (error->message, "t line 1: the token of short must be 16"));
  /* The token is never quoted in an error. */
  g_assert_null (strstr (error->message, "abc:"));
  g_clear_error (&error);
  g_assert_false (psc_auth_add_tokens (auth, "a:" TOKEN "AAAA:viewer\nb:" TOKEN "AAAA:admin",
          "t", &error));
  g_assert_cmpstr (error->message, ==, "t line 2: b has the token of a");
  g_clear_error (&error);
  g_assert_false (psc_auth_add_tokens (auth, "x:abcdefghijklmnop=q:viewer", "t", &error));
  g_assert_true (g_str_has_prefix (error->message, "t line 1: the token of x must be"));
}

static void
test_load_file (void)
{
  g_autoptr (PscAuth) auth = psc_auth_new ();
  g_autoptr (GError) error = NULL;

  g_assert_false (psc_auth_load_file (auth, "/nonexistent/users", FALSE, &error));
  g_assert_error (error, PSC_AUTH_ERROR, PSC_AUTH_ERROR_FILE);
  g_assert_true (g_str_has_prefix (error->message, "--users: "));
}

static void
test_hash (void)
{
  g_autofree char *hash = psc_auth_hash_password ("correct horse", NULL);
  g_autofree char *again = psc_auth_hash_password ("correct horse", NULL);

  g_assert_nonnull (hash);
  g_assert_true (g_str_has_prefix (hash, "$y$"));
  /* A fresh salt each time. */
  g_assert_cmpstr (hash, !=, again);
  g_assert_true (psc_auth_verify_hash (hash, "correct horse"));
  g_assert_true (psc_auth_verify_hash (again, "correct horse"));
  g_assert_false (psc_auth_verify_hash (hash, "correct hors"));
  g_assert_false (psc_auth_verify_hash (hash, ""));
  g_assert_true (psc_auth_verify_hash (ALICE_HASH, "secret1"));
  g_assert_false (psc_auth_verify_hash ("not a hash", "not a hash"));
  g_assert_false (psc_auth_verify_hash ("", ""));
}

static void
test_sessions (void)
{
  g_autoptr (PscAuth) auth = psc_auth_new ();
  gint64 now = 1000 * G_USEC_PER_SEC;
  g_autofree char *id = NULL;
  g_autofree char *other = NULL;
  const char *user = NULL;

  psc_auth_set_clock (auth, test_clock, &now);
  id = psc_auth_session_new (auth, "alice", PSC_AUTH_ROLE_OPERATOR);
  other = psc_auth_session_new (auth, "bob", PSC_AUTH_ROLE_VIEWER);
  g_assert_cmpuint (strlen (id), ==, 32);
  g_assert_cmpstr (id, !=, other);
  g_assert_cmpint (psc_auth_session_lookup (auth, id, &user), ==, PSC_AUTH_ROLE_OPERATOR);
  g_assert_cmpstr (user, ==, "alice");

  /* Sliding: each use moves the end 12 h on. */
  now += PSC_AUTH_SESSION_IDLE_US - G_USEC_PER_SEC;
  g_assert_cmpint (psc_auth_session_lookup (auth, id, NULL), ==, PSC_AUTH_ROLE_OPERATOR);
  now += PSC_AUTH_SESSION_IDLE_US - G_USEC_PER_SEC;
  g_assert_cmpint (psc_auth_session_lookup (auth, id, NULL), ==, PSC_AUTH_ROLE_OPERATOR);
  /* bob's, unused for 24 h, has ended. */
  g_assert_cmpint (psc_auth_session_lookup (auth, other, NULL), ==, PSC_AUTH_ROLE_NONE);
  now += PSC_AUTH_SESSION_IDLE_US;
  g_assert_cmpint (psc_auth_session_lookup (auth, id, NULL), ==, PSC_AUTH_ROLE_NONE);

  g_clear_pointer (&id, g_free);
  id = psc_auth_session_new (auth, "alice", PSC_AUTH_ROLE_ADMIN);
  g_assert_cmpint (psc_auth_session_lookup (auth, id, NULL), ==, PSC_AUTH_ROLE_ADMIN);
  psc_auth_session_end (auth, id);
  g_assert_cmpint (psc_auth_session_lookup (auth, id, NULL), ==, PSC_AUTH_ROLE_NONE);
  psc_auth_session_end (auth, "unknown");
  g_assert_cmpint (psc_auth_session_lookup (auth, "", NULL), ==, PSC_AUTH_ROLE_NONE);
}

static void
test_throttle (void)
{
  g_autoptr (PscAuth) auth = psc_auth_new ();
  gint64 now = 1000 * G_USEC_PER_SEC;

  psc_auth_set_clock (auth, test_clock, &now);
  for (guint i = 0; i < PSC_AUTH_MAX_FAILURES; i++) {
    g_assert_cmpuint (psc_auth_throttle_check (auth, "192.0.2.1"), ==, 0);
    psc_auth_throttle_fail (auth, "192.0.2.1");
    now += G_USEC_PER_SEC;
  }
  /* Five failures in 5 s: throttled until a minute after the first. */
  g_assert_cmpuint (psc_auth_throttle_check (auth, "192.0.2.1"), ==, 55);
  g_assert_cmpuint (psc_auth_throttle_check (auth, "192.0.2.2"), ==, 0);
  now += 54 * G_USEC_PER_SEC + G_USEC_PER_SEC / 2;
  g_assert_cmpuint (psc_auth_throttle_check (auth, "192.0.2.1"), ==, 1);
  now += G_USEC_PER_SEC / 2;
  g_assert_cmpuint (psc_auth_throttle_check (auth, "192.0.2.1"), ==, 0);
  /* A new window: one failure does not throttle again. */
  psc_auth_throttle_fail (auth, "192.0.2.1");
  g_assert_cmpuint (psc_auth_throttle_check (auth, "192.0.2.1"), ==, 0);
}

static void
test_role_for_path (void)
{
  const struct {
    const char *path;
    PscAuthRole role;
  } cases[] = {
    { "/healthz", PSC_AUTH_ROLE_NONE },
    { "/api/rooms", PSC_AUTH_ROLE_VIEWER },
    { "/api/rooms/2a6b0c1e-5b8e-4c53-9a57-0d1f2e3a4b5c", PSC_AUTH_ROLE_VIEWER },
    { "/api/rooms/2a6b0c1e-5b8e-4c53-9a57-0d1f2e3a4b5c/chats", PSC_AUTH_ROLE_VIEWER },
    { "/login", PSC_AUTH_ROLE_NONE },
    { "/logout", PSC_AUTH_ROLE_NONE },
    { "/account.css", PSC_AUTH_ROLE_NONE },
    { "/", PSC_AUTH_ROLE_VIEWER },
    { "/index.html", PSC_AUTH_ROLE_VIEWER },
    { "/viewer.js", PSC_AUTH_ROLE_VIEWER },
    { "/ws", PSC_AUTH_ROLE_VIEWER },
    { "/ws/camera", PSC_AUTH_ROLE_VIEWER },
    { "/webrtc/signaling/camera/1", PSC_AUTH_ROLE_VIEWER },
    { "/whep/camera", PSC_AUTH_ROLE_VIEWER },
    { "/healthz/x", PSC_AUTH_ROLE_VIEWER },
    { "/login/x", PSC_AUTH_ROLE_VIEWER },
    { "/nothing", PSC_AUTH_ROLE_VIEWER },
    { "/api", PSC_AUTH_ROLE_OPERATOR },
    { "/api/streams", PSC_AUTH_ROLE_OPERATOR },
    { "/api/streams/camera/snapshot.jpg", PSC_AUTH_ROLE_OPERATOR },
    { "/apix", PSC_AUTH_ROLE_VIEWER },
    { "/metrics", PSC_AUTH_ROLE_OPERATOR },
  };

  /* Methods that change nothing. */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_assert_cmpint (psc_auth_role_for_path ("GET", cases[i].path), ==, cases[i].role);
    g_assert_cmpint (psc_auth_role_for_path ("HEAD", cases[i].path), ==, cases[i].role);
  }
  /* The rooms API: making and deleting rooms is an admin's, saving chats an operator's. */
  g_assert_cmpint (psc_auth_role_for_path ("POST", "/api/rooms"), ==, PSC_AUTH_ROLE_ADMIN);
  g_assert_cmpint (psc_auth_role_for_path ("DELETE", "/api/rooms/r1"), ==, PSC_AUTH_ROLE_ADMIN);
  g_assert_cmpint (psc_auth_role_for_path ("PUT", "/api/rooms/r1/chats"), ==,
      PSC_AUTH_ROLE_OPERATOR);
  g_assert_cmpint (psc_auth_role_for_path ("POST", "/api/rooms/r1/chats"), ==,
      PSC_AUTH_ROLE_ADMIN);
  g_assert_cmpint (psc_auth_role_for_path ("POST", "/api/streams"), ==,
      PSC_AUTH_ROLE_OPERATOR);
  g_assert_cmpint (psc_auth_role_for_path ("POST", "/whep/camera"), ==, PSC_AUTH_ROLE_VIEWER);
}

static void
test_headers (void)
{
  g_autofree char *a = psc_auth_cookie_value ("x=1; periscope_session=abc ; y=2",
      "periscope_session");
  g_autofree char *b = psc_auth_cookie_value ("periscope_sessionx=1", "periscope_session");
  g_autofree char *c = psc_auth_cookie_value (NULL, "periscope_session");
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;

  g_assert_cmpstr (a, ==, "abc");
  g_assert_null (b);
  g_assert_null (c);
  /* RFC 7617 §2's example: Aladdin, open sesame; the user id ends at the first colon. */
  g_assert_true (psc_auth_parse_basic ("QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &user, &password));
  g_assert_cmpstr (user, ==, "Aladdin");
  g_assert_cmpstr (password, ==, "open sesame");
  g_clear_pointer (&user, g_free);
  g_clear_pointer (&password, g_free);
  g_assert_true (psc_auth_parse_basic ("YTpiOmM=", &user, &password));      /* a:b:c */
  g_assert_cmpstr (password, ==, "b:c");
  g_assert_false (psc_auth_parse_basic ("YWxpY2U=", &user, &password));     /* no colon */
  g_assert_false (psc_auth_parse_basic ("not base64!", &user, &password));
  g_assert_false (psc_auth_parse_basic ("", &user, &password));
}

static void
test_login_form (void)
{
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  const char *form = "user=al%69ce&password=correct+horse%21";

  g_assert_true (psc_access_parse_login_form (form, strlen (form), &user, &password));
  g_assert_cmpstr (user, ==, "alice");
  g_assert_cmpstr (password, ==, "correct horse!");
  g_clear_pointer (&user, g_free);
  g_clear_pointer (&password, g_free);
  /* A pair that is not percent-encoding is as if not sent. */
  g_assert_false (psc_access_parse_login_form ("user=a&password=%zz", 19, &user, &password));
  g_assert_false (psc_access_parse_login_form ("user=a", 6, &user, &password));
  /* An empty body: its bytes may be NULL (g_bytes_get_data()). */
  g_assert_false (psc_access_parse_login_form (NULL, 0, &user, &password));
  g_assert_null (user);
  g_assert_true (psc_access_parse_login_form ("user=&password=", 15, &user, &password));
  g_assert_cmpstr (user, ==, "");
  g_assert_cmpstr (password, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/auth/users-file", test_users_file);
  g_test_add_func ("/auth/users-file-errors", test_users_file_errors);
  g_test_add_func ("/auth/tokens-file", test_tokens_file);
  g_test_add_func ("/auth/load-file", test_load_file);
  g_test_add_func ("/auth/users-file-methods", test_users_file_methods);
  g_test_add_func ("/auth/hash", test_hash);
  g_test_add_func ("/auth/sessions", test_sessions);
  g_test_add_func ("/auth/throttle", test_throttle);
  g_test_add_func ("/auth/role-for-path", test_role_for_path);
  g_test_add_func ("/auth/headers", test_headers);
  g_test_add_func ("/auth/login-form", test_login_form);
  return g_test_run ();
}
