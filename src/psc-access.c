/* periscope — the accounts applied at the HTTP edge: credentials, refusals, /login, /logout
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-access.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (psc_access_debug);
#define GST_CAT_DEFAULT psc_access_debug

#define LOGIN_PAGE "/org/periscope/web/login.html"
#define MESSAGE_MARK "<!--message-->"
#define REALM "periscope"
/* RFC 6585 §4; libsoup 3.2 has no name for it. */
#define TOO_MANY_REQUESTS 429
/* A failed login logged at most this often: a password guesser must not flood the log. */
#define LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

static const char *const reason_labels[PSC_ACCESS_REFUSED_COUNT] = {
  [PSC_ACCESS_REFUSED_MISSING] = "missing",
  [PSC_ACCESS_REFUSED_SESSION] = "session",
  [PSC_ACCESS_REFUSED_PASSWORD] = "password",
  [PSC_ACCESS_REFUSED_TOKEN] = "token",
  [PSC_ACCESS_REFUSED_SCHEME] = "scheme",
  [PSC_ACCESS_REFUSED_ROLE] = "role",
  [PSC_ACCESS_REFUSED_THROTTLED] = "throttled",
};

struct _PscAccess {
  SoupServer *soup;
  PscAuth *auth;
  GCancellable *cancellable;    /* cancelled when freed: the password checks still running */
  guint checking;               /* password checks running */
  GHashTable *checking_addresses;       /* the addresses whose login is being checked */
  guint64 refused[PSC_ACCESS_REFUSED_COUNT];
  gint64 logged_at;
  guint64 failed_logins;
};

/* What the credentials of a request came to. */
typedef struct {
  PscAuthRole role;
  const char *who;              /* a user or token name, for the log; NULL if none */
  gboolean bearer;              /* a bearer token was sent: refusals use its challenge */
  gboolean refused;             /* @reason holds */
  PscAccessRefusal reason;
  guint retry_after;            /* seconds, for PSC_ACCESS_REFUSED_THROTTLED */
} Credentials;

static gboolean
is_metrics (const char *path)
{
  return g_str_equal (path, "/metrics");
}

/* The hook for TLS: a request that came over HTTPS gets a `Secure` cookie. libsoup gives a
 * request over a TLS connection the scheme https. */
static gboolean
came_over_tls (SoupServerMessage *msg)
{
  return g_strcmp0 (g_uri_get_scheme (soup_server_message_get_uri (msg)), "https") == 0;
}

static void
log_failure (PscAccess *self, SoupServerMessage *msg, const char *what)
{
  gint64 now = g_get_monotonic_time ();

  self->failed_logins++;
  GST_INFO ("%s from %s", what, soup_server_message_get_remote_host (msg));
  if (self->logged_at == 0 || now - self->logged_at >= LOG_INTERVAL_US) {
    self->logged_at = now;
    g_message ("periscope: %s from %s (%" G_GUINT64_FORMAT " failed logins so far)", what,
        soup_server_message_get_remote_host (msg), self->failed_logins);
  }
}

/* A wrong password or token: counted, and counted against the address. */
static void
fail (PscAccess *self, SoupServerMessage *msg, Credentials *credentials,
    PscAccessRefusal reason)
{
  credentials->refused = TRUE;
  credentials->reason = reason;
  psc_auth_throttle_fail (self->auth, soup_server_message_get_remote_host (msg));
  log_failure (self, msg, reason == PSC_ACCESS_REFUSED_TOKEN ? "an invalid bearer token" :
      "a wrong user name or password");
}

/* Bearer and Basic go through the throttle: they can be guessed. A session cookie does not:
 * 128 random bits cannot, and a stale one (after a restart) is no attack. */
static gboolean
throttled (PscAccess *self, SoupServerMessage *msg, Credentials *credentials)
{
  credentials->retry_after = psc_auth_throttle_check (self->auth,
      soup_server_message_get_remote_host (msg));
  if (credentials->retry_after == 0)
    return FALSE;
  credentials->refused = TRUE;
  credentials->reason = PSC_ACCESS_REFUSED_THROTTLED;
  return TRUE;
}

static void
read_authorization (PscAccess *self, SoupServerMessage *msg, const char *authorization,
    const char *path, Credentials *credentials)
{
  if (g_ascii_strncasecmp (authorization, "Bearer ", 7) == 0) {
    credentials->bearer = TRUE;
    if (throttled (self, msg, credentials))
      return;
    credentials->role = psc_auth_check_token (self->auth, authorization + 7, &credentials->who);
    if (credentials->role == PSC_AUTH_ROLE_NONE)
      fail (self, msg, credentials, PSC_ACCESS_REFUSED_TOKEN);
  } else if (g_ascii_strncasecmp (authorization, "Basic ", 6) == 0 && is_metrics (path)) {
    g_autofree char *user = NULL;
    g_autofree char *password = NULL;

    if (throttled (self, msg, credentials))
      return;
    if (psc_auth_parse_basic (authorization + 6, &user, &password))
      credentials->role = psc_auth_check_password (self->auth, user, password,
          &credentials->who);
    if (password != NULL)
      explicit_bzero (password, strlen (password));
    if (credentials->role == PSC_AUTH_ROLE_NONE)
      fail (self, msg, credentials, PSC_ACCESS_REFUSED_PASSWORD);
  } else {
    credentials->refused = TRUE;
    credentials->reason = PSC_ACCESS_REFUSED_SCHEME;
  }
}

static void
read_credentials (PscAccess *self, SoupServerMessage *msg, const char *path,
    Credentials *credentials)
{
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  const char *authorization = soup_message_headers_get_one (request, "Authorization");
  g_autofree char *session = NULL;

  memset (credentials, 0, sizeof *credentials);
  if (authorization != NULL) {
    read_authorization (self, msg, authorization, path, credentials);
    return;
  }
  session = psc_auth_cookie_value (soup_message_headers_get_one (request, "Cookie"),
      PSC_ACCESS_COOKIE);
  if (session != NULL) {
    credentials->role = psc_auth_session_lookup (self->auth, session, &credentials->who);
    if (credentials->role == PSC_AUTH_ROLE_NONE) {
      credentials->refused = TRUE;
      credentials->reason = PSC_ACCESS_REFUSED_SESSION;
    }
    return;
  }
  credentials->refused = TRUE;
  credentials->reason = PSC_ACCESS_REFUSED_MISSING;
}

/* Sets @status with its reason phrase, which libsoup 3.2 does not know for 429. */
static void
set_status (SoupServerMessage *msg, guint status)
{
  soup_server_message_set_status (msg, status, status == TOO_MANY_REQUESTS ?
      "Too Many Requests" : NULL);
}

static void
respond_text (SoupServerMessage *msg, guint status, const char *text)
{
  set_status (msg, status);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
      strlen (text));
}

static void
set_retry_after (SoupServerMessage *msg, guint seconds)
{
  g_autofree char *value = g_strdup_printf ("%u", seconds);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
      value);
}

static void
redirect (SoupServerMessage *msg, const char *location)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location",
      location);
  soup_server_message_set_status (msg, SOUP_STATUS_SEE_OTHER, NULL);
}

/* The challenges of a 401 (RFC 9110 §11.6.1): Bearer everywhere (RFC 6750 §3), Basic too on
 * /metrics (RFC 7617 §2), with the Bearer error of a token that is not one (RFC 6750 §3.1). */
static void
challenge (SoupServerMessage *msg, const char *path, const Credentials *credentials,
    const char *reason)
{
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  g_autofree char *bearer = NULL;

  if (credentials->refused && credentials->reason == PSC_ACCESS_REFUSED_TOKEN)
    bearer = g_strdup_printf ("Bearer realm=\"" REALM "\", error=\"invalid_token\", "
        "error_description=\"%s\"", reason);
  else
    bearer = g_strdup ("Bearer realm=\"" REALM "\"");
  soup_message_headers_append (response, "WWW-Authenticate", bearer);
  if (is_metrics (path))
    soup_message_headers_append (response, "WWW-Authenticate",
        "Basic realm=\"" REALM "\", charset=\"UTF-8\"");
}

static const char *
reason_text (PscAccessRefusal reason)
{
  switch (reason) {
    case PSC_ACCESS_REFUSED_SESSION:
      return "your session has ended or expired: log in again at /login";
    case PSC_ACCESS_REFUSED_PASSWORD:
      return "wrong user name or password";
    case PSC_ACCESS_REFUSED_TOKEN:
      return "this bearer token is not valid";
    case PSC_ACCESS_REFUSED_SCHEME:
      return "only Authorization: Bearer is taken here (and Basic on /metrics)";
    case PSC_ACCESS_REFUSED_MISSING:
    default:
      return "this needs a login: log in at /login, or send Authorization: Bearer TOKEN";
  }
}

/* Answers a request that may not go on, with its one line, and counts it. */
static void
refuse (PscAccess *self, SoupServerMessage *msg, const char *path, const Credentials *credentials,
    PscAuthRole needed)
{
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *text = NULL;
  PscAccessRefusal reason;

  if (!credentials->refused) {
    reason = PSC_ACCESS_REFUSED_ROLE;
    text = g_strdup_printf ("%s needs the %s role; %s has the %s role\n", path,
        psc_auth_role_to_string (needed), credentials->who, psc_auth_role_to_string (
            credentials->role));
    /* RFC 6750 §3.1: a valid token without the scope the resource needs. */
    if (credentials->bearer)
      soup_message_headers_append (response, "WWW-Authenticate",
          "Bearer realm=\"" REALM "\", error=\"insufficient_scope\"");
    respond_text (msg, SOUP_STATUS_FORBIDDEN, text);
  } else if (credentials->reason == PSC_ACCESS_REFUSED_THROTTLED) {
    reason = credentials->reason;
    text = g_strdup_printf ("too many failed logins from this address: try again in %u s\n",
        credentials->retry_after);
    set_retry_after (msg, credentials->retry_after);
    respond_text (msg, TOO_MANY_REQUESTS, text);
  } else {
    reason = credentials->reason;
    /* A browser opening the page is shown the login page instead. */
    if ((reason == PSC_ACCESS_REFUSED_MISSING || reason == PSC_ACCESS_REFUSED_SESSION) &&
        (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD) &&
        (g_str_equal (path, "/") || g_str_equal (path, "/index.html"))) {
      redirect (msg, "/login");
    } else {
      text = g_strdup_printf ("%s\n", reason_text (reason));
      challenge (msg, path, credentials, reason_text (reason));
      respond_text (msg, SOUP_STATUS_UNAUTHORIZED, text);
    }
  }
  self->refused[reason]++;
  GST_INFO ("refused %s %s from %s: %s", method, path,
      soup_server_message_get_remote_host (msg), reason_labels[reason]);
}

/* SoupServer::request-read, after the origin policy's: before every route, WebSocket
 * upgrades included (libsoup skips the handler of a message with a status). */
static void
on_request_read (SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  PscAccess *self = user_data;
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  PscAuthRole needed;
  Credentials credentials;

  if (!psc_auth_is_enabled (self->auth) || soup_server_message_get_status (msg) != 0)
    return;
  needed = psc_auth_role_for_path (soup_server_message_get_method (msg), path);
  if (needed == PSC_AUTH_ROLE_NONE)
    return;
  read_credentials (self, msg, path, &credentials);
  if (!credentials.refused && credentials.role >= needed) {
    psc_auth_set_role (G_OBJECT (msg), credentials.role);
    return;
  }
  refuse (self, msg, path, &credentials, needed);
}

/* ---- /login and /logout ---- */

static void
respond_login_page (SoupServerMessage *msg, guint status, const char *message)
{
  g_autoptr (GBytes) bytes = g_resources_lookup_data (LOGIN_PAGE, G_RESOURCE_LOOKUP_FLAGS_NONE,
      NULL);
  g_autofree char *page = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autoptr (GString) out = g_string_new (page);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  /* Our own fixed sentences only: nothing the client sent is put in the page. */
  g_string_replace (out, MESSAGE_MARK, message, 1);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "X-Frame-Options", "DENY");
  set_status (msg, status);
  soup_server_message_set_response (msg, "text/html; charset=utf-8", SOUP_MEMORY_COPY,
      out->str, out->len);
}

static void
set_cookie (SoupServerMessage *msg, const char *value, gboolean clear)
{
  g_autofree char *cookie = g_strdup_printf (PSC_ACCESS_COOKIE "=%s; Path=/; HttpOnly; "
      "SameSite=Strict%s%s", value, clear ? "; Max-Age=0" : "",
      came_over_tls (msg) ? "; Secure" : "");

  soup_message_headers_append (soup_server_message_get_response_headers (msg), "Set-Cookie",
      cookie);
}

/* A login form whose password is being checked on a worker thread: main context only (the
 * worker has the check alone, as its task's data). */
typedef struct {
  PscAccess *self;              /* not to be touched once @cancellable is cancelled */
  GCancellable *cancellable;    /* the PscAccess's: cancelled when it is freed */
  SoupServerMessage *msg;       /* paused meanwhile */
  gboolean gone;                /* libsoup let go of @msg's I/O: not to be unpaused */
  char *user;
  char *address;                /* in PscAccess's checking_addresses while checked */
} Login;

static void
login_free (Login *login)
{
  g_signal_handlers_disconnect_by_data (login->msg, login);
  g_object_unref (login->cancellable);
  g_object_unref (login->msg);
  g_free (login->user);
  g_free (login->address);
  g_free (login);
}

/* The answer to a login form, once its password is checked: the session cookie and back to
 * the page, or the login page again. */
static void
answer_login (PscAccess *self, SoupServerMessage *msg, const char *user, PscAuthRole role)
{
  const char *address = soup_server_message_get_remote_host (msg);
  g_autofree char *session = NULL;

  if (role == PSC_AUTH_ROLE_NONE) {
    psc_auth_throttle_fail (self->auth, address);
    log_failure (self, msg, "a wrong user name or password");
    self->refused[PSC_ACCESS_REFUSED_PASSWORD]++;
    respond_login_page (msg, SOUP_STATUS_UNAUTHORIZED, "Wrong user name or password.");
    return;
  }
  session = psc_auth_session_new (self->auth, user, role);
  set_cookie (msg, session, FALSE);
  GST_INFO ("%s logged in from %s as %s", user, address, psc_auth_role_to_string (role));
  redirect (msg, "/");
}

static void
check_password_in_thread (GTask *task, gpointer source, gpointer task_data,
    GCancellable *cancellable)
{
  psc_auth_password_check_run (task_data);
  g_task_return_boolean (task, TRUE);
}

/* SoupServerMessage::disconnected: libsoup has let go of the message's I/O (the server
 * disconnected, at shutdown: a paused message does not watch its socket, and a client that
 * hangs up meanwhile gets its answer written to a closed connection), and unpausing it would
 * be an error. */
static void
on_login_disconnected (SoupServerMessage *msg, gpointer user_data)
{
  ((Login *) user_data)->gone = TRUE;
}

/* Main context: the password checked; @user_data, the Login, is freed here. */
static void
on_password_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Login *login = user_data;
  PscAccess *self = login->self;

  if (!g_cancellable_is_cancelled (login->cancellable)) {
    self->checking--;
    g_hash_table_remove (self->checking_addresses, login->address);
    answer_login (self, login->msg, login->user,
        psc_auth_password_check_finish (g_task_get_task_data (G_TASK (result)), NULL));
    if (!login->gone)
      soup_server_message_unpause (login->msg);
  }
  login_free (login);
}

static void
log_in (PscAccess *self, SoupServerMessage *msg)
{
  const char *address = soup_server_message_get_remote_host (msg) != NULL ?
      soup_server_message_get_remote_host (msg) : "";
  g_autoptr (GBytes) body = soup_message_body_flatten (
      soup_server_message_get_request_body (msg));
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  g_autofree char *text = NULL;
  guint retry_after = psc_auth_throttle_check (self->auth, address);
  g_autoptr (GTask) task = NULL;
  Login *login;

  if (retry_after > 0) {
    text = g_strdup_printf ("Too many failed logins from this address: try again in %u s.",
        retry_after);
    set_retry_after (msg, retry_after);
    self->refused[PSC_ACCESS_REFUSED_THROTTLED]++;
    respond_login_page (msg, TOO_MANY_REQUESTS, text);
    return;
  }
  if (!psc_access_parse_login_form (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
          &user, &password)) {
    answer_login (self, msg, NULL, PSC_AUTH_ROLE_NONE);
    return;
  }
  /* One check at a time per address: its failure is counted before the next starts, so
   * the throttle's 5 a minute hold, and one client cannot take every check. */
  if (g_hash_table_contains (self->checking_addresses, address)) {
    explicit_bzero (password, strlen (password));
    set_retry_after (msg, 1);
    self->refused[PSC_ACCESS_REFUSED_THROTTLED]++;
    respond_login_page (msg, TOO_MANY_REQUESTS,
        "A login from this address is being checked: try again in a second.");
    return;
  }
  /* Each check may hold up to 64 MiB (yescrypt at the highest cost taken) and a core: a
   * burst of logins from many addresses waits its turn rather than take them all. */
  if (self->checking >= PSC_ACCESS_MAX_PASSWORD_CHECKS) {
    explicit_bzero (password, strlen (password));
    set_retry_after (msg, 1);
    respond_login_page (msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
        "Too many logins at once: try again in a second.");
    return;
  }
  login = g_new0 (Login, 1);
  login->self = self;
  login->cancellable = g_object_ref (self->cancellable);
  login->msg = g_object_ref (msg);
  login->user = g_steal_pointer (&user);
  login->address = g_strdup (address);
  self->checking++;
  g_hash_table_add (self->checking_addresses, g_strdup (address));
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_login_disconnected), login);
  soup_server_message_pause (msg);
  task = g_task_new (NULL, NULL, on_password_checked, login);
  g_task_set_source_tag (task, log_in);
  g_task_set_task_data (task, psc_auth_password_check_new (self->auth, login->user, password),
      (GDestroyNotify) psc_auth_password_check_free);
  explicit_bzero (password, strlen (password));
  g_task_run_in_thread (task, check_password_in_thread);
}

gboolean
psc_access_parse_login_form (const char *body, gsize length, char **user, char **password)
{
  /* An empty body's bytes may be NULL (g_bytes_get_data()); g_strndup() makes that NULL. */
  g_autofree char *form = length > 0 ? g_strndup (body, length) : g_strdup ("");
  g_autoptr (GHashTable) fields = soup_form_decode (form);
  const char *u = g_hash_table_lookup (fields, "user");
  char *p = g_hash_table_lookup (fields, "password");
  gboolean found = u != NULL && p != NULL;

  g_return_val_if_fail (user != NULL && password != NULL, FALSE);

  if (found) {
    *user = g_strdup (u);
    *password = g_strdup (p);
  }
  /* The decoded values live in the keys' blocks (soup_form_decode() decodes in place). */
  if (p != NULL)
    explicit_bzero (p, strlen (p));
  explicit_bzero (form, strlen (form));
  return found;
}

static void
on_login (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  PscAccess *self = user_data;
  const char *method = soup_server_message_get_method (msg);

  if (!g_str_equal (path, "/login")) {
    respond_text (msg, SOUP_STATUS_NOT_FOUND, "not found\n");
  } else if (!psc_auth_is_enabled (self->auth)) {
    redirect (msg, "/");        /* no accounts: nothing to log in to */
  } else if (method == SOUP_METHOD_GET || method == SOUP_METHOD_HEAD) {
    respond_login_page (msg, SOUP_STATUS_OK, "");
  } else if (method == SOUP_METHOD_POST) {
    log_in (self, msg);
  } else {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
        "GET, HEAD, POST");
    respond_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "only GET, HEAD and POST here\n");
  }
}

static void
on_logout (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  PscAccess *self = user_data;
  g_autofree char *session = psc_auth_cookie_value (soup_message_headers_get_one (
          soup_server_message_get_request_headers (msg), "Cookie"), PSC_ACCESS_COOKIE);

  if (session != NULL)
    psc_auth_session_end (self->auth, session);
  set_cookie (msg, "", TRUE);
  redirect (msg, "/login");
}

/* ---- The object ---- */

PscAccess *
psc_access_new (SoupServer *soup)
{
  PscAccess *self;

  g_return_val_if_fail (SOUP_IS_SERVER (soup), NULL);

  if (psc_access_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_access_debug, "psc-access", 0, "periscope accounts at the "
        "HTTP edge");

  self = g_new0 (PscAccess, 1);
  self->soup = soup;
  self->auth = psc_auth_new ();
  self->cancellable = g_cancellable_new ();
  self->checking_addresses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_signal_connect (soup, "request-read", G_CALLBACK (on_request_read), self);
  soup_server_add_handler (soup, "/login", on_login, self, NULL);
  soup_server_add_handler (soup, "/logout", on_logout, self, NULL);
  return self;
}

void
psc_access_free (PscAccess *self)
{
  if (self == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self->cancellable);
  g_hash_table_unref (self->checking_addresses);
  g_signal_handlers_disconnect_by_data (self->soup, self);
  soup_server_remove_handler (self->soup, "/login");
  soup_server_remove_handler (self->soup, "/logout");
  psc_auth_free (self->auth);
  g_free (self);
}

void
psc_access_set_auth (PscAccess *self, PscAuth *auth)
{
  g_return_if_fail (self != NULL && auth != NULL);

  psc_auth_free (self->auth);
  self->auth = auth;
}

PscAuth *
psc_access_get_auth (PscAccess *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->auth;
}

guint64
psc_access_get_refused (PscAccess *self, PscAccessRefusal reason)
{
  g_return_val_if_fail (self != NULL && reason < PSC_ACCESS_REFUSED_COUNT, 0);

  return self->refused[reason];
}

guint
psc_access_get_password_checks (PscAccess *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->checking;
}

void
psc_access_render_metrics (PscAccess *self, GString *out)
{
  g_return_if_fail (self != NULL && out != NULL);

  g_string_append (out, "# HELP periscope_auth_refused_total Requests refused by the "
      "accounts, by reason: no credentials (missing), a session ended or expired (session), "
      "a wrong password (password) or token (token), an Authorization scheme not taken "
      "(scheme), a role below the route's (role), too many failed logins (throttled).\n"
      "# TYPE periscope_auth_refused_total counter\n");
  for (guint i = 0; i < PSC_ACCESS_REFUSED_COUNT; i++)
    g_string_append_printf (out, "periscope_auth_refused_total{reason=\"%s\"} %"
        G_GUINT64_FORMAT "\n", reason_labels[i], self->refused[i]);
}
