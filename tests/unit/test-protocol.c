/* periscope unit tests: the signalling protocol, valid and every kind of bad input
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include "psc-protocol.h"

#define SET_ICE_SERVERS(message, text) ((message)->ice_servers = json_from_string (text, NULL))

static PscMessage *
parse (const char *text, GError **error)
{
  return psc_message_parse (text, strlen (text), error);
}

static void
test_parse_answer (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) m = parse ("{\"type\":\"answer\",\"target_peer_id\":\"camera\","
      "\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"},\"extra\":[1,2]}", &error);

  g_assert_no_error (error);
  g_assert_cmpint (m->type, ==, PSC_MESSAGE_ANSWER);
  g_assert_cmpstr (m->target_peer_id, ==, "camera");
  g_assert_cmpstr (m->sdp, ==, "v=0\r\n");
}

static void
test_parse_candidate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) m = parse ("{\"type\":\"ice_candidate\",\"candidate\":"
      "{\"candidate\":\"a=candidate:1 1 udp 2122 127.0.0.1 5000 typ host\","
      "\"sdpMLineIndex\":0,\"sdpMid\":\"video0\"}}", &error);
  g_autoptr (PscMessage) end = NULL;
  g_autoptr (PscMessage) empty = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (m->candidate, ==, "candidate:1 1 udp 2122 127.0.0.1 5000 typ host");
  g_assert_cmpuint (m->sdp_mline_index, ==, 0);
  g_assert_cmpstr (m->sdp_mid, ==, "video0");

  /* End-of-candidates, both ways browsers say it. */
  end = parse ("{\"type\":\"ice_candidate\",\"candidate\":null}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (end->candidate, ==, "");
  empty = parse ("{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":\"\","
      "\"sdpMLineIndex\":0}}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (empty->candidate, ==, "");
}

typedef struct {
  const char *input;
  PscProtocolError code;
} BadCase;

static void
test_parse_bad (void)
{
  static const BadCase cases[] = {
    { "", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "not json", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"type\":\"answer\"", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "\"just a string\"", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "[{\"type\":\"answer\"}]", PSC_PROTOCOL_ERROR_INVALID_JSON },
    /* Two values: json-glib 1.6 leaked the first (fuzz-protocol; corpus/protocol/leak-*). */
    { "{}{}", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"type\":\"hello\"} {\"type\":\"hello\"}", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"type\":\"hello\"} 1", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{}", PSC_PROTOCOL_ERROR_MISSING_FIELD },
    { "{\"type\":null}", PSC_PROTOCOL_ERROR_MISSING_FIELD },
    { "{\"type\":7}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"hello\"}", PSC_PROTOCOL_ERROR_UNKNOWN_TYPE },
    { "{\"type\":\"ANSWER\"}", PSC_PROTOCOL_ERROR_UNKNOWN_TYPE },
    { "{\"type\":\"answer\"}", PSC_PROTOCOL_ERROR_MISSING_FIELD },
    { "{\"type\":\"answer\",\"answer\":\"v=0\"}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"answer\",\"answer\":{}}", PSC_PROTOCOL_ERROR_MISSING_FIELD },
    { "{\"type\":\"answer\",\"answer\":{\"sdp\":\"\"}}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"answer\",\"answer\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}",
      PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"answer\",\"answer\":{\"sdp\":[\"v=0\"]}}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"offer\",\"offer\":{\"sdp\":\"v=0\"},\"ice_servers\":{}}",
      PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"ice_candidate\"}", PSC_PROTOCOL_ERROR_MISSING_FIELD },
    { "{\"type\":\"ice_candidate\",\"candidate\":\"candidate:1\"}",
      PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":\"hello\",\"sdpMLineIndex\":0}}",
      PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":\"candidate:1\"}}",
      PSC_PROTOCOL_ERROR_MISSING_FIELD },
    { "{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":\"candidate:1\","
      "\"sdpMLineIndex\":-1}}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":\"candidate:1\","
      "\"sdpMLineIndex\":1.5}}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"ice_candidate\",\"candidate\":{\"candidate\":\"candidate:1\","
      "\"sdpMLineIndex\":99999}}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"answer\",\"target_peer_id\":\"../etc\",\"answer\":{\"sdp\":\"v=0\"}}",
      PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"answer\",\"target_peer_id\":\"\",\"answer\":{\"sdp\":\"v=0\"}}",
      PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"answer\",\"target_peer_id\":5,\"answer\":{\"sdp\":\"v=0\"}}",
      PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"peer_joined\"}", PSC_PROTOCOL_ERROR_MISSING_FIELD },
    { "{\"type\":\"existing_peers\",\"peers\":[1]}", PSC_PROTOCOL_ERROR_INVALID_FIELD },
    { "{\"type\":\"error\"}", PSC_PROTOCOL_ERROR_MISSING_FIELD },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (PscMessage) m = parse (cases[i].input, &error);

    g_test_message ("%s -> %s", cases[i].input, error ? error->message : "(accepted)");
    g_assert_null (m);
    g_assert_error (error, PSC_PROTOCOL_ERROR, (gint) cases[i].code);
    g_assert_cmpuint (strlen (error->message), >, 5);
  }
}

static void
test_parse_too_large (void)
{
  g_autoptr (GError) error = NULL;
  gsize size = PSC_PROTOCOL_MAX_MESSAGE_SIZE + 1;
  g_autofree char *big = g_malloc (size);
  g_autoptr (PscMessage) m = NULL;

  memset (big, ' ', size);
  m = psc_message_parse (big, size, &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_TOO_LARGE);
}

static void
test_parse_not_nul_terminated (void)
{
  g_autoptr (GError) error = NULL;
  const char text[] = "{\"type\":\"peer_left\",\"peer_id\":\"abc\"}GARBAGE";
  g_autoptr (PscMessage) m = psc_message_parse (text, strlen (text) - 7, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (m->peer_id, ==, "abc");
}

/* Every message the server builds parses back to the same fields. */
static void
test_round_trip (void)
{
  g_autoptr (PscMessage) offer = psc_message_new (PSC_MESSAGE_OFFER);
  g_autoptr (PscMessage) candidate = psc_message_new (PSC_MESSAGE_ICE_CANDIDATE);
  g_autoptr (PscMessage) welcome = psc_message_new (PSC_MESSAGE_EXISTING_PEERS);
  g_autoptr (PscMessage) error = psc_message_new_error (PSC_PROTOCOL_ERROR_BAD_SDP, "bad \"sdp\"");
  const char *peers[] = { "camera", "x", NULL };
  PscMessage *all[] = { offer, candidate, welcome, error };

  offer->from_peer_id = g_strdup ("camera");
  offer->target_peer_id = g_strdup ("v1");
  offer->sdp = g_strdup ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n");
  SET_ICE_SERVERS (offer, "[{\"urls\":\"stun:127.0.0.1:3478\"}]");
  candidate->candidate = g_strdup ("candidate:1 1 UDP 1 127.0.0.1 9 typ host");
  candidate->sdp_mline_index = 0;
  welcome->peer_id = g_strdup ("v1");
  welcome->room = g_strdup ("camera");
  welcome->peers = g_strdupv ((GStrv) peers);

  for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
    g_autoptr (GError) parse_error = NULL;
    g_autofree char *json = psc_message_to_json (all[i]);
    g_autoptr (PscMessage) back = parse (json, &parse_error);

    g_test_message ("%s", json);
    g_assert_no_error (parse_error);
    g_assert_cmpint (back->type, ==, all[i]->type);
    g_assert_cmpstr (back->from_peer_id, ==, all[i]->from_peer_id);
    g_assert_cmpstr (back->target_peer_id, ==, all[i]->target_peer_id);
    g_assert_cmpstr (back->sdp, ==, all[i]->sdp);
    g_assert_cmpstr (back->candidate, ==, all[i]->candidate);
    g_assert_cmpstr (back->peer_id, ==, all[i]->peer_id);
    g_assert_cmpstr (back->room, ==, all[i]->room);
    g_assert_cmpstr (back->error_code, ==, all[i]->error_code);
    g_assert_cmpstr (back->error_message, ==, all[i]->error_message);
    if (all[i]->peers != NULL)
      g_assert_true (g_strv_equal ((const char *const *) back->peers,
              (const char *const *) all[i]->peers));
    if (all[i]->ice_servers != NULL)
      g_assert_true (json_node_equal (back->ice_servers, all[i]->ice_servers));
    else
      g_assert_null (back->ice_servers);
  }
  g_assert_cmpstr (error->error_code, ==, "bad_sdp");
}

/* The bytes on the wire for messages carrying ice_servers: what browsers and the
 * documentation (docs/protocol.md) have. */
static void
test_ice_servers_wire (void)
{
  static const char *servers = "[{\"urls\":\"stun:127.0.0.1:3478\"},"
      "{\"urls\":\"turn:[::1]:3478?transport=tcp\",\"username\":\"p\\u00e9ri\\\"scope\","
      "\"credential\":\"s3cr\\\\et\"}]";
  g_autoptr (PscMessage) offer = psc_message_new (PSC_MESSAGE_OFFER);
  g_autoptr (PscMessage) welcome = psc_message_new (PSC_MESSAGE_EXISTING_PEERS);
  g_autoptr (PscMessage) empty = psc_message_new (PSC_MESSAGE_EXISTING_PEERS);
  g_autoptr (PscMessage) none = psc_message_new (PSC_MESSAGE_OFFER);
  const char *peers[] = { "camera", NULL };
  g_autofree char *offer_json = NULL, *welcome_json = NULL, *empty_json = NULL;
  g_autofree char *none_json = NULL;

  offer->from_peer_id = g_strdup ("camera");
  offer->target_peer_id = g_strdup ("v1");
  offer->sdp = g_strdup ("v=0\r\n");
  SET_ICE_SERVERS (offer, servers);
  welcome->peer_id = g_strdup ("v1");
  welcome->room = g_strdup ("camera");
  welcome->peers = g_strdupv ((GStrv) peers);
  SET_ICE_SERVERS (welcome, servers);
  empty->peers = g_strdupv ((GStrv) peers);
  SET_ICE_SERVERS (empty, "[]");
  none->sdp = g_strdup ("v=0\r\n");

  offer_json = psc_message_to_json (offer);
  welcome_json = psc_message_to_json (welcome);
  empty_json = psc_message_to_json (empty);
  none_json = psc_message_to_json (none);
  g_assert_cmpstr (offer_json, ==, "{\"type\":\"offer\",\"from_peer_id\":\"camera\","
      "\"target_peer_id\":\"v1\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"},"
      "\"ice_servers\":[{\"urls\":\"stun:127.0.0.1:3478\"},"
      "{\"urls\":\"turn:[::1]:3478?transport=tcp\",\"username\":\"p\u00e9ri\\\"scope\","
      "\"credential\":\"s3cr\\\\et\"}]}");
  g_assert_cmpstr (welcome_json, ==, "{\"type\":\"existing_peers\",\"peer_id\":\"v1\","
      "\"room\":\"camera\",\"peers\":[\"camera\"],"
      "\"ice_servers\":[{\"urls\":\"stun:127.0.0.1:3478\"},"
      "{\"urls\":\"turn:[::1]:3478?transport=tcp\",\"username\":\"p\u00e9ri\\\"scope\","
      "\"credential\":\"s3cr\\\\et\"}]}");
  g_assert_cmpstr (empty_json, ==,
      "{\"type\":\"existing_peers\",\"peers\":[\"camera\"],\"ice_servers\":[]}");
  g_assert_cmpstr (none_json, ==,
      "{\"type\":\"offer\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}");
}

static void
test_ids (void)
{
  g_autofree char *long_id = g_strnfill (PSC_PROTOCOL_MAX_ID_LENGTH + 1, 'a');

  g_assert_true (psc_protocol_id_is_valid ("camera"));
  g_assert_true (psc_protocol_id_is_valid ("a.b-c_D9"));
  g_assert_false (psc_protocol_id_is_valid (""));
  g_assert_false (psc_protocol_id_is_valid (NULL));
  g_assert_false (psc_protocol_id_is_valid ("a/b"));
  g_assert_false (psc_protocol_id_is_valid ("a b"));
  g_assert_false (psc_protocol_id_is_valid ("caméra"));
  g_assert_false (psc_protocol_id_is_valid (long_id));
  long_id[PSC_PROTOCOL_MAX_ID_LENGTH] = '\0';
  g_assert_true (psc_protocol_id_is_valid (long_id));
}

/* The server's stream_state: what the page shows in its status line. */
static void
test_stream_state (void)
{
  g_autoptr (PscMessage) offline = psc_message_new (PSC_MESSAGE_STREAM_STATE);
  g_autoptr (PscMessage) parsed = NULL;
  g_autoptr (PscMessage) live = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  offline->state = g_strdup ("offline");
  offline->reason = g_strdup ("the source ended");
  json = psc_message_to_json (offline);
  g_assert_cmpstr (json, ==,
      "{\"type\":\"stream_state\",\"state\":\"offline\",\"reason\":\"the source ended\"}");
  parsed = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpint (parsed->type, ==, PSC_MESSAGE_STREAM_STATE);
  g_assert_cmpstr (parsed->state, ==, "offline");
  g_assert_cmpstr (parsed->reason, ==, "the source ended");

  live = parse ("{\"type\":\"stream_state\",\"state\":\"live\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (live->state, ==, "live");
  g_assert_null (live->reason);

  g_assert_null (parse ("{\"type\":\"stream_state\"}", &error));
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_MISSING_FIELD);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/protocol/parse/answer", test_parse_answer);
  g_test_add_func ("/protocol/parse/candidate", test_parse_candidate);
  g_test_add_func ("/protocol/parse/bad-input", test_parse_bad);
  g_test_add_func ("/protocol/parse/too-large", test_parse_too_large);
  g_test_add_func ("/protocol/parse/not-nul-terminated", test_parse_not_nul_terminated);
  g_test_add_func ("/protocol/round-trip", test_round_trip);
  g_test_add_func ("/protocol/ice-servers-wire", test_ice_servers_wire);
  g_test_add_func ("/protocol/ids", test_ids);
  g_test_add_func ("/protocol/stream-state", test_stream_state);
  return g_test_run ();
}
