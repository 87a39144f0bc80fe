/* periscope tests — the daemon's parts wired up on 127.0.0.1 for one integration test
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The real stream, signalling, WHEP endpoint and HTTP server, on port 0, built from a
 * PscTestFixtureData the way the daemon builds them from its options; and what the test
 * programs share to look into them (elements in the pipeline, HTTP requests).
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "psc-config.h"
#include "psc-server.h"
#include "psc-signalling.h"
#include "psc-stream.h"
#include "psc-whep.h"
#include "psc-test-client.h"

G_BEGIN_DECLS

/* Small frames: the point is the plumbing, and CI has two cores. */
#define PSC_TEST_SOURCE "videotestsrc is-live=true pattern=ball"

/* What a test asks of its fixture; zero fields take the defaults. */
typedef struct {
  const char *codec;
  guint connect_timeout_s;
  guint max_viewers;            /* 0: the default */
  guint max_viewers_per_address; /* 0: the default (10) */
  const char *source;           /* NULL: PSC_TEST_SOURCE */
  guint source_seconds;         /* if set, PSC_TEST_SOURCE ending after this long (stretched
                                 * by psc_test_time_factor()) */
  guint keyframe_interval;      /* frames; 0: the default (2 s) */
  gboolean ice_servers;         /* a STUN and a TURN server on 127.0.0.1 (nothing listens) */
  gboolean always_on;           /* --always-on: the capture is never released */
  guint bitrate;                /* kbit/s; 0: 500 */
  const char *second_stream;    /* the id of a second stream in the registry (a second
                                 * camera, from the same kind of source); NULL: none */
  gboolean loop;                /* --loop: a source that ends starts again at once */
  const char *allow_origin;     /* --allow-origin; NULL: none */
  const char *allow_host;       /* --allow-host (space-separated); NULL: none */
  gboolean tls;                 /* HTTPS and wss: with a self-signed certificate made for the
                                 * test, which every SoupSession of the program trusts */
} PscTestFixtureData;

/* The fixtures more than one test program uses. */
extern const PscTestFixtureData psc_test_h264;           /* H.264, 20 s to connect */
extern const PscTestFixtureData psc_test_one_seat;       /* --max-viewers 1 */
extern const PscTestFixtureData psc_test_ice_servers;    /* a STUN and a TURN server */
/* A source that ends after 3 s, kept running with nobody watching: releasing the capture
 * (which restarts the source from its first frame) would race its end. */
extern const PscTestFixtureData psc_test_short_source;

typedef struct {
  PscConfig *config;
  PscRegistry *registry;
  PscStream *stream;
  PscStream *second_stream;     /* nullable: PscTestFixtureData.second_stream */
  PscSignalling *signalling;
  PscWhep *whep;
  PscServer *server;
  char *url;                    /* ws://127.0.0.1:PORT/ws/STREAM (wss: with .tls) */
  GTlsCertificate *certificate; /* nullable: the server's, with .tls */
  char *tls_dir;                /* nullable: where it is kept */
} PscTestFixture;

/**
 * psc_test_fixture_setup:
 * @data: a PscTestFixtureData
 *
 * Starts the stream (320x240) and the server, listening on 127.0.0.1, port 0.
 */
void        psc_test_fixture_setup (PscTestFixture *f, gconstpointer data);

/**
 * psc_test_fixture_teardown:
 *
 * Sends every viewer away, waits for their branches to go, and frees it all; also after a
 * test that failed half-way.
 */
void        psc_test_fixture_teardown (PscTestFixture *f, gconstpointer data);

/* g_test_add() of a test on a PscTestFixture. */
#define PSC_TEST_ADD(path, data, test) \
  g_test_add ((path), PscTestFixture, (data), psc_test_fixture_setup, (test), \
      psc_test_fixture_teardown)

/**
 * psc_test_count_elements:
 * Returns: how many elements made by @factory @pipeline holds, at any depth.
 */
guint       psc_test_count_elements (GstElement *pipeline, const char *factory);

/**
 * psc_test_no_webrtcbin:
 * @stream: a PscStream
 *
 * For psc_test_iterate_until(): no viewer's branch is left in the pipeline.
 */
gboolean    psc_test_no_webrtcbin (gpointer stream);

/* For psc_test_iterate_until(): exactly one viewer's branch is in the pipeline. */
gboolean    psc_test_one_webrtcbin (gpointer stream);

/**
 * psc_test_first_element_pad:
 * Returns: (transfer full): pad @name of the first element of @factory in @pipeline or its
 *   bins; asserts there is one.
 */
GstPad *    psc_test_first_element_pad (GstElement *pipeline, const char *factory,
    const char *name);

/**
 * psc_test_watch_element:
 * Returns: (transfer full): a weak pointer (g_free() it) to element @name of @pipeline, for
 *   psc_test_finalized(): a branch must be finalized, not only removed, once its viewer is
 *   gone (it holds a webrtcbin: sockets, threads, DTLS state).
 */
gpointer *  psc_test_watch_element (GstElement *pipeline, const char *name);

/**
 * psc_test_find_branch:
 * Returns: (transfer full) (nullable): the branch of viewer @peer_id in @pipeline.
 */
GstElement * psc_test_find_branch (GstElement *pipeline, const char *peer_id);

/* psc_test_watch_element() of viewer @peer_id's branch. */
gpointer *  psc_test_watch_branch (GstElement *pipeline, const char *peer_id);

/* For psc_test_iterate_until(): the weak pointer from psc_test_watch_element() is cleared. */
gboolean    psc_test_finalized (gpointer weak);

/**
 * psc_test_flag_on_stream_error:
 * @flag: set to %TRUE on the stream's "error" signal; for psc_test_flag_set()
 */
void        psc_test_flag_on_stream_error (PscStream *stream, gboolean *flag);

/**
 * psc_test_flag_on_stream_offline:
 * @flag: set to %TRUE when the stream goes offline (#PscStream::state-changed); for
 *   psc_test_flag_set()
 */
void        psc_test_flag_on_stream_offline (PscStream *stream, gboolean *flag);

/* For psc_test_iterate_until(): the stream (a PscStream) is offline / live. */
gboolean    psc_test_stream_offline (gpointer stream);
gboolean    psc_test_stream_live (gpointer stream);

/**
 * PscTestAttemptWait:
 * @stream: the stream
 * @attempts: how many times its source is to have been tried (#PscStreamStats.source_attempts)
 *
 * For psc_test_iterate_until() with psc_test_attempts_reached().
 */
typedef struct {
  PscStream *stream;
  guint64 attempts;
} PscTestAttemptWait;

/* For psc_test_iterate_until(): the stream of @wait (a PscTestAttemptWait) has tried its
 * source that many times. */
gboolean    psc_test_attempts_reached (gpointer wait);

/**
 * psc_test_record_clip:
 * @path: the file to write
 * @mux: a muxer description ending in `name=mux` (e.g. "mp4mux name=mux")
 * @frames: how many frames of video, 320x240, and as long an MP3 track
 * @fps: at what rate
 *
 * Records a clip the sources tests play: H.264 video (a keyframe a second) and an MP3 track.
 * Asserts it was written.
 */
void        psc_test_record_clip (const char *path, const char *mux, guint frames, guint fps);

/* Removes the files in @dir (a test's temporary data directory: no subdirectories) and @dir
 * itself; a path that is not there is no error. */
void        psc_test_remove_dir (const char *dir);

/**
 * PscTestPace:
 *
 * When each frame of a stream reaches its capture tee (`raw-tee`, or `h264-tee` for an H.264
 * source), on the monotonic clock: whether a source is paced, measured so that a loaded machine
 * does not fake a failure. A pipeline stalled by load catches up in a burst (a clocksync passes
 * late frames at once), which bends a rate taken over a window (CI saw 34.6 frames/s from a
 * 30 frames/s file) but not the median gap between frames; a source not paced at all has every
 * gap short.
 */
typedef struct _PscTestPace PscTestPace;

/**
 * psc_test_pace_new:
 * @stream: a stream whose capture runs
 *
 * Starts timing the frames of @stream's capture: a probe on its capture tee's sink, removed
 * by psc_test_pace_free(). Main thread; the probe runs on the streaming thread.
 *
 * Returns: (transfer full): the timing.
 */
PscTestPace *psc_test_pace_new (PscStream *stream);

/**
 * psc_test_pace_median_gap_ms:
 *
 * Returns: the median gap between consecutive frames since psc_test_pace_new(), in ms.
 *   Asserts there were at least ten frames. It is short only when more than half the frames
 *   came unpaced (a 2 s clip at 77 frames/s: a start more than ~0.6 s late).
 */
double      psc_test_pace_median_gap_ms (PscTestPace *pace);

/**
 * psc_test_pace_on_time_median_gap_ms:
 *
 * The median gap between frames, as psc_test_pace_median_gap_ms(), left out a stall's
 * catch-up: only between two frames that each reached the tee no more than 100 ms after
 * their running time on the pipeline's clock than the least late frame did. A paced source is
 * never early, and a stall makes its next frames late, which then pass at once; a source not
 * paced at all runs ever earlier, and its frames counted (those near the least late, the
 * last ones) still come close together. CI's ASan run saw a stall of ~2.6 s make more than
 * half the frames of a 5 s clip a catch-up (a median gap of 8 ms over them all).
 *
 * Returns: the median, in ms. Asserts that the lateness of some frame was known (the tee had
 *   a segment and a clock), and that nine gaps were between frames on time.
 */
double      psc_test_pace_on_time_median_gap_ms (PscTestPace *pace);

/* The number of frames timed since psc_test_pace_new(). */
guint       psc_test_pace_count (PscTestPace *pace);

/**
 * psc_test_pace_late_rate_fps:
 *
 * Returns: frames per second over the second half of the frames timed, from the arrival of
 *   the middle one to the last's. Asserts there were at least ten frames.
 */
double      psc_test_pace_late_rate_fps (PscTestPace *pace);

/* Removes the probe and frees @pace. */
void        psc_test_pace_free (PscTestPace *pace);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscTestPace, psc_test_pace_free)

/**
 * PscTestRawClient:
 * @connection: the TCP connection to the server's port
 * @received: what the server has sent, as psc_test_raw_client_closed() read it
 * @closed: the server closed (or reset) the connection
 *
 * A raw TCP client, for what a SoupSession will not send: half a request, a body it lies
 * about, plain HTTP to the HTTPS port.
 */
typedef struct {
  GSocketConnection *connection;
  GString *received;
  gboolean closed;
} PscTestRawClient;

/* Connects to @f's server on 127.0.0.1 and sends @request (nullable) whole. */
PscTestRawClient *psc_test_raw_client_new (PscTestFixture *f, const char *request);

/* The same from the loopback address @source (`127.0.0.N`; NULL: any), as a client of
 * another address. */
PscTestRawClient *psc_test_raw_client_new_from (PscTestFixture *f, const char *source,
    const char *request);

/* For psc_test_iterate_until(): reads what has come into @client's `received`, without
 * blocking; TRUE once the server closed (or reset) the connection. */
gboolean    psc_test_raw_client_closed (gpointer client);

/* For psc_test_iterate_until(): as psc_test_raw_client_closed(), and TRUE once a response's
 * head has come too (the connection may stay open: keep-alive, an upgrade). */
gboolean    psc_test_raw_client_answered (gpointer client);

void        psc_test_raw_client_free (PscTestRawClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscTestRawClient, psc_test_raw_client_free)

/* Whether what a stream counts has moved as a test waits for, from @before to @now. */
typedef gboolean (*PscTestStatsCheck) (const PscStreamStats *before, const PscStreamStats *now);

/**
 * PscTestStatsSince:
 * @stream: the stream whose counters are read
 * @before: its counters when the wait began (psc_test_stats_since_init())
 * @check: what must have happened since
 *
 * A wait on a stream's counters, for PSC_TEST_WAIT_UNTIL() with psc_test_stats_moved().
 */
typedef struct {
  PscStream *stream;
  PscStreamStats before;
  PscTestStatsCheck check;
} PscTestStatsSince;

/* Reads @stream's counters now into @since->before. */
void        psc_test_stats_since_init (PscTestStatsSince *since, PscStream *stream,
    PscTestStatsCheck check);

/* For psc_test_iterate_until(): @since's check holds between its counters then and now. */
gboolean    psc_test_stats_moved (gpointer since);

/* For psc_test_iterate_until(): the gboolean at @flag is %TRUE. */
gboolean    psc_test_flag_set (gpointer flag);

/**
 * PscTestFlags:
 *
 * gboolean flags that one thread (a pad probe, a helper thread) raises and another waits for:
 * the flags are the caller's, read and written under @lock; @cond is broadcast on each
 * psc_test_flags_raise().
 */
typedef struct {
  GMutex lock;
  GCond cond;
} PscTestFlags;

void        psc_test_flags_init (PscTestFlags *flags);
void        psc_test_flags_clear (PscTestFlags *flags);

/* Sets *@flag under the lock and wakes the waiters. */
void        psc_test_flags_raise (PscTestFlags *flags, gboolean *flag);

/* *@flag, read under the lock. */
gboolean    psc_test_flags_get (PscTestFlags *flags, gboolean *flag);

/**
 * psc_test_flags_wait:
 * @other: (nullable): a second flag that ends the wait too
 * @timeout_ms: how long at most, in ms (not stretched by psc_test_time_factor())
 *
 * Blocks the calling thread (no main context is iterated) until *@flag or *@other is set.
 *
 * Returns: whether one of them is set.
 */
gboolean    psc_test_flags_wait (PscTestFlags *flags, gboolean *flag, gboolean *other,
    guint timeout_ms);

/**
 * psc_test_http_request:
 * @method: GET, POST…
 * @path: /api/streams…
 * @content_type: (nullable): of @body
 * @body: (nullable): the request body
 * @header: (nullable): one more request header
 * @value: (nullable): its value
 * @status: (out): the response's status
 * @response_headers: (out) (optional) (transfer full): the response's headers
 *
 * @method http://127.0.0.1:PORT@path (https: with .tls), waiting up to 10 s.
 *
 * Returns: (transfer full) (nullable): the response body as text; %NULL, the test marked
 *   failed, when no response came.
 */
char *      psc_test_http_request (PscTestFixture *f, const char *method, const char *path,
    const char *content_type, const char *body, const char *header, const char *value,
    guint *status, SoupMessageHeaders **response_headers);

/**
 * psc_test_http_request_full:
 * @headers: (nullable) (array zero-terminated=1): more request headers: name, value, name…
 *
 * As psc_test_http_request(), with any number of request headers.
 */
char *      psc_test_http_request_full (PscTestFixture *f, const char *method, const char *path,
    const char *content_type, const char *body, const char *const *headers, guint *status,
    SoupMessageHeaders **response_headers);

/**
 * psc_test_websocket_handshake:
 * @f: the fixture
 * @origin: (nullable): the `Origin` to send, as a page on it would; %NULL: none (as curl)
 * @header: (nullable): one more request header (a `Cookie`, an `Authorization`)
 * @value: (nullable): its value
 * @connection: (out) (optional) (transfer full): the WebSocket, if upgraded; closed when
 *   %NULL
 *
 * A WebSocket handshake on /ws/camera, waiting up to 10 s.
 *
 * Returns: the HTTP status (101: upgraded), 0 when no answer came (the test marked failed).
 */
guint       psc_test_websocket_handshake (PscTestFixture *f, const char *origin,
    const char *header, const char *value, SoupWebsocketConnection **connection);

/**
 * psc_test_expect_status:
 * @f: the fixture
 * @method: GET, POST…
 * @path: /whep/camera…
 * @content_type: (nullable): of @body
 * @body: (nullable): the request body
 * @header: (nullable): one more request header
 * @value: (nullable): its value
 * @expected: the status the response must have
 * @fragment: (nullable): text the response body must contain
 * @response_headers: (out) (optional) (transfer full): the response's headers
 *
 * psc_test_http_request(), then the checks every status test makes.
 *
 * Returns: (transfer full) (nullable): the response body, or %NULL when no response came
 *   (the test failed).
 */
char *      psc_test_expect_status (PscTestFixture *f, const char *method, const char *path,
    const char *content_type, const char *body, const char *header, const char *value,
    guint expected, const char *fragment, SoupMessageHeaders **response_headers);

/**
 * psc_test_http_get:
 * @content_type: (out) (optional) (transfer full): the response's Content-Type, no parameters
 *
 * GET @path; as psc_test_http_request().
 */
char *      psc_test_http_get (PscTestFixture *f, const char *path, guint *status,
    char **content_type);

/**
 * psc_test_parse_json:
 * Returns: (transfer full) (nullable): @text parsed; %NULL, the test marked failed, when it
 *   is not JSON.
 */
JsonNode *  psc_test_parse_json (const char *text);

/**
 * PSC_TEST_H264_OFFER_CAPS:
 * The caps of a browser's H.264 (constrained baseline, packetization-mode 1, payload 102).
 */
#define PSC_TEST_H264_OFFER_CAPS "application/x-rtp,media=video,encoding-name=H264,payload=102," \
  "clock-rate=90000,packetization-mode=(string)1,profile-level-id=(string)42e01f"

/**
 * psc_test_whep_offer:
 * @caps: application/x-rtp caps of the one codec offered
 *
 * A WHEP player's offer, made by a webrtcbin of our own: one recvonly video m-line for @caps,
 * BUNDLE as browsers do. No ICE gathering happens (no local description is set).
 *
 * Returns: (transfer full): the SDP text.
 */
char *      psc_test_whep_offer (const char *caps);

G_END_DECLS
