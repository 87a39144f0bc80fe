/* periscope — accounts: users, roles, tokens, sessions and the failed-login throttle
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

/**
 * SECTION:psc-auth
 * @title: psc-auth
 * @short_description: accounts: users, roles, tokens, sessions and the failed-login throttle
 *
 * The access policy, with no I/O but reading its two files: who the users are (`--users`:
 * `name:HASH:role` lines, HASH made by libxcrypt's crypt(), yescrypt by default), which
 * bearer tokens there are (`--token-file`: `name:TOKEN:role`), which role each route needs,
 * the browser sessions (a random 128-bit id, 12 h of inactivity), and how many failed
 * logins an address may make (5 a minute). The clock is passed in (psc_auth_set_clock()) so
 * tests can move it. #PscAccess applies it to every HTTP request. Main context only.
 */

G_BEGIN_DECLS

/**
 * PSC_AUTH_ERROR:
 *
 * The error domain of the users and token files. Codes are #PscAuthError;
 * psc_exit_code_for_error() maps the domain to 64, as for any other option.
 */
#define PSC_AUTH_ERROR (psc_auth_error_quark ())

/**
 * psc_auth_error_quark:
 *
 * The quark behind #PSC_AUTH_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_auth_error_quark (void);

/**
 * PscAuthError:
 * @PSC_AUTH_ERROR_FILE: a users or token file cannot be read, or a line of it is wrong (the
 *   message names the file and the line)
 * @PSC_AUTH_ERROR_HASH: crypt() could not make a hash (no random bytes, an unknown method)
 *
 * The codes of #PSC_AUTH_ERROR.
 */
typedef enum {
  PSC_AUTH_ERROR_FILE,
  PSC_AUTH_ERROR_HASH,
} PscAuthError;

/**
 * PscAuthRole:
 * @PSC_AUTH_ROLE_NONE: nobody in particular: what the public routes need, and what a request
 *   without valid credentials has
 * @PSC_AUTH_ROLE_VIEWER: watch (the page, its WebSocket, WHEP) and chat (relay rooms)
 * @PSC_AUTH_ROLE_OPERATOR: a viewer, and the REST API (with viewers' addresses), snapshots
 *   and /metrics
 * @PSC_AUTH_ROLE_ADMIN: an operator, and what is to come (rooms, talk-back, reload); today
 *   the same routes as an operator
 *
 * Roles, in order: each may do what the ones below it may.
 */
typedef enum {
  PSC_AUTH_ROLE_NONE,
  PSC_AUTH_ROLE_VIEWER,
  PSC_AUTH_ROLE_OPERATOR,
  PSC_AUTH_ROLE_ADMIN,
} PscAuthRole;

/**
 * PSC_AUTH_SESSION_IDLE_US:
 *
 * How long a browser session lives without a request, in microseconds (12 h): each request
 * moves its end (sliding expiry), so a page left open all day stays logged in.
 */
#define PSC_AUTH_SESSION_IDLE_US (G_GINT64_CONSTANT (12) * 3600 * G_USEC_PER_SEC)

/**
 * PSC_AUTH_MAX_FAILURES:
 *
 * Failed logins (a wrong password or token) one address may make in
 * #PSC_AUTH_FAILURE_WINDOW_US before it is answered 429 without being checked.
 */
#define PSC_AUTH_MAX_FAILURES 5

/**
 * PSC_AUTH_FAILURE_WINDOW_US:
 *
 * The window #PSC_AUTH_MAX_FAILURES is counted in, in microseconds (one minute, from an
 * address's first failure).
 */
#define PSC_AUTH_FAILURE_WINDOW_US (60 * G_USEC_PER_SEC)

/**
 * PscAuth:
 *
 * The accounts (psc_auth_new()): an opaque struct, main context only.
 */
typedef struct _PscAuth PscAuth;

/**
 * PscAuthClock:
 * @user_data: as given to psc_auth_set_clock()
 *
 * A monotonic clock.
 *
 * Returns: the time in microseconds.
 */
typedef gint64 (*PscAuthClock) (gpointer user_data);

/**
 * psc_auth_role_to_string:
 * @role: a role
 *
 * The name of @role.
 *
 * Returns: the role's name in files and messages: `none`, `viewer`, `operator`, `admin`.
 */
const char * psc_auth_role_to_string (PscAuthRole role);

/**
 * psc_auth_role_from_string:
 * @name: `viewer`, `operator` or `admin`
 * @role: (out): the role
 *
 * The role called @name.
 *
 * Returns: %TRUE if @name is a role a user or token can have.
 */
gboolean     psc_auth_role_from_string (const char *name, PscAuthRole *role);

/**
 * psc_auth_role_for_path:
 * @method: (nullable): the request's method ("GET", "POST"…)
 * @path: a request's path
 *
 * The one table of what each route needs (docs/security.md, "Roles"): `/healthz`,
 * `/login`, `/logout` and `/account.css` need nothing; `/api/rooms…` needs a viewer to read
 * (GET, HEAD), an operator to save chats (`PUT /api/rooms/{id}/chats`) and an admin for
 * anything else (making and deleting rooms); the rest of `/api/…` (snapshots included) and
 * `/metrics` need an operator; everything else (the page, `/ws…`, `/webrtc/…`, `/whep/…`
 * and paths that do not exist, so that a visitor learns nothing) needs a viewer.
 *
 * Returns: the least role that may use @path.
 */
PscAuthRole  psc_auth_role_for_path (const char *method, const char *path);

/**
 * psc_auth_new:
 *
 * Makes empty accounts, for psc_auth_add_users() and psc_auth_add_tokens().
 *
 * Returns: (transfer full): accounts with no user and no token (psc_auth_is_enabled() is
 *   %FALSE: every route is public), the monotonic clock; free with psc_auth_free().
 */
PscAuth *    psc_auth_new (void);

/**
 * psc_auth_free:
 * @auth: (nullable) (transfer full): the accounts
 *
 * Frees @auth, its users, tokens and sessions.
 */
void         psc_auth_free (PscAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscAuth, psc_auth_free)

/**
 * psc_auth_set_clock:
 * @auth: the accounts
 * @clock: the clock sessions and the throttle are measured with
 * @user_data: for @clock
 *
 * For tests, which move time instead of waiting (g_get_monotonic_time() by default).
 */
void         psc_auth_set_clock (PscAuth *auth, PscAuthClock clock, gpointer user_data);

/**
 * psc_auth_add_users:
 * @auth: the accounts
 * @text: the users file's contents: one `name:HASH:role` a line; empty lines and lines
 *   starting with `#` are skipped. name: 1 to 64 of `A-Z a-z 0-9 _ . @ -`; HASH: a whole
 *   crypt(3) hash of yescrypt `$y$` up to cost 7, bcrypt `$2b$` (`$2a$`, `$2y$`) up to cost
 *   13 or SHA-512 `$6$` up to 1,000,000 rounds (each login runs it; not
 *   DES or MD5, nor scrypt `$7$` or gost-yescrypt `$gy$`, whose cost is not read); role:
 *   `viewer`, `operator` or `admin`
 * @filename: what to call @text in errors
 * @error: a #PSC_AUTH_ERROR_FILE naming @filename, the line and what is wrong with it
 *
 * Adds the users of @text, all or none. No hash is run: the time taken does not depend on
 * the hashes' cost.
 *
 * Returns: %TRUE if every line is good and no name is given twice.
 */
gboolean     psc_auth_add_users (PscAuth *auth, const char *text, const char *filename,
    GError **error);

/**
 * psc_auth_add_tokens:
 * @auth: the accounts
 * @text: the token file's contents: one `name:TOKEN:role` a line (the name is what logs
 *   show instead of the token); empty lines and `#` lines skipped. TOKEN: 16 to 512
 *   characters of RFC 6750's b64token (`A-Z a-z 0-9 - . _ ~ + /`, then `=`s)
 * @filename: what to call @text in errors
 * @error: a #PSC_AUTH_ERROR_FILE naming @filename and the line
 *
 * Adds the bearer tokens of @text, all or none.
 *
 * Returns: %TRUE if every line is good and no token is given twice.
 */
gboolean     psc_auth_add_tokens (PscAuth *auth, const char *text, const char *filename,
    GError **error);

/**
 * psc_auth_load_file:
 * @auth: the accounts
 * @path: a users file (@tokens %FALSE) or a token file (@tokens %TRUE)
 * @tokens: which of the two @path is
 * @error: a #PSC_AUTH_ERROR_FILE
 *
 * Reads @path and adds what it holds (psc_auth_add_users(), psc_auth_add_tokens()).
 *
 * Returns: %TRUE on success.
 */
gboolean     psc_auth_load_file (PscAuth *auth, const char *path, gboolean tokens,
    GError **error);

/**
 * psc_auth_is_enabled:
 * @auth: the accounts
 *
 * Whether the accounts are in force.
 *
 * Returns: %TRUE if there is a user or a token: then only the public routes
 *   (psc_auth_role_for_path()) are open to everyone.
 */
gboolean     psc_auth_is_enabled (const PscAuth *auth);

/**
 * psc_auth_hash_password:
 * @password: the password, UTF-8
 * @error: a #PSC_AUTH_ERROR_HASH
 *
 * A new hash of @password for a users file: yescrypt (`$y$`) at libxcrypt's default cost,
 * a fresh salt from the system's random source (crypt_gensalt_rn()).
 *
 * Returns: (transfer full): the hash, or %NULL.
 */
char *       psc_auth_hash_password (const char *password, GError **error);

/**
 * psc_auth_verify_hash:
 * @hash: a crypt(3) hash
 * @password: a password
 *
 * crypt_rn() of @password with @hash as its setting, compared in constant time.
 *
 * Returns: %TRUE if @password is the one @hash was made from.
 */
gboolean     psc_auth_verify_hash (const char *hash, const char *password);

/**
 * psc_auth_check_password:
 * @auth: the accounts
 * @user: a user name
 * @password: a password
 * @name: (out) (optional) (transfer none): @user's name as the users file gives it, valid
 *   while @auth is; set only on success
 *
 * Checks @user's password, on this thread: a #PscAuthPasswordCheck made, run and finished.
 * An unknown user costs a crypt() as well, so that the time taken does not tell which names
 * exist.
 *
 * Returns: @user's role, or #PSC_AUTH_ROLE_NONE if @user is unknown or @password wrong.
 */
PscAuthRole  psc_auth_check_password (PscAuth *auth, const char *user, const char *password,
    const char **name);

/**
 * PscAuthPasswordCheck:
 *
 * psc_auth_check_password() taken apart, so that its crypt() — tens to hundreds of
 * milliseconds, and up to 64 MiB (yescrypt) — can run on a worker thread rather than the
 * main one, which serves every request: made on the thread that owns the #PscAuth (the user
 * looked up), run on any thread, finished anywhere. It holds copies: the #PscAuth may go
 * meanwhile.
 */
typedef struct _PscAuthPasswordCheck PscAuthPasswordCheck;

/**
 * psc_auth_password_check_new:
 * @auth: the accounts
 * @user: a user name
 * @password: a password (copied, and wiped when the check is freed)
 *
 * Looks @user up. An unknown user is checked against a constant hash at the default cost
 * (what psc_auth_hash_password() makes), so that the time taken does not tell which names
 * exist.
 *
 * Returns: (transfer full): the check, to run with psc_auth_password_check_run().
 */
PscAuthPasswordCheck *psc_auth_password_check_new (PscAuth *auth, const char *user,
    const char *password);

/**
 * psc_auth_password_check_run:
 * @check: a check
 *
 * Runs the crypt() (psc_auth_verify_hash()). Any thread; once.
 */
void         psc_auth_password_check_run (PscAuthPasswordCheck *check);

/**
 * psc_auth_password_check_finish:
 * @check: a check that has run
 * @name: (out) (optional) (transfer none): the user's name as the users file gives it, valid
 *   while @check is; set only on success
 *
 * What the check found.
 *
 * Returns: the user's role, or #PSC_AUTH_ROLE_NONE if the user is unknown or the password
 *   wrong.
 */
PscAuthRole  psc_auth_password_check_finish (PscAuthPasswordCheck *check, const char **name);

/**
 * psc_auth_password_check_free:
 * @check: (nullable): a check
 *
 * Frees @check, its copy of the password wiped first.
 */
void         psc_auth_password_check_free (PscAuthPasswordCheck *check);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscAuthPasswordCheck, psc_auth_password_check_free)

/**
 * psc_auth_check_token:
 * @auth: the accounts
 * @token: a bearer token (RFC 6750 §2.1)
 * @name: (out) (optional) (transfer none): the token's name, valid while @auth is
 *
 * Compares @token with each token in constant time.
 *
 * Returns: the token's role, or #PSC_AUTH_ROLE_NONE if it is not one.
 */
PscAuthRole  psc_auth_check_token (PscAuth *auth, const char *token, const char **name);

/**
 * psc_auth_session_new:
 * @auth: the accounts
 * @user: the user who logged in
 * @role: their role
 *
 * Opens a browser session; expired ones are dropped first.
 *
 * Returns: (transfer full): its id, 32 lower-case hex digits (128 bits from getrandom(2)),
 *   for the session cookie.
 */
char *       psc_auth_session_new (PscAuth *auth, const char *user, PscAuthRole role);

/**
 * psc_auth_session_lookup:
 * @auth: the accounts
 * @id: a session cookie's value
 * @user: (out) (optional) (transfer none): the session's user, valid until the session ends
 *
 * Finds a session and moves its end to #PSC_AUTH_SESSION_IDLE_US from now. A session
 * unused for that long is ended here.
 *
 * Returns: the session's role, or #PSC_AUTH_ROLE_NONE if there is no such session (ended,
 *   expired, or from before a restart: sessions live in memory).
 */
PscAuthRole  psc_auth_session_lookup (PscAuth *auth, const char *id, const char **user);

/**
 * psc_auth_session_end:
 * @auth: the accounts
 * @id: a session id
 *
 * Ends a session (/logout); an unknown id is ignored.
 */
void         psc_auth_session_end (PscAuth *auth, const char *id);

/**
 * psc_auth_throttle_check:
 * @auth: the accounts
 * @address: the client's IP address
 *
 * Whether @address may try a password or token now.
 *
 * Returns: 0 if it may, else the seconds until it may (at least 1), for `Retry-After`.
 */
guint        psc_auth_throttle_check (PscAuth *auth, const char *address);

/**
 * psc_auth_throttle_fail:
 * @auth: the accounts
 * @address: the client's IP address
 *
 * Counts a failed login of @address: a wrong password or token. After
 * #PSC_AUTH_MAX_FAILURES in #PSC_AUTH_FAILURE_WINDOW_US, psc_auth_throttle_check() refuses
 * it until the window ends. Addresses whose window has ended are forgotten.
 */
void         psc_auth_throttle_fail (PscAuth *auth, const char *address);

/**
 * psc_auth_cookie_value:
 * @header: (nullable): a request's `Cookie` header (`a=1; b=2`, RFC 6265 §4.2)
 * @name: a cookie's name
 *
 * Finds a cookie in a `Cookie` header.
 *
 * Returns: (transfer full) (nullable): the value of the first cookie called @name, or %NULL.
 */
char *       psc_auth_cookie_value (const char *header, const char *name);

/**
 * psc_auth_parse_basic:
 * @credentials: what follows `Basic ` in an `Authorization` header
 * @user: (out) (transfer full): the user id
 * @password: (out) (transfer full): the password
 *
 * Decodes Basic credentials (RFC 7617 §2): base64 of `user:password`, the user id up to the
 * first colon, UTF-8, no NUL.
 *
 * Returns: %TRUE if @credentials have that form.
 */
gboolean     psc_auth_parse_basic (const char *credentials, char **user, char **password);

/**
 * psc_auth_set_role:
 * @request: the request (a #SoupServerMessage)
 * @role: the role its credentials give
 *
 * Remembers on @request the role #PscAccess found, for the handlers that answer
 * differently by role (psc_auth_get_role()).
 */
void         psc_auth_set_role (GObject *request, PscAuthRole role);

/**
 * psc_auth_get_role:
 * @request: the request (a #SoupServerMessage)
 *
 * The role of @request's credentials, for psc-api's choice of what to show.
 *
 * Returns: the role psc_auth_set_role() gave @request; #PSC_AUTH_ROLE_NONE if none (without
 *   accounts, every request).
 */
PscAuthRole  psc_auth_get_role (GObject *request);

G_END_DECLS
