/* periscope — credentials taken out of text that is shown or logged
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/**
 * SECTION:psc-redact
 * @title: psc-redact
 * @short_description: credentials taken out of text that is shown or logged
 *
 * A source description is the operator's, and may carry the camera's password
 * (`rtspsrc location=rtsp://admin:secret@10.0.0.7/stream`, `user-pw=secret`); it is shown in
 * the API, in log lines, in errors and on the slate, which are read by people and programs
 * that must not learn it. psc_redact_credentials() is the one filter all of them use. Pure,
 * any thread.
 */

G_BEGIN_DECLS

/**
 * PSC_REDACTED:
 *
 * What a secret is replaced with.
 */
#define PSC_REDACTED "***"

/**
 * psc_redact_credentials:
 * @text: (nullable): a gst-launch description, a URL, an error message…
 *
 * Replaces with #PSC_REDACTED:
 * - the password of a URL's user info, `scheme://user:password@host` (RFC 3986 §3.2.1, which
 *   deprecates it for this reason); the user name stays, to tell which account is used;
 * - the value of a `name=value` pair whose name ends in `pw`, `pwd`, `pass`, `passwd`,
 *   `password`, `passphrase`, `secret`, `token` or `credential`, case-insensitive: a
 *   property (`user-pw=…`, `proxy-pw="…"`: the quotes stay), or a query parameter
 *   (`?passphrase=…&`).
 *
 * Idempotent: redacted text is left as it is.
 *
 * Returns: (transfer full) (nullable): @text without its credentials; %NULL for %NULL.
 */
char *  psc_redact_credentials (const char *text);

G_END_DECLS
