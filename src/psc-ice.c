/* periscope — ICE: the addresses to gather on, STUN/TURN servers, a webrtcbin's ICE agent
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-ice.h"

#include <agent.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

void
psc_ice_server_free (PscIceServer *server)
{
  if (server == NULL)
    return;
  g_free (server->webrtcbin_uri);
  g_free (server->browser_url);
  g_free (server->username);
  g_free (server->credential);
  g_free (server);
}

/* Ta, the pacing of connectivity checks (psc_ice_configure()). */
#define ICE_PACING_MS 5

void
psc_ice_options_copy (const PscIceOptions *src, PscIceOptions *dest)
{
  g_return_if_fail (src != NULL && dest != NULL);

  dest->addresses = g_strdupv (src->addresses);
  dest->servers = src->servers ? g_ptr_array_ref (src->servers) : NULL;
}

void
psc_ice_options_clear (PscIceOptions *options)
{
  g_clear_pointer (&options->addresses, g_strfreev);
  g_clear_pointer (&options->servers, g_ptr_array_unref);
}

void
psc_ice_configure (GstElement *webrtc, const PscIceOptions *options)
{
  g_autoptr (GObject) ice = NULL;
  g_autoptr (GObject) agent = NULL;
  gboolean have_stun = FALSE;

  g_return_if_fail (GST_IS_ELEMENT (webrtc) && options != NULL);

  for (guint i = 0; options->servers != NULL && i < options->servers->len; i++) {
    PscIceServer *server = g_ptr_array_index (options->servers, i);
    gboolean added = FALSE;

    if (server->turn) {
      g_signal_emit_by_name (webrtc, "add-turn-server", server->webrtcbin_uri, &added);
      if (!added)
        g_warning ("webrtcbin refused TURN server %s", server->browser_url);
    } else if (!have_stun) {
      g_object_set (webrtc, "stun-server", server->webrtcbin_uri, NULL);
      have_stun = TRUE;
    }
  }

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice == NULL || g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent") == NULL) {
    g_warning ("webrtcbin's ICE agent is not libnice: cannot turn UPnP off");
    return;
  }
  g_object_get (ice, "agent", &agent, NULL);
  g_object_set (agent, "upnp", FALSE, "stun-pacing-timer", ICE_PACING_MS, NULL);
  for (guint i = 0; options->addresses != NULL && options->addresses[i] != NULL; i++) {
    NiceAddress address;
    nice_address_init (&address);
    if (nice_address_set_from_string (&address, options->addresses[i]))
      nice_agent_add_local_address (NICE_AGENT (agent), &address);
  }
}

static PscIceServer *
invalid (GError **error, const char *url, const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
      "\"%s\" is not a STUN/TURN server URL: %s (e.g. stun://stun.example.org:3478 or "
      "turn://user:password@turn.example.org:3478)", url, why);
  return NULL;
}

PscIceServer *
psc_ice_server_parse (const char *url, GError **error)
{
  g_autoptr (PscIceServer) server = g_new0 (PscIceServer, 1);
  g_autoptr (GUri) uri = NULL;
  g_autofree char *normalized = NULL;
  const char *scheme, *host, *query;
  gboolean secure;
  int port;

  g_return_val_if_fail (url != NULL, NULL);

  /* Browsers write "stun:host:port"; GUri wants an authority, "stun://host:port". */
  if ((g_str_has_prefix (url, "stun:") || g_str_has_prefix (url, "turn:") ||
          g_str_has_prefix (url, "turns:")) && strstr (url, "://") == NULL) {
    const char *colon = strchr (url, ':');
    normalized = g_strdup_printf ("%.*s://%s", (int) (colon - url), url, colon + 1);
  } else {
    normalized = g_strdup (url);
  }
  uri = g_uri_parse (normalized, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL)
    return invalid (error, url, "it does not parse");

  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  query = g_uri_get_query (uri);
  if (g_strcmp0 (scheme, "stun") != 0 && g_strcmp0 (scheme, "turn") != 0 &&
      g_strcmp0 (scheme, "turns") != 0)
    return invalid (error, url, "the scheme must be stun, turn or turns");
  if (host == NULL || host[0] == '\0')
    return invalid (error, url, "there is no host");
  if (query != NULL && !g_str_equal (query, "transport=udp") && !g_str_equal (query,
          "transport=tcp"))
    return invalid (error, url, "the only query allowed is ?transport=udp or tcp");

  server->turn = !g_str_equal (scheme, "stun");
  secure = g_str_equal (scheme, "turns");
  port = g_uri_get_port (uri);
  if (port <= 0)
    port = secure ? 5349 : 3478;

  if (server->turn) {
    const char *user = g_uri_get_user (uri);
    const char *password = g_uri_get_password (uri);
    if (user == NULL || password == NULL)
      return invalid (error, url, "a TURN server needs user:password@");
    server->username = g_uri_unescape_string (user, NULL);
    server->credential = g_uri_unescape_string (password, NULL);
    if (server->username == NULL || server->credential == NULL)
      return invalid (error, url, "the user or password is badly escaped");
    /* webrtcbin takes the credentials in the URI, still escaped. */
    server->webrtcbin_uri = g_strdup_printf ("%s://%s:%s@%s:%d", scheme, user, password, host,
        port);
  } else {
    if (g_uri_get_user (uri) != NULL)
      return invalid (error, url, "a STUN server takes no credentials");
    server->webrtcbin_uri = g_strdup_printf ("stun://%s:%d", host, port);
  }
  server->browser_url = g_strdup_printf ("%s:%s%s%s:%d%s%s", scheme,
      strchr (host, ':') ? "[" : "", host, strchr (host, ':') ? "]" : "", port,
      query ? "?" : "", query ? query : "");
  return g_steal_pointer (&server);
}

JsonNode *
psc_ice_servers_to_json_node (GPtrArray *servers)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();

  json_builder_begin_array (builder);
  for (guint i = 0; servers != NULL && i < servers->len; i++) {
    PscIceServer *server = g_ptr_array_index (servers, i);
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "urls");
    json_builder_add_string_value (builder, server->browser_url);
    if (server->turn) {
      json_builder_set_member_name (builder, "username");
      json_builder_add_string_value (builder, server->username);
      json_builder_set_member_name (builder, "credential");
      json_builder_add_string_value (builder, server->credential);
    }
    json_builder_end_object (builder);
  }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}
