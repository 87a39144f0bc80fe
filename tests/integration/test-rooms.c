/* periscope integration tests: rooms made through the API, presence, chat and its history
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * The fixture's daemon parts with a PscRooms on a chat store in a temporary --data-dir, real
 * WebSocket clients and a webrtcbin viewer; "a restart" is the whole fixture torn down and
 * built again on the same directory.
 */
#include "psc-test-fixture.h"
#include "psc-history.h"
#include "psc-rooms.h"
#include "../psc-test-caps.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

/* A --data-dir of the test's own, and the rooms on its store. */
typedef struct {
  char *dir;
  char *path;
} DataDir;

static void
data_dir_init (DataDir *d)
{
  g_autoptr (GError) error = NULL;

  d->dir = g_dir_make_tmp ("psc-rooms-XXXXXX", &error);
  g_assert_no_error (error);
  d->path = g_build_filename (d->dir, PSC_HISTORY_FILE, NULL);
}

static void
data_dir_clear (DataDir *d)
{
  psc_test_remove_dir (d->dir);
  g_free (d->path);
  g_free (d->dir);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DataDir, data_dir_clear)

/* The daemon's rooms on @d's store, as psc-daemon sets them up (a store that cannot be
 * opened: rooms without one). */
static void
use_rooms (PscTestFixture *f, DataDir *d, gboolean open_rooms)
{
  g_autoptr (GError) error = NULL;
  PscHistory *history = psc_history_open (d->path, &error);
  g_autoptr (PscRooms) rooms = psc_rooms_new (history, open_rooms);

  if (history == NULL)
    g_test_message ("no store: %s", error->message);
  psc_signalling_set_rooms (f->signalling, rooms);
}

static char *
room_url (PscTestFixture *f, const char *room, const char *query)
{
  return g_strdup_printf ("ws://127.0.0.1:%u/ws/%s%s%s", psc_server_get_port (f->server), room,
      query ? "?" : "", query ? query : "");
}

/* POST /api/rooms; the new room's id. */
static char *
create_room (PscTestFixture *f, const char *body)
{
  g_autofree char *text = psc_test_expect_status (f, "POST", "/api/rooms", "application/json",
      body, NULL, NULL, SOUP_STATUS_CREATED, NULL, NULL);
  g_autoptr (JsonNode) root = text ? psc_test_parse_json (text) : NULL;

  if (root == NULL)
    return NULL;
  return g_strdup (json_object_get_string_member (json_node_get_object (root), "id"));
}

static void
send_chat (PscTestClient *client, const char *text, const char *target)
{
  g_autoptr (PscMessage) chat = psc_message_new (PSC_MESSAGE_CHAT);
  g_autofree char *json = NULL;

  chat->text = g_strdup (text);
  chat->target_peer_id = g_strdup (target);
  json = psc_message_to_json (chat);
  psc_test_client_send (client, json);
}

static gboolean
is_uuid_v4 (const char *id)
{
  return id != NULL && strlen (id) == 36 && g_uuid_string_is_valid (id) && id[14] == '4' &&
      strchr ("89ab", id[19]) != NULL &&
      strspn (id, "0123456789abcdef-") == 36;
}

static JsonObject *
find_room (JsonArray *rooms, const char *id)
{
  for (guint i = 0; i < json_array_get_length (rooms); i++) {
    JsonObject *room = json_array_get_object_element (rooms, i);
    if (g_strcmp0 (json_object_get_string_member (room, "id"), id) == 0)
      return room;
  }
  return NULL;
}

static void
test_rest (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *body = NULL;
  g_autofree char *location = NULL;
  g_autofree char *path = NULL;
  g_autofree char *chats_path = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (SoupMessageHeaders) headers = NULL;
  g_autofree char *long_title = NULL;
  g_autofree char *title = NULL;
  JsonObject *room;
  JsonArray *rooms;
  const char *bad[] = { "not json", "[1]", "{\"title\":5}", "{\"stream\":\"nope\"}",
    "{}{\"title\":\"two values\"}", "{\"title\":\"\\222 octal\"}",
    "{\"title\":\"\\ud800 lone surrogate\"}" };

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);

  /* POST: 201, Location, the room's shape. */
  body = psc_test_expect_status (f, "POST", "/api/rooms", "application/json",
      "{\"title\":\"Standup\",\"stream\":\"camera\"}", NULL, NULL, SOUP_STATUS_CREATED, NULL,
      &headers);
  g_assert_nonnull (body);
  root = psc_test_parse_json (body);
  room = json_node_get_object (root);
  id = g_strdup (json_object_get_string_member (room, "id"));
  g_assert_true (is_uuid_v4 (id));
  location = g_strconcat ("/api/rooms/", id, NULL);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Location"), ==, location);
  g_assert_cmpstr (json_object_get_string_member (room, "title"), ==, "Standup");
  g_assert_cmpstr (json_object_get_string_member (room, "kind"), ==, "call");
  g_assert_cmpstr (json_object_get_string_member (room, "stream"), ==, "camera");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (room, "created_at"), "Z"));
  path = g_strconcat ("/room/", id, NULL);
  g_assert_cmpstr (json_object_get_string_member (room, "page_url"), ==, path);
  g_clear_pointer (&path, g_free);
  path = g_strconcat ("/ws/", id, NULL);
  g_assert_cmpstr (json_object_get_string_member (room, "ws_url"), ==, path);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (room, "peers")), ==, 0);
  g_assert_cmpint (json_object_get_int_member (room, "peer_count"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (room, "chat_count"), ==, 0);
  g_clear_pointer (&body, g_free);
  g_clear_pointer (&root, json_node_unref);

  /* Bad bodies: 400 with a reason. */
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_free (psc_test_expect_status (f, "POST", "/api/rooms", "application/json", bad[i], NULL,
            NULL, SOUP_STATUS_BAD_REQUEST, "\"error\"", NULL));
  }
  title = g_strnfill (201, 't');
  long_title = g_strdup_printf ("{\"title\":\"%s\"}", title);
  g_free (psc_test_expect_status (f, "POST", "/api/rooms", "application/json", long_title,
          NULL, NULL, SOUP_STATUS_BAD_REQUEST, "200 characters", NULL));

  /* GET: the stream's room and the new one. */
  body = psc_test_expect_status (f, "GET", "/api/rooms", NULL, NULL, NULL, NULL, SOUP_STATUS_OK,
      NULL, NULL);
  root = psc_test_parse_json (body);
  rooms = json_object_get_array_member (json_node_get_object (root), "rooms");
  room = find_room (rooms, "camera");
  g_assert_nonnull (room);
  g_assert_cmpstr (json_object_get_string_member (room, "kind"), ==, "stream");
  g_assert_nonnull (find_room (rooms, id));
  g_clear_pointer (&body, g_free);
  g_clear_pointer (&root, json_node_unref);
  g_free (psc_test_expect_status (f, "GET", location, NULL, NULL, NULL, NULL, SOUP_STATUS_OK,
          "\"Standup\"", NULL));
  g_free (psc_test_expect_status (f, "GET", "/api/rooms/0d7f0e4e-4b4c-4d5a-9c1f-1e2d3c4b5a69",
          NULL, NULL, NULL, NULL, SOUP_STATUS_NOT_FOUND, "no room", NULL));
  /* The call page, for this room. */
  g_clear_pointer (&path, g_free);
  path = g_strconcat ("/room/", id, NULL);
  g_free (psc_test_expect_status (f, "GET", path, NULL, NULL, NULL, NULL, SOUP_STATUS_OK,
          "<html", NULL));

  /* Chats: a bulk save, then pages. */
  chats_path = g_strconcat (location, "/chats", NULL);
  g_free (psc_test_expect_status (f, "PUT", chats_path, "application/json",
          "{\"chats\":[{\"text\":\"one\",\"from_peer_id\":\"a1\",\"name\":\"Alice\","
          "\"time\":\"2026-11-30T10:20:31.123Z\"},{\"text\":\"two\"},{\"text\":\"three\"}]}",
          NULL, NULL, SOUP_STATUS_OK, "\"saved\" : 3", NULL));
  g_free (psc_test_expect_status (f, "PUT", chats_path, "application/json",
          "{\"chats\":[{\"text\":\"fine\"},{\"text\":\"\"}]}", NULL, NULL,
          SOUP_STATUS_BAD_REQUEST, "chats[1]", NULL));
  {
    g_autofree char *page = g_strconcat (chats_path, "?limit=2", NULL);
    g_autofree char *rest = NULL;
    JsonArray *chats;
    JsonObject *first;
    gint64 next;

    body = psc_test_expect_status (f, "GET", page, NULL, NULL, NULL, NULL, SOUP_STATUS_OK,
        NULL, NULL);
    root = psc_test_parse_json (body);
    chats = json_object_get_array_member (json_node_get_object (root), "chats");
    g_assert_cmpuint (json_array_get_length (chats), ==, 2);
    first = json_array_get_object_element (chats, 0);
    g_assert_cmpstr (json_object_get_string_member (first, "text"), ==, "one");
    g_assert_cmpstr (json_object_get_string_member (first, "from_peer_id"), ==, "a1");
    g_assert_cmpstr (json_object_get_string_member (first, "name"), ==, "Alice");
    g_assert_cmpstr (json_object_get_string_member (first, "time"), ==,
        "2026-11-30T10:20:31.123Z");
    next = json_object_get_int_member (json_node_get_object (root), "next_after");
    g_clear_pointer (&body, g_free);
    g_clear_pointer (&root, json_node_unref);
    rest = g_strdup_printf ("%s?after=%" G_GINT64_FORMAT "&limit=2", chats_path, next);
    body = psc_test_expect_status (f, "GET", rest, NULL, NULL, NULL, NULL, SOUP_STATUS_OK,
        "\"three\"", NULL);
    root = psc_test_parse_json (body);
    g_assert_true (json_object_get_null_member (json_node_get_object (root), "next_after"));
    g_clear_pointer (&body, g_free);
    g_clear_pointer (&root, json_node_unref);
  }
  g_free (psc_test_expect_status (f, "GET", "/api/rooms/camera/chats?limit=0", NULL, NULL,
          NULL, NULL, SOUP_STATUS_BAD_REQUEST, "limit", NULL));

  /* DELETE: a stream's room stays; a call goes, its history with it. */
  g_free (psc_test_expect_status (f, "DELETE", "/api/rooms/camera", NULL, NULL, NULL, NULL,
          SOUP_STATUS_METHOD_NOT_ALLOWED, NULL, NULL));
  g_free (psc_test_expect_status (f, "DELETE", location, NULL, NULL, NULL, NULL,
          SOUP_STATUS_NO_CONTENT, NULL, NULL));
  g_free (psc_test_expect_status (f, "GET", location, NULL, NULL, NULL, NULL,
          SOUP_STATUS_NOT_FOUND, NULL, NULL));
  g_free (psc_test_expect_status (f, "GET", chats_path, NULL, NULL, NULL, NULL,
          SOUP_STATUS_NOT_FOUND, NULL, NULL));
  g_assert_cmpuint (psc_history_count_chats (psc_rooms_get_history (
              psc_signalling_get_rooms (f->signalling)), id), ==, 0);
}

/* Without --open-rooms only rooms made through the API (and the streams') may be joined. */
static void
test_unknown_room (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autoptr (PscTestClient) stranger = NULL;
  g_autoptr (PscTestClient) opener = NULL;
  g_autoptr (PscMessage) error = NULL;
  g_autoptr (PscMessage) welcome = NULL;
  g_autofree char *url = room_url (f, "nope", NULL);
  gushort code = 0;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  PSC_TEST_CONNECT (stranger, url, FALSE);
  PSC_TEST_WAIT_MESSAGE (error, stranger, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (error->error_code, ==, "unknown_room");
  g_assert_nonnull (strstr (error->error_message, "POST /api/rooms"));
  PSC_TEST_WAIT_CLOSED (stranger, 10, &code);
  g_assert_cmpuint (code, ==, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  g_free (psc_test_expect_status (f, "GET", "/room/nope", NULL, NULL, NULL, NULL,
          SOUP_STATUS_NOT_FOUND, NULL, NULL));

  /* --open-rooms: made on join, listed as "open". */
  use_rooms (f, &d, TRUE);
  PSC_TEST_CONNECT (opener, url, FALSE);
  PSC_TEST_WAIT_MESSAGE (welcome, opener, PSC_MESSAGE_EXISTING_PEERS, 10);
  g_assert_cmpstr (welcome->room, ==, "nope");
  g_free (psc_test_expect_status (f, "GET", "/api/rooms/nope", NULL, NULL, NULL, NULL,
          SOUP_STATUS_OK, "\"open\"", NULL));
  g_free (psc_test_expect_status (f, "GET", "/room/nope", NULL, NULL, NULL, NULL,
          SOUP_STATUS_OK, NULL, NULL));
}

/* Each of 30 chats answered: its echo or an error. */
static gboolean
has_flood_answers (gpointer client)
{
  return psc_test_client_count_messages (client, PSC_MESSAGE_CHAT) +
      psc_test_client_count_messages (client, PSC_MESSAGE_ERROR) >= 30;
}

static void
test_presence_and_chat (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *url_a = NULL;
  g_autofree char *url_b = NULL;
  g_autofree char *url_c = NULL;
  g_autofree char *url_bad = NULL;
  g_autoptr (PscTestClient) alice = NULL;
  g_autoptr (PscTestClient) bob = NULL;
  g_autoptr (PscTestClient) carol = NULL;
  g_autoptr (PscTestClient) bad = NULL;
  g_autoptr (PscMessage) welcome = NULL;
  g_autoptr (PscMessage) joined = NULL;
  g_autoptr (PscMessage) refused = NULL;
  g_autofree char *big = g_strnfill (PSC_PROTOCOL_MAX_CHAT_TEXT + 1, 'x');
  gint64 last_id = 0;
  guint limited = 0;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  id = create_room (f, "{\"title\":\"Chat\"}");
  g_assert_nonnull (id);
  url_a = room_url (f, id, "name=Alice");
  url_b = room_url (f, id, "name=%20Bob%20");
  url_c = room_url (f, id, NULL);
  url_bad = room_url (f, id, "name=a%0Ab");

  PSC_TEST_CONNECT (alice, url_a, FALSE);
  PSC_TEST_WAIT_MESSAGE (welcome, alice, PSC_MESSAGE_EXISTING_PEERS, 10);
  g_assert_cmpstr (welcome->name, ==, "Alice");
  g_assert_cmpuint (g_strv_length (welcome->peers), ==, 0);
  g_clear_pointer (&welcome, psc_message_free);

  /* Names in presence: Bob learns Alice's, Alice Bob's (trimmed). */
  PSC_TEST_CONNECT (bob, url_b, FALSE);
  PSC_TEST_WAIT_MESSAGE (welcome, bob, PSC_MESSAGE_EXISTING_PEERS, 10);
  g_assert_cmpstr (welcome->name, ==, "Bob");
  g_assert_cmpuint (g_strv_length (welcome->peers), ==, 1);
  g_assert_cmpstr (welcome->peers[0], ==, psc_test_client_get_peer_id (alice));
  g_assert_cmpstr (welcome->peer_names[0], ==, "Alice");
  g_assert_cmpstr (welcome->peer_kinds[0], ==, "browser");
  PSC_TEST_WAIT_MESSAGE (joined, alice, PSC_MESSAGE_PEER_JOINED, 10);
  g_assert_cmpstr (joined->name, ==, "Bob");
  g_assert_cmpstr (joined->kind, ==, "browser");
  g_clear_pointer (&joined, psc_message_free);
  /* No name: the server's "Guest NNNN". */
  PSC_TEST_CONNECT (carol, url_c, FALSE);
  PSC_TEST_WAIT_MESSAGE (joined, alice, PSC_MESSAGE_PEER_JOINED, 10);
  g_assert_true (g_str_has_prefix (joined->name, "Guest "));
  g_clear_pointer (&joined, psc_message_free);
  /* A name with a line break is refused. */
  PSC_TEST_CONNECT (bad, url_bad, FALSE);
  PSC_TEST_WAIT_MESSAGE (refused, bad, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (refused->error_code, ==, "invalid_field");
  PSC_TEST_WAIT_CLOSED (bad, 10, NULL);

  /* Broadcast, in order, to everyone and back to the sender with id and time. */
  for (guint i = 0; i < 3; i++) {
    g_autofree char *text = g_strdup_printf ("hello %u", i);
    send_chat (alice, text, NULL);
  }
  for (guint i = 0; i < 3; i++) {
    g_autofree char *text = g_strdup_printf ("hello %u", i);
    PscTestClient *everyone[] = { alice, bob, carol };

    for (guint c = 0; c < G_N_ELEMENTS (everyone); c++) {
      g_autoptr (PscMessage) chat = NULL;
      PSC_TEST_WAIT_MESSAGE (chat, everyone[c], PSC_MESSAGE_CHAT, 10);
      g_assert_cmpstr (chat->text, ==, text);
      g_assert_cmpstr (chat->from_peer_id, ==, psc_test_client_get_peer_id (alice));
      g_assert_cmpstr (chat->name, ==, "Alice");
      g_assert_cmpstr (chat->room, ==, id);
      g_assert_true (g_str_has_suffix (chat->time, "Z"));
      g_assert_false (chat->is_private);
      if (c == 0) {
        g_assert_cmpint (chat->chat_id, >, last_id);
        last_id = chat->chat_id;
      }
    }
  }

  /* Private: to Bob and back to Alice, not to Carol, not stored. */
  send_chat (alice, "psst", psc_test_client_get_peer_id (bob));
  {
    g_autoptr (PscMessage) to_bob = NULL;
    g_autoptr (PscMessage) echo = NULL;
    g_autoptr (PscMessage) unknown = NULL;

    PSC_TEST_WAIT_MESSAGE (to_bob, bob, PSC_MESSAGE_CHAT, 10);
    g_assert_cmpstr (to_bob->text, ==, "psst");
    g_assert_true (to_bob->is_private);
    g_assert_cmpstr (to_bob->target_peer_id, ==, psc_test_client_get_peer_id (bob));
    PSC_TEST_WAIT_MESSAGE (echo, alice, PSC_MESSAGE_CHAT, 10);
    g_assert_true (echo->is_private);
    send_chat (alice, "to nobody", "nobody");
    PSC_TEST_WAIT_MESSAGE (unknown, alice, PSC_MESSAGE_ERROR, 10);
    g_assert_cmpstr (unknown->error_code, ==, "unknown_peer");
  }

  /* Oversize: refused, the socket stays. */
  send_chat (alice, big, NULL);
  {
    g_autoptr (PscMessage) too_large = NULL;
    PSC_TEST_WAIT_MESSAGE (too_large, alice, PSC_MESSAGE_ERROR, 10);
    g_assert_cmpstr (too_large->error_code, ==, "too_large");
  }

  /* A flood: over the burst, refused one by one with rate_limited; still open. The sends
   * are back to back, far faster than the 5 a second the budget refills. */
  for (guint i = 0; i < 30; i++)
    send_chat (bob, "flood", NULL);
  PSC_TEST_WAIT_UNTIL (has_flood_answers, bob, 20, "an answer to each of 30 chats");
  while (psc_test_client_count_messages (bob, PSC_MESSAGE_ERROR) > 0) {
    g_autoptr (PscMessage) error = NULL;
    PSC_TEST_WAIT_MESSAGE (error, bob, PSC_MESSAGE_ERROR, 10);
    g_assert_cmpstr (error->error_code, ==, "rate_limited");
    limited++;
  }
  /* At least the ten over the burst, less what refilled while they came. */
  g_assert_cmpuint (limited, >=, 1);
  g_assert_false (psc_test_client_is_closed (bob));
  g_assert_cmpuint (psc_history_count_chats (psc_rooms_get_history (
              psc_signalling_get_rooms (f->signalling)), id), ==, 3 + 30 - limited);

  /* Leaving: the others are told who, by name. */
  g_clear_pointer (&bob, psc_test_client_free);
  {
    g_autoptr (PscMessage) left = NULL;
    PSC_TEST_WAIT_MESSAGE (left, alice, PSC_MESSAGE_PEER_LEFT, 10);
    g_assert_cmpstr (left->name, ==, "Bob");
  }
}

/* The history survives a restart: the room, its title, its chats, sent on join. */
static void
test_history_restart (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *url = NULL;
  g_autofree char *location = NULL;
  g_autoptr (PscTestClient) alice = NULL;
  g_autoptr (PscTestClient) later = NULL;
  g_autoptr (PscMessage) history = NULL;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  id = create_room (f, "{\"title\":\"Kept\"}");
  g_assert_nonnull (id);
  url = room_url (f, id, "name=Alice");
  PSC_TEST_CONNECT (alice, url, FALSE);
  send_chat (alice, "first", NULL);
  send_chat (alice, "second", NULL);
  for (guint i = 0; i < 2; i++) {
    g_autoptr (PscMessage) chat = NULL;
    PSC_TEST_WAIT_MESSAGE (chat, alice, PSC_MESSAGE_CHAT, 10);
  }
  g_clear_pointer (&alice, psc_test_client_free);

  /* Stop everything, and start again on the same directory. */
  psc_test_fixture_teardown (f, data);
  psc_test_fixture_setup (f, data);
  use_rooms (f, &d, FALSE);

  location = g_strconcat ("/api/rooms/", id, NULL);
  g_free (psc_test_expect_status (f, "GET", location, NULL, NULL, NULL, NULL, SOUP_STATUS_OK,
          "\"Kept\"", NULL));
  g_free (url);
  url = room_url (f, id, "name=Later");
  PSC_TEST_CONNECT (later, url, FALSE);
  PSC_TEST_WAIT_MESSAGE (history, later, PSC_MESSAGE_CHAT_HISTORY, 10);
  g_assert_cmpuint (history->chats->len, ==, 2);
  g_assert_cmpstr (((PscMessage *) g_ptr_array_index (history->chats, 0))->text, ==, "first");
  g_assert_cmpstr (((PscMessage *) g_ptr_array_index (history->chats, 1))->text, ==, "second");
  g_assert_cmpstr (((PscMessage *) g_ptr_array_index (history->chats, 1))->name, ==, "Alice");
}

/* DELETE: every peer told room_closed, closed with 1000. */
static void
test_delete (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *url = NULL;
  g_autofree char *location = NULL;
  g_autoptr (PscTestClient) alice = NULL;
  g_autoptr (PscTestClient) bob = NULL;
  PscTestClient *both[2];

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  id = create_room (f, NULL);
  g_assert_nonnull (id);
  url = room_url (f, id, NULL);
  PSC_TEST_CONNECT (alice, url, FALSE);
  PSC_TEST_CONNECT (bob, url, FALSE);
  both[0] = alice;
  both[1] = bob;
  location = g_strconcat ("/api/rooms/", id, NULL);
  g_free (psc_test_expect_status (f, "GET", location, NULL, NULL, NULL, NULL, SOUP_STATUS_OK,
          "\"peer_count\" : 2", NULL));
  g_free (psc_test_expect_status (f, "DELETE", location, NULL, NULL, NULL, NULL,
          SOUP_STATUS_NO_CONTENT, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (both); i++) {
    g_autoptr (PscMessage) closed = NULL;
    gushort code = 0;

    PSC_TEST_WAIT_MESSAGE (closed, both[i], PSC_MESSAGE_ROOM_CLOSED, 10);
    g_assert_cmpstr (closed->room, ==, id);
    g_assert_nonnull (closed->reason);
    PSC_TEST_WAIT_CLOSED (both[i], 10, &code);
    g_assert_cmpuint (code, ==, SOUP_WEBSOCKET_CLOSE_NORMAL);
  }
  g_free (psc_test_expect_status (f, "GET", location, NULL, NULL, NULL, NULL,
          SOUP_STATUS_NOT_FOUND, NULL, NULL));
}

/* A call room with a stream: the camera is its first peer and offers to each browser, which
 * counts as a viewer of the camera. */
static void
test_camera_in_call (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *url = NULL;
  g_autoptr (PscTestClient) viewer = NULL;
  g_autoptr (PscMessage) welcome = NULL;
  g_autoptr (PscMessage) viewers = NULL;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  id = create_room (f, "{\"title\":\"With camera\",\"stream\":\"camera\"}");
  g_assert_nonnull (id);
  url = room_url (f, id, "name=Watcher");
  PSC_TEST_CONNECT (viewer, url, TRUE);
  PSC_TEST_WAIT_MESSAGE (welcome, viewer, PSC_MESSAGE_EXISTING_PEERS, 10);
  g_assert_cmpstr (welcome->peers[0], ==, "camera");
  g_assert_cmpstr (welcome->peer_kinds[0], ==, "camera");
  PSC_TEST_WAIT_FRAMES (viewer, 10, 20);
  /* Its viewer count: 0 at join, then its own session. */
  PSC_TEST_WAIT_MESSAGE (viewers, viewer, PSC_MESSAGE_VIEWERS, 10);
  while (viewers->count == 0) {
    g_clear_pointer (&viewers, psc_message_free);
    PSC_TEST_WAIT_MESSAGE (viewers, viewer, PSC_MESSAGE_VIEWERS, 10);
  }
  g_assert_cmpuint (viewers->count, ==, 1);

  /* The room's entry counts the camera's viewers, a WHEP player's session among them. */
  {
    g_autofree char *offer = psc_test_whep_offer (PSC_TEST_H264_OFFER_CAPS);
    g_autofree char *path = g_strconcat ("/api/rooms/", id, NULL);
    g_autofree char *answer = psc_test_expect_status (f, "POST", "/whep/camera",
        "application/sdp", offer, NULL, NULL, SOUP_STATUS_CREATED, NULL, NULL);
    g_autofree char *text = psc_test_expect_status (f, "GET", path, NULL, NULL, NULL, NULL,
        SOUP_STATUS_OK, NULL, NULL);
    g_autoptr (JsonNode) root = text ? psc_test_parse_json (text) : NULL;
    JsonObject *room;

    g_assert_nonnull (answer);
    g_assert_nonnull (root);
    room = json_node_get_object (root);
    g_assert_cmpint (json_object_get_int_member (room, "peer_count"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (room, "viewer_count"), ==, 2);
  }
}

static void
send_request_offer (PscTestClient *client, const char *target)
{
  g_autoptr (PscMessage) request = psc_message_new (PSC_MESSAGE_REQUEST_OFFER);
  g_autofree char *json = NULL;

  request->target_peer_id = g_strdup (target);
  json = psc_message_to_json (request);
  psc_test_client_send (client, json);
}

/* In a call, a peer whose session with the camera ended (here: it never answered) stays in
 * the call, is told which session ended (from_peer_id), and asks for a new one with
 * request_offer; the other browser in the call notices nothing. */
static void
test_request_offer (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *late_url = NULL;
  g_autofree char *other_url = NULL;
  g_autoptr (PscTestClient) late = NULL;
  g_autoptr (PscTestClient) other = NULL;
  g_autoptr (PscMessage) first = NULL;
  g_autoptr (PscMessage) timeout = NULL;
  g_autoptr (PscMessage) not_browser = NULL;
  g_autoptr (PscMessage) second = NULL;
  g_autoptr (PscMessage) too_soon = NULL;
  g_autoptr (PscMessage) relayed = NULL;
  g_autoptr (PscMessage) hello = psc_message_new (PSC_MESSAGE_ANSWER);
  g_autofree char *hello_json = NULL;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  id = create_room (f, "{\"title\":\"Retry\",\"stream\":\"camera\"}");
  g_assert_nonnull (id);
  other_url = room_url (f, id, "name=Other");
  late_url = room_url (f, id, "name=Late");
  PSC_TEST_CONNECT (other, other_url, TRUE);
  PSC_TEST_WAIT_FRAMES (other, 5, 20);
  PSC_TEST_CONNECT (late, late_url, FALSE);
  PSC_TEST_WAIT_MESSAGE (first, late, PSC_MESSAGE_OFFER, 10);

  /* No answer: the connect timeout ends that session, and says whose it was. */
  PSC_TEST_WAIT_MESSAGE (timeout, late, PSC_MESSAGE_ERROR, 20);
  g_assert_cmpstr (timeout->error_code, ==, "timeout");
  g_assert_cmpstr (timeout->from_peer_id, ==, "camera");
  g_assert_false (psc_test_client_is_closed (late));

  /* Only the camera takes request_offer. */
  send_request_offer (late, psc_test_client_get_peer_id (other));
  PSC_TEST_WAIT_MESSAGE (not_browser, late, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (not_browser->error_code, ==, "bad_state");

  /* A new session; a second request at once is refused, the socket stays. */
  send_request_offer (late, "camera");
  send_request_offer (late, NULL);
  PSC_TEST_WAIT_MESSAGE (second, late, PSC_MESSAGE_OFFER, 10);
  g_assert_cmpstr (second->from_peer_id, ==, "camera");
  PSC_TEST_WAIT_MESSAGE (too_soon, late, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (too_soon->error_code, ==, "rate_limited");
  g_assert_cmpstr (too_soon->from_peer_id, ==, "camera");
  psc_test_client_answer (late, second);
  PSC_TEST_WAIT_FRAMES (late, 10, 20);
  g_assert_false (psc_test_client_is_closed (late));

  /* The call between the browsers went on: a relayed message still arrives (an answer: the
   * test client would try to answer an offer). */
  hello->target_peer_id = g_strdup (psc_test_client_get_peer_id (other));
  hello->sdp = g_strdup ("v=0\r\n");
  hello_json = psc_message_to_json (hello);
  psc_test_client_send (late, hello_json);
  PSC_TEST_WAIT_MESSAGE (relayed, other, PSC_MESSAGE_ANSWER, 10);
  g_assert_cmpstr (relayed->from_peer_id, ==, psc_test_client_get_peer_id (late));
  PSC_TEST_WAIT_FRAMES (other, 10, 20);
}

static gboolean
has_ten_states (gpointer client)
{
  return psc_test_client_count_messages (client, PSC_MESSAGE_PEER_STATE) >= 10;
}

/* peer_state: a browser's microphone and camera, passed on to the room and kept for those
 * who join later; a malformed one is refused and passed on to nobody. */
static void
test_peer_state (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *id = NULL;
  g_autofree char *url_a = NULL;
  g_autofree char *url_b = NULL;
  g_autofree char *url_c = NULL;
  g_autoptr (PscTestClient) a = NULL;
  g_autoptr (PscTestClient) b = NULL;
  g_autoptr (PscTestClient) c = NULL;
  g_autoptr (PscMessage) welcome_b = NULL;
  g_autoptr (PscMessage) at_b = NULL;
  g_autoptr (PscMessage) at_c = NULL;
  g_autoptr (PscMessage) refused = NULL;
  g_autoptr (PscMessage) flooded = NULL;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  id = create_room (f, "{\"title\":\"Mute\"}");
  g_assert_nonnull (id);
  url_a = room_url (f, id, "name=Ann");
  url_b = room_url (f, id, "name=Ben");
  url_c = room_url (f, id, "name=Cas");
  PSC_TEST_CONNECT (a, url_a, FALSE);
  PSC_TEST_CONNECT (b, url_b, FALSE);
  PSC_TEST_WAIT_MESSAGE (welcome_b, b, PSC_MESSAGE_EXISTING_PEERS, 10);
  g_assert_nonnull (psc_test_client_get_peer_id (a));

  psc_test_client_send (a, "{\"type\":\"peer_state\",\"audio\":false,\"video\":true}");
  PSC_TEST_WAIT_MESSAGE (at_b, b, PSC_MESSAGE_PEER_STATE, 10);
  g_assert_cmpstr (at_b->from_peer_id, ==, psc_test_client_get_peer_id (a));
  g_assert_false (at_b->audio);
  g_assert_true (at_b->video);

  PSC_TEST_CONNECT (c, url_c, FALSE);
  PSC_TEST_WAIT_MESSAGE (at_c, c, PSC_MESSAGE_PEER_STATE, 10);
  g_assert_cmpstr (at_c->from_peer_id, ==, psc_test_client_get_peer_id (a));
  g_assert_false (at_c->audio);

  /* The same state again is not passed on; a malformed one is refused. */
  psc_test_client_send (a, "{\"type\":\"peer_state\",\"audio\":false,\"video\":true}");
  psc_test_client_send (a, "{\"type\":\"peer_state\",\"audio\":\"off\",\"video\":true}");
  PSC_TEST_WAIT_MESSAGE (refused, a, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (refused->error_code, ==, "invalid_field");
  /* A flood: refused past the chat budget, the socket stays. */
  for (guint i = 0; i < 30; i++)
    psc_test_client_send (a, i % 2 ? "{\"type\":\"peer_state\",\"audio\":false,\"video\":true}" :
        "{\"type\":\"peer_state\",\"audio\":true,\"video\":true}");
  PSC_TEST_WAIT_MESSAGE (flooded, a, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (flooded->error_code, ==, "rate_limited");
  g_assert_false (psc_test_client_is_closed (a));
  /* Of the flood, a budget's worth reached the others (the burst of 20, less the two
   * spent above, and what refilled meanwhile); nobody got their own back. */
  PSC_TEST_WAIT_UNTIL (has_ten_states, b, 10, "the flood's first states at another peer");
  g_assert_cmpuint (psc_test_client_count_messages (b, PSC_MESSAGE_PEER_STATE), <=, 20);
  g_assert_cmpuint (psc_test_client_count_messages (a, PSC_MESSAGE_PEER_STATE), ==, 0);
}

/* A camera viewer that asked for a data channel chats over it like any peer. */
static void
test_datachannel (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *dc_url = NULL;
  g_autofree char *ws_url = NULL;
  g_autofree char *echo = NULL;
  g_autofree char *refused = NULL;
  g_autoptr (PscTestClient) viewer = NULL;
  g_autoptr (PscTestClient) plain = NULL;
  g_autoptr (PscMessage) offer = NULL;
  g_autoptr (PscMessage) chat = NULL;
  g_autoptr (PscMessage) parsed = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *from_ws = NULL;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  dc_url = room_url (f, "camera", "name=Dora&datachannel=1");
  ws_url = room_url (f, "camera", "name=Walt");
  PSC_TEST_CONNECT (plain, ws_url, TRUE);
  PSC_TEST_CONNECT (viewer, dc_url, FALSE);
  PSC_TEST_WAIT_MESSAGE (offer, viewer, PSC_MESSAGE_OFFER, 10);
  /* The offer carries the SCTP m-line (RFC 8841) after the video one. */
  g_assert_nonnull (strstr (offer->sdp, "m=video"));
  g_assert_nonnull (strstr (offer->sdp, "m=application"));
  g_assert_nonnull (strstr (offer->sdp, "webrtc-datachannel"));
  psc_test_client_answer (viewer, offer);
  PSC_TEST_WAIT_FRAMES (viewer, 5, 20);
  if (!psc_test_client_wait_data_channel (viewer, 20))
    return;

  /* Its text: a chat for the room, the WebSocket peers and the channel itself. */
  psc_test_client_send_data (viewer, "over the channel");
  PSC_TEST_WAIT_MESSAGE (chat, plain, PSC_MESSAGE_CHAT, 10);
  g_assert_cmpstr (chat->text, ==, "over the channel");
  g_assert_cmpstr (chat->name, ==, "Dora");
  g_assert_cmpstr (chat->from_peer_id, ==, psc_test_client_get_peer_id (viewer));
  echo = psc_test_client_wait_data (viewer, 10);
  g_assert_nonnull (echo);
  parsed = psc_message_parse (echo, strlen (echo), &error);
  g_assert_no_error (error);
  g_assert_cmpint (parsed->type, ==, PSC_MESSAGE_CHAT);
  g_assert_cmpint (parsed->chat_id, ==, chat->chat_id);

  /* A WebSocket peer's chat reaches the channel too. */
  send_chat (plain, "over the socket", NULL);
  from_ws = psc_test_client_wait_data (viewer, 10);
  g_assert_nonnull (from_ws);
  g_assert_nonnull (strstr (from_ws, "\"text\":\"over the socket\""));

  /* The same rules: an empty text is refused, told on the channel. */
  psc_test_client_send_data (viewer, "   ");
  refused = psc_test_client_wait_data (viewer, 10);
  g_assert_nonnull (refused);
  g_assert_nonnull (strstr (refused, "\"code\":\"invalid_field\""));
  /* And the video went on throughout. */
  PSC_TEST_WAIT_FRAMES (viewer, 5, 20);
}

/* A store that fills up while the daemon runs (here: the process may not grow a file past
 * 4 KiB, RLIMIT_FSIZE, as a full disk refuses a write): chat_unavailable to the sender, the
 * video goes on, what was stored before stays, and chat works again once there is room. */
static void
test_full_store (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *url = NULL;
  g_autofree char *chats = NULL;
  g_autoptr (PscTestClient) viewer = NULL;
  g_autoptr (PscMessage) before = NULL;
  g_autoptr (PscMessage) error = NULL;
  g_autoptr (PscMessage) after = NULL;
  struct rlimit saved;
  struct rlimit full;

  data_dir_init (&d);
  use_rooms (f, &d, FALSE);
  url = room_url (f, "camera", "name=Viewer");
  PSC_TEST_CONNECT (viewer, url, TRUE);
  PSC_TEST_WAIT_FRAMES (viewer, 10, 20);
  send_chat (viewer, "before", NULL);
  PSC_TEST_WAIT_MESSAGE (before, viewer, PSC_MESSAGE_CHAT, 10);

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  full = saved;
  full.rlim_cur = 4096;
  signal (SIGXFSZ, SIG_IGN);    /* a write past the limit fails with EFBIG instead */
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &full), ==, 0);
  /* The daemon says it once in its log, with the store's own words. */
  g_test_expect_message ("periscope", G_LOG_LEVEL_WARNING,
      "chat is unavailable: chat database */periscope.sqlite3: storing a message: *");
  send_chat (viewer, "while full", NULL);
  PSC_TEST_WAIT_MESSAGE (error, viewer, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (error->error_code, ==, "chat_unavailable");
  PSC_TEST_WAIT_FRAMES (viewer, 10, 20);
  g_assert_false (psc_test_client_is_closed (viewer));

  send_chat (viewer, "after", NULL);
  PSC_TEST_WAIT_MESSAGE (after, viewer, PSC_MESSAGE_CHAT, 10);
  g_assert_cmpstr (after->text, ==, "after");
  chats = psc_test_expect_status (f, "GET", "/api/rooms/camera/chats", NULL, NULL, NULL, NULL,
      SOUP_STATUS_OK, NULL, NULL);
  g_assert_nonnull (strstr (chats, "\"before\""));
  g_assert_nonnull (strstr (chats, "\"after\""));
  g_assert_null (strstr (chats, "while full"));
}

/* Last in the program: it drops the process's right to ignore file modes. A store that
 * cannot be written: chat_unavailable to the sender, the viewers keep their video. */
static void
test_read_only_store (PscTestFixture *f, gconstpointer data)
{
  g_auto (DataDir) d = { 0 };
  g_autofree char *url = NULL;
  g_autoptr (PscTestClient) viewer = NULL;
  g_autoptr (PscMessage) error = NULL;

  data_dir_init (&d);
  psc_history_close (psc_history_open (d.path, NULL));
  g_assert_cmpint (g_chmod (d.path, 0444), ==, 0);
  psc_test_drop_dac_override ();
  use_rooms (f, &d, FALSE);

  url = room_url (f, "camera", "name=Viewer");
  PSC_TEST_CONNECT (viewer, url, TRUE);
  PSC_TEST_WAIT_FRAMES (viewer, 10, 20);
  send_chat (viewer, "anyone?", NULL);
  PSC_TEST_WAIT_MESSAGE (error, viewer, PSC_MESSAGE_ERROR, 10);
  g_assert_cmpstr (error->error_code, ==, "chat_unavailable");
  g_assert_cmpuint (psc_test_client_count_messages (viewer, PSC_MESSAGE_CHAT), ==, 0);
  PSC_TEST_WAIT_FRAMES (viewer, 10, 20);
  g_assert_false (psc_test_client_is_closed (viewer));
  g_chmod (d.path, 0644);
}

int
main (int argc, char **argv)
{
  /* A session that is not answered ends after 2 s. */
  static const PscTestFixtureData quick_timeout = { .codec = "h264", .connect_timeout_s = 2 };

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  PSC_TEST_ADD ("/integration/rooms/rest", &psc_test_h264, test_rest);
  PSC_TEST_ADD ("/integration/rooms/unknown-room", &psc_test_h264, test_unknown_room);
  PSC_TEST_ADD ("/integration/rooms/presence-and-chat", &psc_test_h264, test_presence_and_chat);
  PSC_TEST_ADD ("/integration/rooms/history-restart", &psc_test_h264, test_history_restart);
  PSC_TEST_ADD ("/integration/rooms/delete", &psc_test_h264, test_delete);
  PSC_TEST_ADD ("/integration/rooms/camera-in-call", &psc_test_h264, test_camera_in_call);
  PSC_TEST_ADD ("/integration/rooms/datachannel", &psc_test_h264, test_datachannel);
  PSC_TEST_ADD ("/integration/rooms/request-offer", &quick_timeout, test_request_offer);
  PSC_TEST_ADD ("/integration/rooms/peer-state", &psc_test_h264, test_peer_state);
  PSC_TEST_ADD ("/integration/rooms/full-store", &psc_test_h264, test_full_store);
  PSC_TEST_ADD ("/integration/rooms/read-only-store", &psc_test_h264, test_read_only_store);
  return g_test_run ();
}
