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
    /* Escapes JSON has not, which json-glib 1.6's GScanner takes: octal made a string that is
     * not UTF-8, which did not survive being written out and read again (fuzz-protocol;
     * corpus/protocol/octal-escape). */
    { "{\"type\":\"answer\",\"answer\":{\"sdp\":\"\\222v=0\"}}", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"type\":\"answer\",\"answer\":{\"sdp\":\"\\x41\"}}", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"type\":\"answer\",\"answer\":{\"sdp\":\"v=0\\", PSC_PROTOCOL_ERROR_INVALID_JSON },
    /* \u escapes that are not a whole code point: a lone surrogate is not UTF-8, and GScanner
     * ends a malformed one elsewhere than JSON does (hiding a second value from the check)
     * or leaks the string it was building (fuzz-protocol; corpus/protocol/bad-unicode-escape). */
    { "{\"type\":\"answer\",\"answer\":{\"sdp\":\"\\ud800v=0\"}}",
      PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"type\":\"answer\",\"answer\":{\"sdp\":\"\\udc00v=0\"}}",
      PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"a\":\"\\u1\",\"}{}\"}", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"a\":\"\\ud800\",\"}{}\"}", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"a\":\"\\ud800\\u0041x\"}", PSC_PROTOCOL_ERROR_INVALID_JSON },
    { "{\"tu\\ud80u\\ud8080\"}", PSC_PROTOCOL_ERROR_INVALID_JSON },
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

static void
test_chat (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) sent = parse ("{\"type\":\"chat\",\"text\":\"  hello \\n\","
      "\"target_peer_id\":\"77d0e4c2\"}", &error);
  g_autoptr (PscMessage) out = psc_message_new (PSC_MESSAGE_CHAT);
  g_autoptr (PscMessage) back = NULL;
  g_autofree char *json = NULL;

  g_assert_no_error (error);
  /* Trimmed; the target kept. */
  g_assert_cmpstr (sent->text, ==, "hello");
  g_assert_cmpstr (sent->target_peer_id, ==, "77d0e4c2");
  g_assert_cmpint (sent->chat_id, ==, 0);
  g_clear_pointer (&sent, psc_message_free);

  /* JSON's escapes, a surrogate pair among them, pass the check before the parser. */
  sent = parse ("{\"type\":\"chat\",\"text\":\"\\u00e9\\ud83d\\ude00\\t\\/\\\"\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sent->text, ==, "\xc3\xa9\xf0\x9f\x98\x80\t/\"");

  /* The server's: a stored one has a number for its id. */
  out->chat_id = 123;
  out->room = g_strdup ("r1");
  out->text = g_strdup ("héllo \"you\"");
  out->from_peer_id = g_strdup ("3f9c2a1b");
  out->name = g_strdup ("Alice");
  out->time = psc_protocol_format_time (G_GINT64_CONSTANT (1796034031123456));
  json = psc_message_to_json (out);
  g_assert_nonnull (strstr (json, "\"id\":123"));
  g_assert_nonnull (strstr (json, "\"time\":\"2026-11-30T10:20:31.123Z\""));
  g_assert_null (strstr (json, "private"));
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->chat_id, ==, 123);
  g_assert_false (back->is_private);
  g_assert_cmpstr (back->text, ==, out->text);
  g_assert_cmpstr (back->name, ==, "Alice");
  g_assert_cmpstr (back->room, ==, "r1");
  g_assert_cmpstr (back->from_peer_id, ==, "3f9c2a1b");
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&back, psc_message_free);

  /* A private one: "p-N", and "private": true. */
  out->is_private = TRUE;
  out->chat_id = 7;
  out->target_peer_id = g_strdup ("77d0e4c2");
  json = psc_message_to_json (out);
  g_assert_nonnull (strstr (json, "\"id\":\"p-7\""));
  g_assert_nonnull (strstr (json, "\"private\":true"));
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_true (back->is_private);
  g_assert_cmpint (back->chat_id, ==, 7);
  g_assert_cmpstr (back->target_peer_id, ==, "77d0e4c2");
}

static void
test_chat_text (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *big = g_strnfill (PSC_PROTOCOL_MAX_CHAT_TEXT + 1, 'x');
  g_autofree char *edge = g_strnfill (PSC_PROTOCOL_MAX_CHAT_TEXT, 'x');
  g_autofree char *padded = g_strdup_printf ("  %s  ", edge);
  g_autofree char *ok = psc_protocol_check_chat_text (padded, -1, &error);
  g_autofree char *json = g_strdup_printf ("{\"type\":\"chat\",\"text\":\"%s\"}", big);
  const char with_nul[] = "a\0b";
  PscMessage *m;

  /* The limit counts what is left once trimmed. */
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (ok), ==, PSC_PROTOCOL_MAX_CHAT_TEXT);
  g_assert_null (psc_protocol_check_chat_text (big, -1, &error));
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_TOO_LARGE);
  g_clear_error (&error);
  m = parse (json, &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_TOO_LARGE);
  g_clear_error (&error);
  g_assert_null (psc_protocol_check_chat_text (" \t\n ", -1, &error));
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  g_assert_null (psc_protocol_check_chat_text (with_nul, sizeof with_nul - 1, &error));
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  g_assert_null (psc_protocol_check_chat_text ("\xff\xfe", -1, &error));
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  m = parse ("{\"type\":\"chat\"}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_MISSING_FIELD);
  g_clear_error (&error);
  m = parse ("{\"type\":\"chat\",\"text\":5}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  m = parse ("{\"type\":\"chat\",\"text\":\"x\",\"id\":\"q-1\"}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
}

static void
test_names (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *alice = psc_protocol_check_name ("  Alice Müller ", &error);
  g_autofree char *longest = g_strnfill (PSC_PROTOCOL_MAX_NAME_LENGTH, 'a');
  g_autofree char *too_long = g_strnfill (PSC_PROTOCOL_MAX_NAME_LENGTH + 1, 'a');
  g_autofree char *kept = NULL;
  /* 64 characters of two bytes each: characters count, not bytes. */
  g_autoptr (GString) wide = g_string_new (NULL);
  const char *bad[] = { "", "   ", "a\nb", "\x1b[31mred", "a\x7f", "\xc3", too_long };

  g_assert_no_error (error);
  g_assert_cmpstr (alice, ==, "Alice Müller");
  kept = psc_protocol_check_name (longest, &error);
  g_assert_no_error (error);
  g_clear_pointer (&kept, g_free);
  for (guint i = 0; i < PSC_PROTOCOL_MAX_NAME_LENGTH; i++)
    g_string_append (wide, "é");
  kept = psc_protocol_check_name (wide->str, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_null (psc_protocol_check_name (bad[i], &error));
    g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
    g_clear_error (&error);
  }
}

static void
test_presence (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) welcome = psc_message_new (PSC_MESSAGE_EXISTING_PEERS);
  g_autoptr (PscMessage) joined = psc_message_new (PSC_MESSAGE_PEER_JOINED);
  g_autoptr (PscMessage) back = NULL;
  g_autofree char *json = NULL;
  const char *peers[] = { "camera", "b1", NULL };
  const char *names[] = { "camera", "Bob", NULL };
  const char *kinds[] = { "camera", "browser", NULL };

  welcome->peer_id = g_strdup ("a1");
  welcome->room = g_strdup ("r1");
  welcome->name = g_strdup ("Alice");
  welcome->peers = g_strdupv ((char **) peers);
  welcome->peer_names = g_strdupv ((char **) names);
  welcome->peer_kinds = g_strdupv ((char **) kinds);
  json = psc_message_to_json (welcome);
  /* Old clients keep their list of ids. */
  g_assert_nonnull (strstr (json, "\"peers\":[\"camera\",\"b1\"]"));
  g_assert_nonnull (strstr (json, "\"peer_info\":[{\"peer_id\":\"camera\",\"name\":\"camera\","
          "\"kind\":\"camera\"},{\"peer_id\":\"b1\",\"name\":\"Bob\",\"kind\":\"browser\"}]"));
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->name, ==, "Alice");
  g_assert_cmpstrv (back->peer_names, names);
  g_assert_cmpstrv (back->peer_kinds, kinds);
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&back, psc_message_free);

  joined->peer_id = g_strdup ("b2");
  joined->name = g_strdup ("Carol");
  joined->kind = g_strdup ("browser");
  json = psc_message_to_json (joined);
  g_assert_cmpstr (json, ==, "{\"type\":\"peer_joined\",\"peer_id\":\"b2\",\"name\":\"Carol\","
      "\"kind\":\"browser\"}");
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->name, ==, "Carol");
  g_assert_cmpstr (back->kind, ==, "browser");
}

static void
test_room_messages (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) history = psc_message_new (PSC_MESSAGE_CHAT_HISTORY);
  g_autoptr (PscMessage) viewers = psc_message_new (PSC_MESSAGE_VIEWERS);
  g_autoptr (PscMessage) closed = psc_message_new (PSC_MESSAGE_ROOM_CLOSED);
  g_autoptr (PscMessage) back = NULL;
  g_autofree char *json = NULL;
  PscMessage *chat;
  PscMessage *m;

  history->chats = g_ptr_array_new_with_free_func ((GDestroyNotify) psc_message_free);
  for (guint i = 1; i <= 2; i++) {
    chat = psc_message_new (PSC_MESSAGE_CHAT);
    chat->chat_id = i;
    chat->text = g_strdup_printf ("message %u", i);
    chat->from_peer_id = g_strdup ("a1");
    g_ptr_array_add (history->chats, chat);
  }
  json = psc_message_to_json (history);
  g_assert_cmpstr (json, ==, "{\"type\":\"chat_history\",\"messages\":["
      "{\"type\":\"chat\",\"from_peer_id\":\"a1\",\"id\":1,\"text\":\"message 1\"},"
      "{\"type\":\"chat\",\"from_peer_id\":\"a1\",\"id\":2,\"text\":\"message 2\"}]}");
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->chats->len, ==, 2);
  chat = g_ptr_array_index (back->chats, 1);
  g_assert_cmpint (chat->chat_id, ==, 2);
  g_assert_cmpstr (chat->from_peer_id, ==, "a1");
  g_assert_cmpstr (chat->text, ==, "message 2");
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&back, psc_message_free);

  viewers->count = 3;
  json = psc_message_to_json (viewers);
  g_assert_cmpstr (json, ==, "{\"type\":\"viewers\",\"count\":3}");
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->count, ==, 3);
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&back, psc_message_free);

  closed->room = g_strdup ("r1");
  closed->reason = g_strdup ("the room was deleted");
  json = psc_message_to_json (closed);
  g_assert_cmpstr (json, ==, "{\"type\":\"room_closed\",\"room\":\"r1\","
      "\"reason\":\"the room was deleted\"}");
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->reason, ==, "the room was deleted");
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&back, psc_message_free);

  /* A peer asks the camera for a new session: its target only. */
  back = parse ("{\"type\":\"request_offer\",\"target_peer_id\":\"camera\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->type, ==, PSC_MESSAGE_REQUEST_OFFER);
  g_assert_cmpstr (back->target_peer_id, ==, "camera");
  json = psc_message_to_json (back);
  g_assert_cmpstr (json, ==, "{\"type\":\"request_offer\",\"target_peer_id\":\"camera\"}");
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&back, psc_message_free);

  /* A browser's microphone and camera: both required, booleans. */
  back = parse ("{\"type\":\"peer_state\",\"audio\":false,\"video\":true}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->type, ==, PSC_MESSAGE_PEER_STATE);
  g_assert_false (back->audio);
  g_assert_true (back->video);
  back->from_peer_id = g_strdup ("a1");
  json = psc_message_to_json (back);
  g_assert_cmpstr (json, ==, "{\"type\":\"peer_state\",\"from_peer_id\":\"a1\",\"audio\":false,"
      "\"video\":true}");
  m = parse ("{\"type\":\"peer_state\",\"video\":true}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_MISSING_FIELD);
  g_clear_error (&error);
  m = parse ("{\"type\":\"peer_state\",\"audio\":\"off\",\"video\":true}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_assert_nonnull (strstr (error->message, "peer_state.audio"));
  g_clear_error (&error);

  /* What a peer must not send the client's parser through. */
  m = parse ("{\"type\":\"viewers\",\"count\":-1}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  m = parse ("{\"type\":\"chat_history\",\"messages\":[{\"text\":\"\"}]}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  m = parse ("{\"type\":\"room_closed\"}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_MISSING_FIELD);
  g_clear_error (&error);
  m = parse ("{\"type\":\"existing_peers\",\"peers\":[],\"peer_info\":[1]}", &error);
  g_assert_null (m);
  g_assert_error (error, PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_INVALID_FIELD);
  g_clear_error (&error);
  g_assert_cmpstr (psc_protocol_error_to_string (PSC_PROTOCOL_ERROR_UNKNOWN_ROOM), ==,
      "unknown_room");
  g_assert_cmpstr (psc_protocol_error_to_string (PSC_PROTOCOL_ERROR_CHAT_UNAVAILABLE), ==,
      "chat_unavailable");
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
  g_test_add_func ("/protocol/chat", test_chat);
  g_test_add_func ("/protocol/chat-text", test_chat_text);
  g_test_add_func ("/protocol/names", test_names);
  g_test_add_func ("/protocol/presence", test_presence);
  g_test_add_func ("/protocol/room-messages", test_room_messages);
  return g_test_run ();
}
