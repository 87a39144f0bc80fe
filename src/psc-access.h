/* periscope — the accounts applied at the HTTP edge: credentials, refusals, /login, /logout
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include "psc-auth.h"

/**
 * SECTION:psc-access
 * @title: psc-access
 * @short_description: the accounts applied at the HTTP edge: credentials, refusals, /login, /logout
 *
 * #PscAccess checks every request of a #SoupServer once it is read, before its route, against
 * #PscAuth: the credentials it carries (`Authorization: Bearer` (RFC 6750), `Basic` on
 * /metrics (RFC 7617), or the session cookie), the role its path needs
 * (psc_auth_role_for_path()), and the failed-login throttle. A request that may not go on
 * is answered here, with a one-line reason; one that may carries its role
 * (psc_auth_get_role()). It also serves the login page (`GET /login`), logs in (`POST
 * /login`: a session cookie) and out (`/logout`). Main context only; the login form's
 * password is checked on a worker thread (#PscAuthPasswordCheck), the request paused
 * meanwhile, so that the crypt() does not hold up every other request. (`Basic` on
 * /metrics, a scraper's, is still checked in place.)
 */

G_BEGIN_DECLS

/**
 * PSC_ACCESS_COOKIE:
 *
 * The session cookie's name.
 */
#define PSC_ACCESS_COOKIE "periscope_session"

/**
 * PSC_ACCESS_MAX_PASSWORD_CHECKS:
 *
 * Login forms whose password is being checked at once, one per address (another from it
 * meanwhile: `429`); past it, a login is answered `503` with `Retry-After: 1`. Each check takes a core and, for yescrypt at the highest cost the
 * users file may have, 64 MiB (psc_auth_add_users()).
 */
#define PSC_ACCESS_MAX_PASSWORD_CHECKS 4

/**
 * PscAccessRefusal:
 * @PSC_ACCESS_REFUSED_MISSING: no credentials (401; the page itself: 303 to /login)
 * @PSC_ACCESS_REFUSED_SESSION: a session cookie of a session that ended or expired (401)
 * @PSC_ACCESS_REFUSED_PASSWORD: a wrong user name or password, at /login or in Basic (401)
 * @PSC_ACCESS_REFUSED_TOKEN: a bearer token that is not one (401, `invalid_token`)
 * @PSC_ACCESS_REFUSED_SCHEME: an `Authorization` scheme not taken there (401)
 * @PSC_ACCESS_REFUSED_ROLE: valid credentials of a role below what the route needs (403)
 * @PSC_ACCESS_REFUSED_THROTTLED: too many failed logins from the address (429)
 * @PSC_ACCESS_REFUSED_COUNT: the number of reasons
 *
 * Why a request was refused: `periscope_auth_refused_total{reason}` in /metrics.
 */
typedef enum {
  PSC_ACCESS_REFUSED_MISSING,
  PSC_ACCESS_REFUSED_SESSION,
  PSC_ACCESS_REFUSED_PASSWORD,
  PSC_ACCESS_REFUSED_TOKEN,
  PSC_ACCESS_REFUSED_SCHEME,
  PSC_ACCESS_REFUSED_ROLE,
  PSC_ACCESS_REFUSED_THROTTLED,
  PSC_ACCESS_REFUSED_COUNT
} PscAccessRefusal;

/**
 * PscAccess:
 *
 * The access check of one #SoupServer (psc_access_new()); an opaque struct.
 */
typedef struct _PscAccess PscAccess;

/**
 * psc_access_new:
 * @soup: the server (not referenced: free the #PscAccess first)
 *
 * Connects to @soup's `request-read` (call it after the origin policy's handler: a request
 * already answered is left alone) and adds the `/login` and `/logout` handlers. Until
 * psc_access_set_auth() gives it users or tokens, every request goes on, with no role.
 *
 * Returns: (transfer full): the access check; free with psc_access_free().
 */
PscAccess * psc_access_new (SoupServer *soup);

/**
 * psc_access_free:
 * @access: (nullable) (transfer full): the access check
 *
 * Disconnects from the server and frees @access with its #PscAuth (sessions included).
 */
void        psc_access_free (PscAccess *access);

/**
 * psc_access_set_auth:
 * @access: the access check
 * @auth: (transfer full): the accounts (users, tokens)
 *
 * Replaces the accounts, ending every session of the old ones.
 */
void        psc_access_set_auth (PscAccess *access, PscAuth *auth);

/**
 * psc_access_get_auth:
 * @access: the access check
 *
 * For tests, which move its clock.
 *
 * Returns: (transfer none): the accounts.
 */
PscAuth *   psc_access_get_auth (PscAccess *access);

/**
 * psc_access_parse_login_form:
 * @body: (array length=length): the body of `POST /login` from the network,
 *   `application/x-www-form-urlencoded` as the login page's form sends it; a NUL byte ends it
 * @length: its length in bytes
 * @user: (out) (transfer full): the `user` field, percent-decoded
 * @password: (out) (transfer full): the `password` field, percent-decoded; the caller
 *   clears it with explicit_bzero() before freeing it
 *
 * Reads the login form with soup_form_decode() (a pair that is not valid percent-encoding
 * is skipped, as if it were not sent; the last of a repeated field counts). The copy it
 * decodes is cleared before it returns.
 *
 * Returns: %TRUE if both fields were sent (either may be empty); %FALSE, leaving @user and
 *   @password untouched, if one is missing.
 */
gboolean    psc_access_parse_login_form (const char *body, gsize length, char **user,
    char **password);

/**
 * psc_access_get_refused:
 * @access: the access check
 * @reason: a reason
 *
 * For tests; /metrics has it as `periscope_auth_refused_total`.
 *
 * Returns: the requests refused for @reason since the start.
 */
guint64     psc_access_get_refused (PscAccess *access, PscAccessRefusal reason);

/**
 * psc_access_get_password_checks:
 * @access: the access check
 *
 * How many login forms wait for their password to be checked.
 *
 * Returns: the login forms whose password is being checked now, on worker threads (at most
 *   #PSC_ACCESS_MAX_PASSWORD_CHECKS).
 */
guint       psc_access_get_password_checks (PscAccess *access);

/**
 * psc_access_render_metrics:
 * @access: the access check
 * @out: Prometheus text exposition to append to
 *
 * Appends `periscope_auth_refused_total{reason="…"}`, a counter for each reason of
 * #PscAccessRefusal (missing, session, password, token, scheme, role, throttled).
 */
void        psc_access_render_metrics (PscAccess *access, GString *out);

G_END_DECLS
