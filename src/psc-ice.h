/* periscope — STUN/TURN servers: what the operator gives, for webrtcbin and for browsers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * PscIceServer:
 * @webrtcbin_uri: the form webrtcbin takes: `stun://host:port`, `turn(s)://user:pass@host:port`
 * @browser_url: the RFC 7064/7065 form browsers take: `stun:host:port`, `turn:host:port`
 * @username: (nullable): TURN user name (URL-decoded)
 * @credential: (nullable): TURN password (URL-decoded)
 * @turn: whether it is a TURN server
 */
typedef struct {
  char *webrtcbin_uri;
  char *browser_url;
  char *username;
  char *credential;
  gboolean turn;
} PscIceServer;

void psc_ice_server_free (PscIceServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscIceServer, psc_ice_server_free)

/**
 * psc_ice_server_parse:
 * @url: `stun://host[:port]`, `stun:host[:port]`, `turn://user:pass@host[:port]` or
 *   `turns://…` (the password may be URL-encoded; ?transport=udp|tcp is kept for browsers)
 * @error: a G_IO_ERROR_INVALID_ARGUMENT saying what is wrong
 *
 * Default ports: 3478 for stun and turn, 5349 for turns (RFC 7064 §3.1, RFC 7065 §3.1).
 *
 * Returns: (transfer full): the server, or %NULL on error.
 */
PscIceServer * psc_ice_server_parse (const char *url, GError **error);

/**
 * psc_ice_servers_to_json_node:
 * @servers: (nullable) (element-type PscIceServer): the servers
 *
 * Built once, and shared by every `offer` and `existing_peers` message that hands the
 * servers to a browser (json_node_ref(); see #PscMessage).
 *
 * Returns: (transfer full): an immutable JSON array of RTCIceServer objects (W3C webrtc-pc
 *   §4.2.4), `[{"urls":"turn:host:3478","username":"u","credential":"p"}, …]`, `[]` for none.
 */
JsonNode *     psc_ice_servers_to_json_node (GPtrArray *servers);

G_END_DECLS
