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

/**
 * psc_test_client_new:
 * @url: ws://127.0.0.1:PORT/ws/…
 * @auto_answer: answer offers by itself; %FALSE leaves them to the test
 *
 * Connects, failing the test if that takes over 10 s.
 */
PscTestClient * psc_test_client_new (const char *url, gboolean auto_answer);
void            psc_test_client_free (PscTestClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscTestClient, psc_test_client_free)

/**
 * psc_test_client_wait_frames:
 * Iterates the main context until @n frames more than now have been decoded; fails the test
 * after @timeout_s.
 */
void            psc_test_client_wait_frames (PscTestClient *client, guint n, guint timeout_s);

guint           psc_test_client_get_frames (PscTestClient *client);

/**
 * psc_test_client_wait_message:
 * Returns: (transfer full): the first message of @type received and not yet taken, waiting
 *   up to @timeout_s (the test fails after that).
 */
PscMessage *    psc_test_client_wait_message (PscTestClient *client, PscMessageType type,
    guint timeout_s);

/**
 * psc_test_client_wait_closed:
 * Waits up to @timeout_s for the server to close the WebSocket; returns its close code.
 */
gushort         psc_test_client_wait_closed (PscTestClient *client, guint timeout_s);

void            psc_test_client_send (PscTestClient *client, const char *text);

/**
 * psc_test_client_answer:
 * Answers @offer (from psc_test_client_wait_message()) with webrtcbin, as auto_answer does.
 */
void            psc_test_client_answer (PscTestClient *client, const PscMessage *offer);

const char *    psc_test_client_get_peer_id (PscTestClient *client);

/**
 * psc_test_time_factor:
 * Returns: PSC_TEST_TIME_FACTOR (1 to 100, default 1): how much slower than usual the tests
 *   run (meson test --setup valgrind sets 10); every wait and timeout is stretched by it.
 */
guint psc_test_time_factor (void);

/**
 * psc_test_iterate_until:
 * Iterates the default main context until @done returns TRUE; fails the test after
 * @timeout_s with @what in the message.
 */
void psc_test_iterate_until (gboolean (*done) (gpointer), gpointer data, guint timeout_s,
    const char *what);

G_END_DECLS
