/* periscope — fuzz target: the HTTP edge, from the request's first byte
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The first byte chooses the server: even, one open to all; odd, one with accounts (a bearer
 * token of each role below). The rest is what a client sends on one connection (one or more
 * requests, or a WebSocket upgrade and frames), served from memory by psc_server_accept_stream()
 * through everything a request meets: libsoup's parser, the origin policy (Origin; Host, the
 * server answering to cam.local),
 * the access check (Authorization, Cookie), and every route's path splitting — static files,
 * /api, /whep, /ws, /metrics, /login. The registry has no stream: no pipeline starts, and
 * each route answers from its path and headers alone. The rooms API has a chat store, an
 * in-memory SQLite database, so that room creation and the chats' bulk save and listing
 * (their JSON bodies and query parameters) run to the store; the open server takes any room
 * id (--open-rooms), the one with accounts only those created.
 *
 * The accounts' clock moves on a failure window per input, so the throttle one input sets
 * off does not answer the next.
 */
#include <gst/gst.h>
#include <string.h>
#include "psc-auth.h"
#include "psc-fuzz.h"
#include "psc-history.h"
#include "psc-origin.h"
#include "psc-rooms.h"
#include "psc-server.h"
#include "psc-signalling.h"
#include "psc-whep.h"

typedef struct {
  PscRegistry *registry;
  PscSignalling *signalling;
  PscWhep *whep;
  PscServer *server;
} Edge;

static Edge open_edge, accounts_edge;
static GSocketAddress *local, *remote;
static gint64 clock_now;
static gboolean verbose;

static gint64
fuzz_clock (gpointer user_data)
{
  return clock_now;
}

static void
edge_init (Edge *edge, gboolean accounts)
{
  const char *const allowed[] = { "https://allowed.example", NULL };
  /* The corpus's requests are made to cam.local; any other name but an address or
   * localhost is refused (421) before the route. */
  const char *const names[] = { "cam.local", NULL };
  PscViewerOptions options = { .connect_timeout_s = 20 };
  g_autoptr (GError) error = NULL;
  g_autoptr (PscRooms) rooms = NULL;
  PscHistory *history = psc_history_open (":memory:", &error);

  g_assert_no_error (error);
  edge->registry = psc_registry_new (10);
  edge->signalling = psc_signalling_new (edge->registry, &options);
  edge->whep = psc_whep_new (edge->registry, &options);
  rooms = psc_rooms_new (history, !accounts);
  psc_signalling_set_rooms (edge->signalling, rooms);
  edge->server = psc_server_new (edge->registry, edge->signalling, edge->whep);
  psc_server_set_origin_policy (edge->server, psc_origin_policy_new (allowed, names, NULL));
  if (accounts) {
    PscAuth *auth = psc_auth_new ();

    g_assert_true (psc_auth_add_tokens (auth,
            "player:fuzz-viewer-token-0123456789:viewer\n"
            "scraper:fuzz-operator-token-0123456789:operator\n"
            "root:fuzz-admin-token-0123456789:admin\n", "tokens", &error));
    psc_auth_set_clock (auth, fuzz_clock, NULL);
    psc_server_set_auth (edge->server, auth);
  }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  gst_init (NULL, NULL);
  /* PSC_FUZZ_VERBOSE=1: each answer's status line on stderr, to see what a corpus reaches. */
  verbose = g_getenv ("PSC_FUZZ_VERBOSE") != NULL;
  edge_init (&open_edge, FALSE);
  edge_init (&accounts_edge, TRUE);
  local = g_inet_socket_address_new_from_string ("127.0.0.1", 8080);
  remote = g_inet_socket_address_new_from_string ("192.0.2.7", 50000);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GOutputStream) out = NULL;
  g_autoptr (GIOStream) connection = NULL;
  g_autoptr (GError) error = NULL;
  const Edge *edge;
  gsize written;

  if (size == 0)
    return 0;
  edge = data[0] & 1 ? &accounts_edge : &open_edge;
  clock_now += PSC_AUTH_FAILURE_WINDOW_US;
  in = g_memory_input_stream_new_from_data (g_memdup2 (data + 1, size - 1), size - 1, g_free);
  out = g_memory_output_stream_new_resizable ();
  connection = g_simple_io_stream_new (in, out);
  g_assert_true (psc_server_accept_stream (edge->server, connection, local, remote, &error));
  /* The whole exchange runs on this context: until nothing is left to do, the client's
   * bytes are read to their end and every answer written. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  written = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out));
  if (written > 0) {
    const char *answer = g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out));
    g_assert_true (written >= 12 && strncmp (answer, "HTTP/1.", 7) == 0);
    if (verbose)
      g_printerr ("  %.*s\n", (int) strcspn (answer, "\r"), answer);
  }
  g_io_stream_close (connection, NULL, NULL);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}
