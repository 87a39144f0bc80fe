/* periscope — ICE: the addresses to gather on, STUN/TURN servers, a webrtcbin's ICE agent
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

/**
 * SECTION:psc-ice
 * @title: psc-ice
 * @short_description: ICE: the addresses to gather on, STUN/TURN servers, a webrtcbin's ICE agent
 *
 * Parses --stun-server/--turn-server URLs into the two forms needed (webrtcbin's URI and the
 * browser's RTCIceServer, RFC 7064/7065), and sets up each viewer's webrtcbin ICE agent: one
 * STUN and every TURN server, host candidates only on --ice-address, UPnP off, faster
 * connectivity checks. Parsing runs at start-up; psc_ice_configure() on the main thread, when a
 * viewer's branch is built.
 */

G_BEGIN_DECLS

/**
 * PscIceServer:
 * @webrtcbin_uri: the form webrtcbin takes: `stun://host:port`, `turn(s)://user:pass@host:port`
 * @browser_url: the RFC 7064/7065 form browsers take: `stun:host:port`, `turn:host:port`
 * @username: (nullable): TURN user name (URL-decoded)
 * @credential: (nullable): TURN password (URL-decoded)
 * @turn: whether it is a TURN server
 *
 * One STUN or TURN server, from psc_ice_server_parse(). Free with psc_ice_server_free().
 */
typedef struct {
  char *webrtcbin_uri;
  char *browser_url;
  char *username;
  char *credential;
  gboolean turn;
} PscIceServer;

/**
 * psc_ice_server_free:
 * @server: (nullable) (transfer full): a server, or %NULL
 *
 * Frees @server and its strings.
 */
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
 * servers to a browser (json_node_ref(); see #PscMessage). Called once, at start-up.
 *
 * Returns: (transfer full): an immutable JSON array of RTCIceServer objects (W3C webrtc-pc
 *   §4.2.4), `[{"urls":"turn:host:3478","username":"u","credential":"p"}, …]`, `[]` for none.
 */
JsonNode *     psc_ice_servers_to_json_node (GPtrArray *servers);

/**
 * PscIceOptions:
 * @addresses: (nullable) (array zero-terminated=1): if set, the only local addresses ICE
 *   gathers host candidates on (--ice-address)
 * @servers: (nullable) (element-type PscIceServer): STUN/TURN servers (--stun-server,
 *   --turn-server)
 *
 * How a viewer's ICE agent is set up. Owned by whoever holds it: psc_ice_options_copy(),
 * psc_ice_options_clear().
 */
typedef struct {
  GStrv addresses;
  GPtrArray *servers;
} PscIceOptions;

/**
 * psc_ice_options_copy:
 * @src: options to copy
 * @dest: (out caller-allocates): where to copy them (the addresses are duplicated, the
 *   servers array referenced: servers are never changed after start-up)
 *
 * Copies @src into @dest, which the caller clears with psc_ice_options_clear().
 */
void psc_ice_options_copy (const PscIceOptions *src, PscIceOptions *dest);

/**
 * psc_ice_options_clear:
 * @options: the options
 *
 * Frees what @options holds (not @options itself) and sets its fields to %NULL, so clearing
 * twice is safe.
 */
void psc_ice_options_clear (PscIceOptions *options);

/**
 * psc_ice_configure:
 * @webrtc: a `webrtcbin` not started yet
 * @options: the addresses and servers
 *
 * Sets up @webrtc's ICE:
 * - STUN/TURN: webrtcbin takes one STUN server (the first) and every TURN server;
 * - UPnP IGD off on its libnice agent (`ice-agent` → `agent` → `upnp`): libnice would
 *   otherwise multicast discovery on the LAN and may open ports on the user's router;
 * - connectivity checks paced at 5 ms (RFC 8445 §14.2's least Ta) instead of libnice's 20:
 *   webrtcbin's agent nominates only once every pair is checked, one step per tick, which
 *   at 20 ms took ~85 ms after the first working pair on loopback;
 * - with @options addresses, host candidates on those addresses only
 *   (nice_agent_add_local_address()).
 * A refused TURN server or an agent that is not libnice's is logged as a warning: the
 * viewer may still connect.
 */
void psc_ice_configure (GstElement *webrtc, const PscIceOptions *options);

G_END_DECLS
