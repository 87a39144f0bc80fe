/* periscope — the same-origin policy: which web origins may open signalling or change state
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

/**
 * SECTION:psc-origin
 * @title: psc-origin
 * @short_description: the same-origin policy: which web origins may open signalling or change state
 *
 * A browser sends `Origin` with every WebSocket handshake and every cross-origin request
 * (RFC 6454 §7, the Fetch standard), and it is the only thing that tells a request made by
 * periscope's own page from one made by any other page the user has open: WebSockets are not
 * covered by the browser's same-origin policy at all. #PscOriginPolicy decides which origins
 * are trusted: the page's own (the scheme and `Host` the request came to), loopback origins,
 * and those listed with `--allow-origin`.
 *
 * It also decides which names the server answers to (the `Host` header): a page whose own
 * name the attacker points at the box's address after it has loaded (DNS rebinding) is, to
 * the browser, on its own origin, and `Origin` and `Host` both carry the attacker's name.
 * Only the box's names are taken: IP addresses, `localhost`, the names the daemon knows as
 * its own (host name, certificate) and those listed with `--allow-host` or in
 * `--allow-origin`. Pure: no I/O, any thread; #PscServer applies it.
 */

G_BEGIN_DECLS

/**
 * PscOriginVerdict:
 * @PSC_ORIGIN_NONE: no `Origin` header: not a browser's cross-origin request (curl, a WHEP
 *   player, a script); allowed
 * @PSC_ORIGIN_SAME: the page's own origin; allowed
 * @PSC_ORIGIN_LOOPBACK: an origin on `localhost`, 127.0.0.0/8 or `[::1]`, any port: a page
 *   served by software on the browser's own machine; allowed
 * @PSC_ORIGIN_LISTED: another origin, listed with `--allow-origin` (or `*` is listed); allowed
 * @PSC_ORIGIN_FOREIGN: another origin, not listed, or an opaque one (`null`) or one that is
 *   not an origin at all; refused
 *
 * What psc_origin_policy_check() found.
 */
typedef enum {
  PSC_ORIGIN_NONE,
  PSC_ORIGIN_SAME,
  PSC_ORIGIN_LOOPBACK,
  PSC_ORIGIN_LISTED,
  PSC_ORIGIN_FOREIGN,
} PscOriginVerdict;

/**
 * PscOriginPolicy:
 *
 * The trusted origins (psc_origin_policy_new()); an opaque struct, immutable once made.
 */
typedef struct _PscOriginPolicy PscOriginPolicy;

/**
 * psc_origin_normalize:
 * @origin: an origin as an `Origin` header or `--allow-origin` gives it:
 *   `scheme://host[:port]`, an `--allow-origin` may end in one `/`
 *
 * The ASCII serialization of @origin's tuple (RFC 6454 §6.2): scheme and host in lower
 * case, IPv6 hosts in brackets, the port left out when it is the scheme's default (80 for
 * http and ws, 443 for https and wss), so that two spellings of one origin compare equal.
 *
 * Returns: (transfer full) (nullable): the serialization, or %NULL when @origin is not a
 *   tuple origin: `null` (an opaque origin, RFC 6454 §7.3), user info, a path, a query or a
 *   fragment, no host, or not a URI.
 */
char *            psc_origin_normalize (const char *origin);

/**
 * psc_origin_is_loopback:
 * @normalized: an origin from psc_origin_normalize()
 *
 * Whether a page on @normalized can only be served from the browser's own machine.
 *
 * Returns: %TRUE if @normalized's host is `localhost` (or a name under `.localhost`, RFC 6761
 *   §6.3) or a loopback address (127.0.0.0/8, ::1).
 */
gboolean          psc_origin_is_loopback (const char *normalized);

/**
 * psc_origin_parse_host:
 * @value: (nullable): a `Host` header's value: `name`, `name:port`, `[v6]` or `[v6]:port`
 * @port: (out) (optional): the port, 0 without one
 *
 * The host of a `Host` header (RFC 9110 §7.2), if it is one a URL can carry as it is: a name
 * of letters, digits, `.`, `-` and `_` (an IPv4 address among them), or an IPv6 address in
 * brackets (returned without them; a zone, `%…`, is refused: browsers never send one), with
 * an optional port from 1 to 65535.
 *
 * Returns: (transfer full) (nullable): the host, as it was written, or %NULL.
 */
char *            psc_origin_parse_host (const char *value, guint *port);

/**
 * psc_origin_box_names:
 * @hostname: the box's host name (g_get_host_name())
 *
 * The names a browser on the LAN reaches a box with this host name by: the name itself and
 * its mDNS name, the first label with `.local` (Avahi announces the first label:
 * `cam.example.org` is `cam.local`); `localhost` has none.
 *
 * Returns: (transfer full): the names.
 */
GStrv             psc_origin_box_names (const char *hostname);

/**
 * psc_origin_is_host_name:
 * @entry: a name for psc_origin_policy_new()'s hosts
 *
 * Whether @entry is a host name: letters, digits, `-` and `_`, in labels separated by dots
 * (at most 253 characters), or `.` and such a name (that name and every name under it).
 * Upper case is taken (names compare in lower case); `*` is not a name.
 *
 * Returns: %TRUE if @entry is one.
 */
gboolean          psc_origin_is_host_name (const char *entry);

/**
 * psc_origin_policy_new:
 * @allowed: (nullable) (array zero-terminated=1): the `--allow-origin` entries: origins
 *   (psc_origin_normalize() must accept each one), or `*` for any origin
 * @hosts: (nullable) (array zero-terminated=1): the names the server answers to besides IP
 *   addresses, `localhost` and the hosts of @allowed: `cam.example.org` (any case, a final
 *   dot ignored), `.example.org` for that name and every name under it, or `*` for any name
 * @error: a #G_IO_ERROR_INVALID_ARGUMENT naming the first entry that is not an origin, or
 *   not a host name
 *
 * The trusted origins, normalized once (psc_origin_normalize()), and the server's names.
 *
 * Returns: (transfer full) (nullable): the policy, or %NULL if an entry is not an origin or
 *   a host name.
 */
PscOriginPolicy * psc_origin_policy_new (const char *const *allowed, const char *const *hosts,
    GError **error);

/**
 * psc_origin_policy_free:
 * @policy: (nullable): the policy
 *
 * Frees @policy.
 */
void              psc_origin_policy_free (PscOriginPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscOriginPolicy, psc_origin_policy_free)

/**
 * psc_origin_policy_check:
 * @policy: the policy
 * @origin: (nullable): the request's `Origin` header
 * @scheme: the scheme the request came over: `http`, or `https` under TLS
 * @host: (nullable): the request's `Host` header (`name[:port]`, `[v6]:port`)
 *
 * Decides whether a request carrying @origin is trusted. The page's own origin is
 * @scheme://@host: behind a reverse proxy that terminates TLS or rewrites `Host`, the origin
 * the browser saw is not the one periscope sees, and must be listed.
 *
 * Returns: the verdict; only #PSC_ORIGIN_FOREIGN is refused.
 */
PscOriginVerdict  psc_origin_policy_check (const PscOriginPolicy *policy, const char *origin,
    const char *scheme, const char *host);

/**
 * psc_origin_policy_host_is_trusted:
 * @policy: the policy
 * @host: (nullable): the request's `Host` header (`name[:port]`, `[v6]:port`)
 *
 * Whether the server answers a request made to @host: without a `Host` (HTTP/1.0: not a
 * browser's), to an IP address, to `localhost` or a name under it (RFC 6761 §6.3: browsers
 * resolve them to loopback whatever DNS says), or to one of @policy's names. Any other name
 * may be a DNS-rebinding attacker's, whose page the browser takes for the server's own.
 *
 * Returns: %TRUE if the request may be answered; %FALSE for another name, or a @host that is
 *   not `name[:port]`.
 */
gboolean          psc_origin_policy_host_is_trusted (const PscOriginPolicy *policy,
    const char *host);

G_END_DECLS
