/* periscope — the same-origin policy: which web origins may open signalling or change state
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-origin.h"

#include <gio/gio.h>
#include <string.h>

struct _PscOriginPolicy {
  GStrv allowed;                /* normalized */
  gboolean any;                 /* `*` was listed */
  GStrv hosts;                  /* names in lower case, without a final dot; ".suffix" */
  gboolean any_host;            /* `*` was given for the hosts */
};

static int
default_port (const char *scheme)
{
  if (g_str_equal (scheme, "http") || g_str_equal (scheme, "ws"))
    return 80;
  if (g_str_equal (scheme, "https") || g_str_equal (scheme, "wss"))
    return 443;
  return -1;
}

char *
psc_origin_normalize (const char *origin)
{
  g_autoptr (GUri) uri = NULL;
  g_autofree char *scheme = NULL;
  g_autofree char *host = NULL;
  const char *path;
  GString *out;
  int port;

  if (origin == NULL)
    return NULL;
  /* The whole serialization (RFC 6454 §6.2) and no more: GUri alone would accept a path,
   * and "null" (an opaque origin, §7.3) is a relative reference to it. */
  uri = g_uri_parse (origin, G_URI_FLAGS_NON_DNS, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0' ||
      g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL)
    return NULL;
  path = g_uri_get_path (uri);
  if (path[0] != '\0' && !g_str_equal (path, "/"))
    return NULL;
  if (strpbrk (g_uri_get_host (uri), "%/?#@ ") != NULL)
    return NULL;
  scheme = g_ascii_strdown (g_uri_get_scheme (uri), -1);
  host = g_ascii_strdown (g_uri_get_host (uri), -1);
  port = g_uri_get_port (uri);
  if (port == default_port (scheme))
    port = -1;
  out = g_string_new (scheme);
  g_string_append (out, "://");
  if (strchr (host, ':') != NULL)
    g_string_append_printf (out, "[%s]", host);
  else
    g_string_append (out, host);
  if (port > 0)
    g_string_append_printf (out, ":%d", port);
  return g_string_free (out, FALSE);
}

gboolean
psc_origin_is_loopback (const char *normalized)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GInetAddress) address = NULL;
  const char *host;

  g_return_val_if_fail (normalized != NULL, FALSE);

  uri = g_uri_parse (normalized, G_URI_FLAGS_NON_DNS, NULL);
  if (uri == NULL || (host = g_uri_get_host (uri)) == NULL)
    return FALSE;
  /* RFC 6761 §6.3: names under localhost. resolve to loopback; browsers do so themselves. */
  if (g_str_equal (host, "localhost") || g_str_has_suffix (host, ".localhost"))
    return TRUE;
  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

char *
psc_origin_parse_host (const char *value, guint *port)
{
  g_autofree char *host = NULL;
  const char *rest;
  guint64 number;

  if (port != NULL)
    *port = 0;
  if (value == NULL || *value == '\0')
    return NULL;
  if (value[0] == '[') {
    rest = strchr (value, ']');
    if (rest == NULL)
      return NULL;
    host = g_strndup (value + 1, rest - value - 1);
    if (strchr (host, '%') != NULL || strchr (host, ':') == NULL ||
        !g_hostname_is_ip_address (host))
      return NULL;
    rest++;
  } else {
    host = g_strndup (value, strcspn (value, ":"));
    for (const char *c = host; *c != '\0'; c++)
      if (!g_ascii_isalnum (*c) && *c != '.' && *c != '-' && *c != '_')
        return NULL;
    if (*host == '\0')
      return NULL;
    rest = value + strlen (host);
  }
  if (*rest != '\0') {
    if (*rest != ':' || !g_ascii_string_to_unsigned (rest + 1, 10, 1, G_MAXUINT16, &number,
            NULL))
      return NULL;
    if (port != NULL)
      *port = (guint) number;
  }
  return g_steal_pointer (&host);
}

/* The name in a `Host` header, as psc_origin_parse_host() reads it, in lower case and without
 * a final dot (`cam.local.` is `cam.local`), or NULL when @host is not one. */
static char *
host_name (const char *host)
{
  g_autofree char *parsed = psc_origin_parse_host (host, NULL);
  char *name;
  size_t length;

  if (parsed == NULL)
    return NULL;
  name = g_ascii_strdown (parsed, -1);
  length = strlen (name);
  if (length > 1 && name[length - 1] == '.')
    name[length - 1] = '\0';
  return name;
}

GStrv
psc_origin_box_names (const char *hostname)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (hostname != NULL, NULL);

  g_strv_builder_add (builder, hostname);
  if (!g_str_equal (hostname, "localhost") && hostname[0] != '.') {
    g_autofree char *label = g_strndup (hostname, strcspn (hostname, "."));
    g_autofree char *mdns = g_strconcat (label, ".local", NULL);

    if (!g_str_equal (mdns, hostname))
      g_strv_builder_add (builder, mdns);
  }
  return g_strv_builder_end (builder);
}

gboolean
psc_origin_is_host_name (const char *entry)
{
  const char *name = entry[0] == '.' ? entry + 1 : entry;
  size_t length = strlen (name);

  if (length == 0 || length > 253 || name[0] == '.' || name[length - 1] == '.' ||
      strstr (name, "..") != NULL)
    return FALSE;
  for (const char *c = name; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_' && *c != '.')
      return FALSE;
  return TRUE;
}

PscOriginPolicy *
psc_origin_policy_new (const char *const *allowed, const char *const *hosts, GError **error)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr (PscOriginPolicy) policy = g_new0 (PscOriginPolicy, 1);

  for (guint i = 0; hosts != NULL && hosts[i] != NULL; i++) {
    g_autofree char *entry = NULL;
    size_t length;

    if (g_str_equal (hosts[i], "*")) {
      policy->any_host = TRUE;
      continue;
    }
    entry = g_ascii_strdown (hosts[i], -1);
    length = strlen (entry);
    if (length > 1 && entry[length - 1] == '.')
      entry[length - 1] = '\0';
    if (!psc_origin_is_host_name (entry)) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "\"%s\" is not a host name: give a name (cam.example.org), a domain and the names "
          "under it (.example.org), or * for any", hosts[i]);
      return NULL;
    }
    g_strv_builder_add (names, entry);
  }

  for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++) {
    g_autofree char *normalized = NULL;

    if (g_str_equal (allowed[i], "*")) {
      policy->any = TRUE;
      continue;
    }
    normalized = psc_origin_normalize (allowed[i]);
    if (normalized == NULL) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "\"%s\" is not an origin: give scheme://host[:port] (e.g. https://cam.example.org), "
          "or * for any", allowed[i]);
      return NULL;
    }
    g_strv_builder_add (builder, normalized);
    /* A page on a listed origin is served by this box through a proxy that passes Host
     * (docs/security.md): its name is one of the box's. */
    {
      g_autoptr (GUri) uri = g_uri_parse (normalized, G_URI_FLAGS_NON_DNS, NULL);
      const char *name = uri != NULL ? g_uri_get_host (uri) : NULL;

      /* Addresses are answered anyway. */
      if (name != NULL && psc_origin_is_host_name (name))
        g_strv_builder_add (names, name);
    }
  }
  policy->allowed = g_strv_builder_end (builder);
  policy->hosts = g_strv_builder_end (names);
  return g_steal_pointer (&policy);
}

void
psc_origin_policy_free (PscOriginPolicy *policy)
{
  if (policy == NULL)
    return;
  g_strfreev (policy->allowed);
  g_strfreev (policy->hosts);
  g_free (policy);
}

PscOriginVerdict
psc_origin_policy_check (const PscOriginPolicy *policy, const char *origin,
    const char *scheme, const char *host)
{
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (policy != NULL && scheme != NULL, PSC_ORIGIN_FOREIGN);

  if (origin == NULL)
    return PSC_ORIGIN_NONE;
  normalized = psc_origin_normalize (origin);
  if (normalized == NULL)
    return PSC_ORIGIN_FOREIGN;
  if (host != NULL) {
    g_autofree char *own_spelled = g_strconcat (scheme, "://", host, NULL);
    g_autofree char *own = psc_origin_normalize (own_spelled);

    if (own != NULL && g_str_equal (own, normalized))
      return PSC_ORIGIN_SAME;
  }
  if (psc_origin_is_loopback (normalized))
    return PSC_ORIGIN_LOOPBACK;
  if (policy->any || g_strv_contains ((const char *const *) policy->allowed, normalized))
    return PSC_ORIGIN_LISTED;
  return PSC_ORIGIN_FOREIGN;
}

gboolean
psc_origin_policy_host_is_trusted (const PscOriginPolicy *policy, const char *host)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (policy != NULL, FALSE);

  if (host == NULL || policy->any_host)
    return TRUE;
  name = host_name (host);
  if (name == NULL)
    return FALSE;
  /* An address: DNS rebinding needs a name. Names under localhost: browsers resolve them to
   * loopback themselves (RFC 6761 §6.3), whatever DNS says. */
  if (g_hostname_is_ip_address (name) || g_str_equal (name, "localhost") ||
      g_str_has_suffix (name, ".localhost"))
    return TRUE;
  for (guint i = 0; policy->hosts[i] != NULL; i++) {
    const char *entry = policy->hosts[i];

    if (g_str_equal (name, entry))
      return TRUE;
    if (entry[0] == '.' && (g_str_equal (name, entry + 1) || g_str_has_suffix (name, entry)))
      return TRUE;
  }
  return FALSE;
}
