/* periscope — accounts: users, roles, tokens, sessions and the failed-login throttle
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-auth.h"

#include <crypt.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define MAX_NAME_LENGTH 64
#define MIN_TOKEN_LENGTH 16
#define MAX_TOKEN_LENGTH 512
#define SESSION_ID_BYTES 16
/* Bounds on what a stranger can make us remember: a session needs a password, but a
 * throttle entry only a failure. Over these, the oldest entries go first. */
#define MAX_SESSIONS 4096
#define MAX_THROTTLED 4096
#define ROLE_KEY "psc-auth-role"
/* What an unknown user's password is checked against, for the same work as a known user's
 * (at the default cost, what --hash-password makes), so that the time taken does not tell
 * which names exist: a yescrypt hash of random bytes nobody kept. A constant, not made at
 * the first unknown login: that would be a crypt() more, on the main loop. */
#define UNKNOWN_USER_HASH \
  "$y$j9T$y1Xg8uPaW/0XBdyZXhFqy/$Ss8PAFMbHLld4bGeCtK9J.4jyBK8SzV9B23IgzT4MC1"

G_DEFINE_QUARK (psc-auth-error-quark, psc_auth_error)

typedef struct {
  char *name;
  char *secret;                 /* a crypt() hash for a user, the token itself for a token */
  PscAuthRole role;
} Credential;

typedef struct {
  char *user;
  PscAuthRole role;
  gint64 expires;
} Session;

typedef struct {
  gint64 window_start;
  guint failures;
} Failures;

struct _PscAuth {
  GPtrArray *users;             /* Credential */
  GPtrArray *tokens;            /* Credential */
  GHashTable *sessions;         /* id → Session */
  GHashTable *failures;         /* address → Failures */
  PscAuthClock clock;
  gpointer clock_data;
};

static void
credential_free (Credential *credential)
{
  g_free (credential->name);
  if (credential->secret != NULL)
    explicit_bzero (credential->secret, strlen (credential->secret));
  g_free (credential->secret);
  g_free (credential);
}

static void
session_free (Session *session)
{
  g_free (session->user);
  g_free (session);
}

static gint64
monotonic_clock (gpointer user_data)
{
  return g_get_monotonic_time ();
}

static gint64
now (PscAuth *self)
{
  return self->clock (self->clock_data);
}

const char *
psc_auth_role_to_string (PscAuthRole role)
{
  switch (role) {
    case PSC_AUTH_ROLE_VIEWER:
      return "viewer";
    case PSC_AUTH_ROLE_OPERATOR:
      return "operator";
    case PSC_AUTH_ROLE_ADMIN:
      return "admin";
    case PSC_AUTH_ROLE_NONE:
    default:
      return "none";
  }
}

gboolean
psc_auth_role_from_string (const char *name, PscAuthRole *role)
{
  for (PscAuthRole r = PSC_AUTH_ROLE_VIEWER; r <= PSC_AUTH_ROLE_ADMIN; r++) {
    if (g_strcmp0 (name, psc_auth_role_to_string (r)) == 0) {
      *role = r;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
path_is_under (const char *path, const char *prefix)
{
  gsize n = strlen (prefix);

  return strncmp (path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The rooms API: anyone who may watch reads rooms and chats and may chat; an operator saves
 * chats in bulk; only an admin makes and deletes rooms (issue 13's roles). */
static PscAuthRole
role_for_rooms (const char *method, const char *path)
{
  gboolean reads = g_strcmp0 (method, "GET") == 0 || g_strcmp0 (method, "HEAD") == 0;
  gsize n = strlen (path);

  if (reads)
    return PSC_AUTH_ROLE_VIEWER;
  if (g_strcmp0 (method, "PUT") == 0 && n > 6 && g_str_equal (path + n - 6, "/chats"))
    return PSC_AUTH_ROLE_OPERATOR;
  return PSC_AUTH_ROLE_ADMIN;
}

PscAuthRole
psc_auth_role_for_path (const char *method, const char *path)
{
  static const char *const public_paths[] = { "/healthz", "/login", "/logout", "/account.css" };

  g_return_val_if_fail (path != NULL, PSC_AUTH_ROLE_ADMIN);

  for (guint i = 0; i < G_N_ELEMENTS (public_paths); i++)
    if (g_str_equal (path, public_paths[i]))
      return PSC_AUTH_ROLE_NONE;
  if (path_is_under (path, "/api/rooms"))
    return role_for_rooms (method, path);
  if (path_is_under (path, "/api") || path_is_under (path, "/metrics"))
    return PSC_AUTH_ROLE_OPERATOR;
  return PSC_AUTH_ROLE_VIEWER;
}

PscAuth *
psc_auth_new (void)
{
  PscAuth *self = g_new0 (PscAuth, 1);

  self->users = g_ptr_array_new_with_free_func ((GDestroyNotify) credential_free);
  self->tokens = g_ptr_array_new_with_free_func ((GDestroyNotify) credential_free);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) session_free);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->clock = monotonic_clock;
  return self;
}

void
psc_auth_free (PscAuth *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->users);
  g_ptr_array_unref (self->tokens);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->failures);
  g_free (self);
}

void
psc_auth_set_clock (PscAuth *self, PscAuthClock clock, gpointer user_data)
{
  g_return_if_fail (self != NULL && clock != NULL);

  self->clock = clock;
  self->clock_data = user_data;
}

gboolean
psc_auth_is_enabled (const PscAuth *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->users->len > 0 || self->tokens->len > 0;
}

/* ---- The two files ---- */

static gboolean
name_is_valid (const char *name)
{
  gsize n = strlen (name);

  if (n == 0 || n > MAX_NAME_LENGTH)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_.@-", *p) == NULL)
      return FALSE;
  return TRUE;
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static gboolean
token_is_valid (const char *token)
{
  const char *p = token;
  gsize n = strlen (token);

  if (n < MIN_TOKEN_LENGTH || n > MAX_TOKEN_LENGTH)
    return FALSE;
  while (*p != '\0' && (g_ascii_isalnum (*p) || strchr ("-._~+/", *p) != NULL))
    p++;
  if (p == token)
    return FALSE;
  while (*p == '=')
    p++;
  return *p == '\0';
}

static const Credential *
find_by_name (GPtrArray *credentials, const char *name)
{
  for (guint i = 0; i < credentials->len; i++) {
    const Credential *c = g_ptr_array_index (credentials, i);
    if (g_str_equal (c->name, name))
      return c;
  }
  return NULL;
}

/* The most a users file's hash may cost. A hash carries its own cost, and each login runs it
 * (a login form's on a worker thread, Basic on /metrics on the main loop; an unknown user's
 * runs UNKNOWN_USER_HASH, at the default cost): a mistaken or hostile one could take minutes
 * and gigabytes a login (yescrypt's cost 11 is 1 GiB, bcrypt's 31 is 2^31 rounds; libFuzzer
 * found a line that took 21 s and 2 GiB when the file was checked by hashing with each line). The ceilings are about 4 times the default
 * yescrypt's work. Measured on a 2-core EPYC VM, libxcrypt 4.4.33: yescrypt cost 5 (the
 * default) 16 MiB, 85 ms; cost 7 64 MiB, 0.35 s; bcrypt cost 13 0.42 s; SHA-512 with
 * 1,000,000 rounds 0.22 s (5,000, its default, 2 ms). */
#define MAX_YESCRYPT_COST 7
#define MAX_BCRYPT_COST 13
#define MAX_SHA512_ROUNDS 1000000

/* The cost, 1 to 11, for which libxcrypt makes yescrypt parameters @params (what follows
 * "$y$", up to the next '$'), or 0 for none. Its parameter encoding is its own
 * (yescrypt-common.c): rather than decode it, compare with what crypt_gensalt_rn() makes. */
static int
yescrypt_cost (const char *params)
{
  static const char zeros[16] = { 0 };
  size_t length = strcspn (params, "$");

  for (int cost = 1; cost <= 11; cost++) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];

    if (crypt_gensalt_rn ("$y$", cost, zeros, sizeof zeros, setting, sizeof setting) != NULL &&
        strncmp (setting + 3, params, length) == 0 && setting[3 + length] == '$')
      return cost;
  }
  return 0;
}

typedef enum {
  HASH_TAKEN,
  HASH_UNKNOWN,                 /* not a whole yescrypt, bcrypt or SHA-512 hash */
  HASH_TOO_COSTLY,
} HashVerdict;

/* One character of crypt()'s base 64, in a GRegex. */
#define CRYPT_B64 "[./0-9A-Za-z]"

/* Whether @hash is a whole crypt() hash of a method periscope takes (yescrypt, bcrypt,
 * SHA-512) at a cost within the ceilings above, told from its text alone: crypt() never runs
 * it here, so a file loads in the same time whatever its hashes cost. crypt_checksalt() says
 * whether libxcrypt calls the method strong, but looks at the prefix only ("$y$abc" passes);
 * the rest is each method's format (a cut-off hash is refused): `$y$PARAMS$SALT$HASH`
 * (HASH 43 characters), `$2b$NN$` then 53 characters (also 2a, 2y; NN the log2 of the
 * rounds), `$6$[rounds=N$]SALT$HASH` (SALT up to 16, HASH 86; the SHA-crypt specification,
 * www.akkadia.org/drepper/SHA-crypt.txt). */
static HashVerdict
hash_verdict (const char *hash)
{
  const char *shape;
  int cost;

  if (crypt_checksalt (hash) != CRYPT_SALT_OK)
    return HASH_UNKNOWN;
  if (g_str_has_prefix (hash, "$y$")) {
    cost = yescrypt_cost (hash + 3);
    if (cost == 0)
      return HASH_UNKNOWN;
    if (cost > MAX_YESCRYPT_COST)
      return HASH_TOO_COSTLY;
    shape = "^\\$y\\$" CRYPT_B64 "+\\$" CRYPT_B64 "{1,86}\\$" CRYPT_B64 "{43}$";
  } else if (hash[0] == '$' && hash[1] == '2' && hash[2] != '\0' &&
      strchr ("aby", hash[2]) != NULL && hash[3] == '$') {
    if (!g_ascii_isdigit (hash[4]) || !g_ascii_isdigit (hash[5]))
      return HASH_UNKNOWN;
    cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost > MAX_BCRYPT_COST)
      return HASH_TOO_COSTLY;
    if (cost < 4)
      return HASH_UNKNOWN;
    /* The salt's 22nd character carries 2 bits: crypt() writes only these four there, and a
     * hash with another never matches its own password. */
    shape = "^\\$2[aby]\\$[0-9]{2}\\$" CRYPT_B64 "{21}[.Oeu]" CRYPT_B64 "{31}$";
  } else if (g_str_has_prefix (hash, "$6$")) {
    if (g_str_has_prefix (hash, "$6$rounds=")) {
      const char *digits = hash + strlen ("$6$rounds=");
      guint64 rounds = 0;

      for (; g_ascii_isdigit (*digits) && rounds <= MAX_SHA512_ROUNDS; digits++)
        rounds = rounds * 10 + (*digits - '0');
      if (rounds > MAX_SHA512_ROUNDS)
        return HASH_TOO_COSTLY;
      /* libxcrypt refuses fewer than 1,000 rounds, and a leading zero. */
      if (rounds < 1000)
        return HASH_UNKNOWN;
    }
    shape = "^\\$6\\$(rounds=[1-9][0-9]*\\$)?[^$]{0,16}\\$" CRYPT_B64 "{86}$";
  } else {
    return HASH_UNKNOWN;
  }
  return g_regex_match_simple (shape, hash, 0, 0) ? HASH_TAKEN : HASH_UNKNOWN;
}

/* One line, `name:SECRET:role`, into a credential; NULL and a reason without the file and
 * line, which the caller adds. The secret is never quoted: it may be a token. */
static Credential *
parse_line (const char *line, gboolean token, char **reason)
{
  g_auto (GStrv) fields = g_strsplit (line, ":", -1);
  PscAuthRole role;
  Credential *credential;

  if (g_strv_length (fields) != 3) {
    *reason = g_strdup_printf ("expected name:%s:role (3 fields separated by ':'), found %u",
        token ? "TOKEN" : "HASH", g_strv_length (fields));
    return NULL;
  }
  if (!name_is_valid (fields[0])) {
    *reason = g_strdup_printf ("the name must be 1 to %d characters of A-Z a-z 0-9 _ . @ -",
        MAX_NAME_LENGTH);
    return NULL;
  }
  if (token && !token_is_valid (fields[1])) {
    *reason = g_strdup_printf ("the token of %s must be %d to %d characters of A-Z a-z 0-9 "
        "- . _ ~ + / (then = signs) (RFC 6750 b64token)", fields[0], MIN_TOKEN_LENGTH,
        MAX_TOKEN_LENGTH);
    return NULL;
  }
  if (!token) {
    HashVerdict verdict = hash_verdict (fields[1]);

    if (verdict == HASH_TOO_COSTLY) {
      *reason = g_strdup_printf ("the hash of %s costs more than a login may (at most yescrypt "
          "cost %d, bcrypt cost %d, SHA-512 %d rounds): make one with periscope "
          "--hash-password", fields[0], MAX_YESCRYPT_COST, MAX_BCRYPT_COST, MAX_SHA512_ROUNDS);
      return NULL;
    }
    if (verdict == HASH_UNKNOWN) {
      *reason = g_strdup_printf ("the hash of %s is not a whole yescrypt, bcrypt or SHA-512 "
          "crypt() hash (make one with periscope --hash-password)", fields[0]);
      return NULL;
    }
  }
  if (!psc_auth_role_from_string (fields[2], &role)) {
    *reason = g_strdup_printf ("unknown role \"%s\" for %s: use viewer, operator or admin",
        fields[2], fields[0]);
    return NULL;
  }
  credential = g_new0 (Credential, 1);
  credential->name = g_strdup (fields[0]);
  credential->secret = g_strdup (fields[1]);
  credential->role = role;
  explicit_bzero (fields[1], strlen (fields[1]));
  return credential;
}

static gboolean
add_credentials (GPtrArray *into, const char *text, const char *filename, gboolean token,
    GError **error)
{
  g_autoptr (GPtrArray) added = g_ptr_array_new_with_free_func (
      (GDestroyNotify) credential_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++) {
    char *line = g_strstrip (lines[i]);
    g_autofree char *reason = NULL;
    Credential *credential;

    if (line[0] == '\0' || line[0] == '#')
      continue;
    credential = parse_line (line, token, &reason);
    explicit_bzero (lines[i], strlen (lines[i]));
    if (credential != NULL) {
      if (find_by_name (into, credential->name) != NULL ||
          find_by_name (added, credential->name) != NULL)
        reason = g_strdup_printf ("%s is given twice", credential->name);
      else
        for (guint j = 0; token && j < added->len && reason == NULL; j++)
          if (g_str_equal (((Credential *) g_ptr_array_index (added, j))->secret,
                  credential->secret))
            reason = g_strdup_printf ("%s has the token of %s",
                credential->name, ((Credential *) g_ptr_array_index (added, j))->name);
      if (reason != NULL)
        credential_free (credential);
      else
        g_ptr_array_add (added, credential);
    }
    if (reason != NULL) {
      g_set_error (error, PSC_AUTH_ERROR, PSC_AUTH_ERROR_FILE, "%s line %u: %s", filename,
          i + 1, reason);
      return FALSE;
    }
  }
  g_ptr_array_extend_and_steal (into, g_steal_pointer (&added));
  return TRUE;
}

gboolean
psc_auth_add_users (PscAuth *self, const char *text, const char *filename, GError **error)
{
  g_return_val_if_fail (self != NULL && text != NULL && filename != NULL, FALSE);

  return add_credentials (self->users, text, filename, FALSE, error);
}

gboolean
psc_auth_add_tokens (PscAuth *self, const char *text, const char *filename, GError **error)
{
  g_return_val_if_fail (self != NULL && text != NULL && filename != NULL, FALSE);

  return add_credentials (self->tokens, text, filename, TRUE, error);
}

gboolean
psc_auth_load_file (PscAuth *self, const char *path, gboolean tokens, GError **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;
  g_autoptr (GError) local_error = NULL;
  gboolean ok;

  g_return_val_if_fail (self != NULL && path != NULL, FALSE);

  if (!g_file_get_contents (path, &text, &length, &local_error)) {
    g_set_error (error, PSC_AUTH_ERROR, PSC_AUTH_ERROR_FILE, "%s: %s",
        tokens ? "--token-file" : "--users", local_error->message);
    return FALSE;
  }
  if (strlen (text) != length) {
    g_set_error (error, PSC_AUTH_ERROR, PSC_AUTH_ERROR_FILE, "%s: %s holds a NUL byte",
        tokens ? "--token-file" : "--users", path);
    return FALSE;
  }
  ok = tokens ? psc_auth_add_tokens (self, text, path, error) :
      psc_auth_add_users (self, text, path, error);
  explicit_bzero (text, length);
  return ok;
}

/* ---- Passwords and tokens ---- */

/* Compares two strings in a time that depends on their lengths only. */
static gboolean
equal_in_constant_time (const char *a, const char *b)
{
  gsize n = strlen (a), m = strlen (b);
  guchar difference = n != m;

  for (gsize i = 0; i < n; i++)
    difference |= (guchar) a[i] ^ (guchar) b[i < m ? i : 0];
  return m > 0 && difference == 0;
}

char *
psc_auth_hash_password (const char *password, GError **error)
{
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  g_autofree struct crypt_data *data = g_new0 (struct crypt_data, 1);
  char *hash;

  g_return_val_if_fail (password != NULL, NULL);

  /* NULL random bytes: libxcrypt takes them from getrandom() itself; count 0 is the
   * method's default cost. */
  if (crypt_gensalt_rn ("$y$", 0, NULL, 0, setting, sizeof setting) == NULL) {
    g_set_error (error, PSC_AUTH_ERROR, PSC_AUTH_ERROR_HASH, "cannot make a yescrypt salt: %s",
        g_strerror (errno));
    return NULL;
  }
  hash = crypt_rn (password, setting, data, sizeof *data);
  if (hash == NULL || hash[0] == '*') {
    g_set_error (error, PSC_AUTH_ERROR, PSC_AUTH_ERROR_HASH, "crypt() failed: %s",
        g_strerror (errno));
    return NULL;
  }
  hash = g_strdup (hash);
  explicit_bzero (data, sizeof *data);
  return hash;
}

gboolean
psc_auth_verify_hash (const char *hash, const char *password)
{
  g_autofree struct crypt_data *data = g_new0 (struct crypt_data, 1);
  const char *result;
  gboolean ok;

  g_return_val_if_fail (hash != NULL && password != NULL, FALSE);

  result = crypt_rn (password, hash, data, sizeof *data);
  /* libxcrypt returns NULL, or a string starting with '*', for a setting it cannot use. */
  ok = result != NULL && result[0] != '*' && equal_in_constant_time (result, hash);
  explicit_bzero (data, sizeof *data);
  return ok;
}

struct _PscAuthPasswordCheck {
  char *hash;                   /* the user's, or the dummy one for an unknown user */
  char *password;
  char *name;                   /* NULL for an unknown user */
  PscAuthRole role;
  gboolean matched;
};

PscAuthPasswordCheck *
psc_auth_password_check_new (PscAuth *self, const char *user, const char *password)
{
  PscAuthPasswordCheck *check;
  const Credential *credential;

  g_return_val_if_fail (self != NULL && user != NULL && password != NULL, NULL);

  check = g_new0 (PscAuthPasswordCheck, 1);
  check->password = g_strdup (password);
  credential = find_by_name (self->users, user);
  if (credential != NULL) {
    check->hash = g_strdup (credential->secret);
    check->name = g_strdup (credential->name);
    check->role = credential->role;
    return check;
  }
  check->hash = g_strdup (UNKNOWN_USER_HASH);
  check->role = PSC_AUTH_ROLE_NONE;
  return check;
}

void
psc_auth_password_check_run (PscAuthPasswordCheck *check)
{
  g_return_if_fail (check != NULL);

  check->matched = check->hash != NULL && psc_auth_verify_hash (check->hash, check->password);
}

PscAuthRole
psc_auth_password_check_finish (PscAuthPasswordCheck *check, const char **name)
{
  g_return_val_if_fail (check != NULL, PSC_AUTH_ROLE_NONE);

  if (!check->matched || check->name == NULL)
    return PSC_AUTH_ROLE_NONE;
  if (name != NULL)
    *name = check->name;
  return check->role;
}

void
psc_auth_password_check_free (PscAuthPasswordCheck *check)
{
  if (check == NULL)
    return;
  explicit_bzero (check->password, strlen (check->password));
  g_free (check->password);
  g_free (check->hash);
  g_free (check->name);
  g_free (check);
}

PscAuthRole
psc_auth_check_password (PscAuth *self, const char *user, const char *password,
    const char **name)
{
  g_autoptr (PscAuthPasswordCheck) check = NULL;
  const Credential *credential;
  PscAuthRole role;

  g_return_val_if_fail (self != NULL && user != NULL && password != NULL, PSC_AUTH_ROLE_NONE);

  check = psc_auth_password_check_new (self, user, password);
  psc_auth_password_check_run (check);
  role = psc_auth_password_check_finish (check, NULL);
  /* The credential's own name, valid while @self is (the check's copy goes with it). */
  credential = find_by_name (self->users, user);
  if (role != PSC_AUTH_ROLE_NONE && name != NULL && credential != NULL)
    *name = credential->name;
  return role;
}

PscAuthRole
psc_auth_check_token (PscAuth *self, const char *token, const char **name)
{
  PscAuthRole role = PSC_AUTH_ROLE_NONE;

  g_return_val_if_fail (self != NULL && token != NULL, PSC_AUTH_ROLE_NONE);

  /* Every token compared, whichever matches: the time says nothing about which. */
  for (guint i = 0; i < self->tokens->len; i++) {
    const Credential *c = g_ptr_array_index (self->tokens, i);
    if (equal_in_constant_time (c->secret, token)) {
      role = c->role;
      if (name != NULL)
        *name = c->name;
    }
  }
  return role;
}

/* ---- Sessions ---- */

static gboolean
session_expired (gpointer key, gpointer value, gpointer user_data)
{
  return ((Session *) value)->expires <= *(gint64 *) user_data;
}

/* Drops the expired sessions, then, if there are still too many, the one that would expire
 * first. */
static void
prune_sessions (PscAuth *self, gint64 t)
{
  GHashTableIter iter;
  gpointer key, value, oldest = NULL;
  gint64 oldest_expires = G_MAXINT64;

  g_hash_table_foreach_remove (self->sessions, session_expired, &t);
  if (g_hash_table_size (self->sessions) < MAX_SESSIONS)
    return;
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    if (((Session *) value)->expires < oldest_expires) {
      oldest_expires = ((Session *) value)->expires;
      oldest = key;
    }
  }
  g_hash_table_remove (self->sessions, oldest);
}

char *
psc_auth_session_new (PscAuth *self, const char *user, PscAuthRole role)
{
  guint8 bytes[SESSION_ID_BYTES];
  GString *id = g_string_sized_new (2 * SESSION_ID_BYTES);
  Session *session;
  gsize got = 0;

  g_return_val_if_fail (self != NULL && user != NULL, NULL);

  while (got < sizeof bytes) {
    ssize_t n = getrandom (bytes + got, sizeof bytes - got, 0);
    /* Only EINTR is possible for 16 bytes once the pool is ready (getrandom(2)). */
    if (n > 0)
      got += n;
  }
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (id, "%02x", bytes[i]);
  explicit_bzero (bytes, sizeof bytes);

  prune_sessions (self, now (self));
  session = g_new0 (Session, 1);
  session->user = g_strdup (user);
  session->role = role;
  session->expires = now (self) + PSC_AUTH_SESSION_IDLE_US;
  g_hash_table_replace (self->sessions, g_strdup (id->str), session);
  return g_string_free (id, FALSE);
}

PscAuthRole
psc_auth_session_lookup (PscAuth *self, const char *id, const char **user)
{
  Session *session;
  gint64 t;

  g_return_val_if_fail (self != NULL && id != NULL, PSC_AUTH_ROLE_NONE);

  session = g_hash_table_lookup (self->sessions, id);
  if (session == NULL)
    return PSC_AUTH_ROLE_NONE;
  t = now (self);
  if (session->expires <= t) {
    g_hash_table_remove (self->sessions, id);
    return PSC_AUTH_ROLE_NONE;
  }
  session->expires = t + PSC_AUTH_SESSION_IDLE_US;
  if (user != NULL)
    *user = session->user;
  return session->role;
}

void
psc_auth_session_end (PscAuth *self, const char *id)
{
  g_return_if_fail (self != NULL && id != NULL);

  g_hash_table_remove (self->sessions, id);
}

/* ---- The failed-login throttle ---- */

static gboolean
window_ended (gpointer key, gpointer value, gpointer user_data)
{
  return ((Failures *) value)->window_start + PSC_AUTH_FAILURE_WINDOW_US <=
      *(gint64 *) user_data;
}

guint
psc_auth_throttle_check (PscAuth *self, const char *address)
{
  Failures *failures;
  gint64 left;

  g_return_val_if_fail (self != NULL && address != NULL, 0);

  failures = g_hash_table_lookup (self->failures, address);
  if (failures == NULL || failures->failures < PSC_AUTH_MAX_FAILURES)
    return 0;
  left = failures->window_start + PSC_AUTH_FAILURE_WINDOW_US - now (self);
  if (left <= 0)
    return 0;
  return (guint) ((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

void
psc_auth_throttle_fail (PscAuth *self, const char *address)
{
  Failures *failures;
  gint64 t;

  g_return_if_fail (self != NULL && address != NULL);

  t = now (self);
  g_hash_table_foreach_remove (self->failures, window_ended, &t);
  failures = g_hash_table_lookup (self->failures, address);
  if (failures == NULL) {
    /* A flood of addresses (IPv6 gives an attacker many) must not grow the table without
     * bound: past it, a new address starts throttled at once. */
    failures = g_new0 (Failures, 1);
    if (g_hash_table_size (self->failures) >= MAX_THROTTLED)
      failures->failures = PSC_AUTH_MAX_FAILURES - 1;
    failures->window_start = t;
    g_hash_table_insert (self->failures, g_strdup (address), failures);
  }
  if (failures->failures < G_MAXUINT)
    failures->failures++;
}

/* ---- Headers ---- */

char *
psc_auth_cookie_value (const char *header, const char *name)
{
  g_auto (GStrv) pairs = NULL;
  gsize n;

  g_return_val_if_fail (name != NULL, NULL);

  if (header == NULL)
    return NULL;
  n = strlen (name);
  pairs = g_strsplit (header, ";", -1);
  for (guint i = 0; pairs[i] != NULL; i++) {
    const char *pair = pairs[i];
    while (*pair == ' ' || *pair == '\t')
      pair++;
    if (strncmp (pair, name, n) == 0 && pair[n] == '=') {
      g_autofree char *value = g_strdup (pair + n + 1);
      return g_strdup (g_strchomp (value));
    }
  }
  return NULL;
}

gboolean
psc_auth_parse_basic (const char *credentials, char **user, char **password)
{
  g_autofree guchar *decoded = NULL;
  gsize length = 0;
  const char *colon;

  g_return_val_if_fail (credentials != NULL && user != NULL && password != NULL, FALSE);

  for (const char *p = credentials; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("+/=", *p) == NULL)
      return FALSE;
  decoded = g_base64_decode (credentials, &length);
  if (decoded == NULL || length == 0 || memchr (decoded, '\0', length) != NULL)
    return FALSE;
  decoded = g_realloc (decoded, length + 1);
  decoded[length] = '\0';
  colon = strchr ((char *) decoded, ':');
  if (colon == NULL || !g_utf8_validate ((char *) decoded, length, NULL)) {
    explicit_bzero (decoded, length);
    return FALSE;
  }
  *user = g_strndup ((char *) decoded, colon - (char *) decoded);
  *password = g_strdup (colon + 1);
  explicit_bzero (decoded, length);
  return TRUE;
}

/* ---- The role a request was found to have ---- */

void
psc_auth_set_role (GObject *request, PscAuthRole role)
{
  g_return_if_fail (G_IS_OBJECT (request));

  g_object_set_data (request, ROLE_KEY, GINT_TO_POINTER (role));
}

PscAuthRole
psc_auth_get_role (GObject *request)
{
  g_return_val_if_fail (G_IS_OBJECT (request), PSC_AUTH_ROLE_NONE);

  return GPOINTER_TO_INT (g_object_get_data (request, ROLE_KEY));
}
