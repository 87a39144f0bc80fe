/* periscope tests — a viewer built on webrtcbin, talking to the daemon over its WebSocket
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Answers the camera's offer, trickles candidates both ways (gathering on 127.0.0.1 only,
 * UPnP off), decodes what it receives and counts decoded frames. Everything runs on the
 * thread-default main context of the test.
 */
#pragma once

#include <gst/gst.h>
#include "psc-protocol.h"

G_BEGIN_DECLS

typedef struct _PscTestClient PscTestClient;

/*
 * Waiting. Every wait blocks in the thread-default main context until what it waits for has
 * happened or its timeout (stretched by psc_test_time_factor()) has passed. A wait that times
 * out does not abort the test program: it records the failure with g_test_fail_printf(),
 * naming what was awaited, and returns FALSE (or %NULL). The test function must then return
 * (the PSC_TEST_* macros below do it), its fixture's teardown still runs, and the other tests
 * of the program still run and report — with `--keep-going` (`-k`), which the meson tests
 * pass: without it GLib stops the whole program at the first failed test ("Bail out!").
 */

/**
 * psc_test_iterate_until:
 * @done: tells, on the main context, whether the wait is over
 * @data: for @done
 * @timeout_s: seconds (times psc_test_time_factor())
 * @what: what is awaited, for the failure message ("the encoder to stop")
 *
 * Iterates the thread-default main context until @done returns %TRUE.
 *
 * Returns: %TRUE when @done did; %FALSE after @timeout_s, the test marked failed.
 */
gboolean        psc_test_iterate_until (gboolean (*done) (gpointer), gpointer data,
    guint timeout_s, const char *what);

/**
 * psc_test_client_new:
 * @url: ws://127.0.0.1:PORT/ws/…
 * @auto_answer: answer offers by itself; %FALSE leaves them to the test
 *
 * Connects, waiting up to 10 s.
 *
 * Returns: (transfer full) (nullable): the client, or %NULL with the test marked failed when
 *   the connection failed or timed out.
 */
PscTestClient * psc_test_client_new (const char *url, gboolean auto_answer);
void            psc_test_client_free (PscTestClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscTestClient, psc_test_client_free)

/**
 * psc_test_client_wait_frames:
 * Iterates the main context until @n frames more than now have been decoded.
 *
 * Returns: %FALSE after @timeout_s, the test marked failed.
 */
gboolean        psc_test_client_wait_frames (PscTestClient *client, guint n, guint timeout_s);

guint           psc_test_client_get_frames (PscTestClient *client);

/**
 * psc_test_client_get_luma:
 * Returns: the mean luma (0-255, sampled) of the last frame decoded, or -1 before the first
 *   one or if it is not YUV: tells a black picture (the "no signal" slate) from a bright one.
 */
int             psc_test_client_get_luma (PscTestClient *client);

/**
 * psc_test_client_wait_message:
 * Returns: (transfer full) (nullable): the first message of @type received and not yet taken,
 *   waiting up to @timeout_s; %NULL after that, the test marked failed.
 */
PscMessage *    psc_test_client_wait_message (PscTestClient *client, PscMessageType type,
    guint timeout_s);

/**
 * psc_test_client_count_messages:
 * Returns: how many messages of @type have been received and not taken; does not wait.
 */
guint           psc_test_client_count_messages (PscTestClient *client, PscMessageType type);

/**
 * psc_test_client_wait_closed:
 * @close_code: (out) (optional): the server's close code (RFC 6455 §7.4)
 *
 * Waits up to @timeout_s for the server to close the WebSocket.
 *
 * Returns: %FALSE after @timeout_s, the test marked failed.
 */
gboolean        psc_test_client_wait_closed (PscTestClient *client, guint timeout_s,
    gushort *close_code);

void            psc_test_client_send (PscTestClient *client, const char *text);

/**
 * psc_test_client_answer:
 * Answers @offer (from psc_test_client_wait_message()) with webrtcbin, as auto_answer does.
 */
void            psc_test_client_answer (PscTestClient *client, const PscMessage *offer);

const char *    psc_test_client_get_peer_id (PscTestClient *client);

/**
 * psc_test_client_wait_data_channel:
 * Waits up to @timeout_s for the camera's data channel (offered with `?datachannel=1`) to
 * be open.
 * Returns: %FALSE after @timeout_s, the test marked failed.
 */
gboolean        psc_test_client_wait_data_channel (PscTestClient *client, guint timeout_s);

/* Sends @text on the camera's data channel (psc_test_client_wait_data_channel() first). */
void            psc_test_client_send_data (PscTestClient *client, const char *text);

/**
 * psc_test_client_wait_data:
 * Returns: (transfer full) (nullable): the first text received on the data channel and not
 *   yet taken, waiting up to @timeout_s; %NULL after that, the test marked failed.
 */
char *          psc_test_client_wait_data (PscTestClient *client, guint timeout_s);

/* Whether the server has closed the client's WebSocket. */
gboolean        psc_test_client_is_closed (PscTestClient *client);

/**
 * psc_test_time_factor:
 * Returns: PSC_TEST_TIME_FACTOR (1 to 100, default 1): how much slower than usual the tests
 *   run (meson test --setup valgrind sets 10); every wait and timeout is stretched by it.
 */
guint           psc_test_time_factor (void);

/*
 * The waits as statements of a test function (returning void): each returns from it when the
 * wait failed, so that nothing after a missed event runs on state that is not there.
 */

/* psc_test_iterate_until(), or return. */
#define PSC_TEST_WAIT_UNTIL(done, data, timeout_s, what) \
  G_STMT_START { \
    if (!psc_test_iterate_until ((done), (data), (timeout_s), (what))) \
      return; \
  } G_STMT_END

/* @client = psc_test_client_new (@url, @auto_answer), or return. */
#define PSC_TEST_CONNECT(client, url, auto_answer) \
  G_STMT_START { \
    if (((client) = psc_test_client_new ((url), (auto_answer))) == NULL) \
      return; \
  } G_STMT_END

/* psc_test_client_wait_frames(), or return. */
#define PSC_TEST_WAIT_FRAMES(client, n, timeout_s) \
  G_STMT_START { \
    if (!psc_test_client_wait_frames ((client), (n), (timeout_s))) \
      return; \
  } G_STMT_END

/* @message = psc_test_client_wait_message (@client, @type, @timeout_s), or return. */
#define PSC_TEST_WAIT_MESSAGE(message, client, type, timeout_s) \
  G_STMT_START { \
    if (((message) = psc_test_client_wait_message ((client), (type), (timeout_s))) == NULL) \
      return; \
  } G_STMT_END

/* psc_test_client_wait_closed(), or return. */
#define PSC_TEST_WAIT_CLOSED(client, timeout_s, close_code) \
  G_STMT_START { \
    if (!psc_test_client_wait_closed ((client), (timeout_s), (close_code))) \
      return; \
  } G_STMT_END

G_END_DECLS
