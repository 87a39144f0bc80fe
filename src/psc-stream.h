/* periscope — one camera, one encoder per codec, every viewer: the shared media pipeline
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gst/gst.h>
#include "psc-config.h"
#include "psc-encoder.h"
#include "psc-keyframe.h"   /* PscKeyframeReason */
#include "psc-source.h"
#include "psc-supervisor.h" /* PscStreamState */

/**
 * SECTION:psc-stream
 * @title: psc-stream
 * @short_description: one camera, one encoder per codec, every viewer: the shared media pipeline
 *
 * A #PscStream is one capture in one pipeline: the source, scaled and rated, into a raw tee;
 * an encoder per codec started by its first viewer and stopped after its last (#PscEncoding);
 * the viewers' branches attached to and detached from the running pipeline; keyframe requests,
 * snapshots, counters. The capture is released when nothing needs frames. Main thread for
 * attach, detach and state changes; keyframe requests and counters from any thread.
 * docs/architecture.md draws the pipeline.
 */

G_BEGIN_DECLS

/**
 * PSC_STREAM_RELEASE_DELAY_S:
 *
 * Seconds the capture keeps running after nothing needs its frames any more (no encoder, no
 * snapshot), unless --always-on: long enough that a page reload does not reopen the camera.
 */
#define PSC_STREAM_RELEASE_DELAY_S 3

/**
 * PSC_TYPE_STREAM:
 *
 * The #GType of #PscStream.
 */
#define PSC_TYPE_STREAM (psc_stream_get_type ())

/**
 * PscStream:
 *
 * One shared media pipeline (psc_stream_new()); an opaque GObject. Its signals, all emitted
 * on the main context that called psc_stream_start():
 * - `error` (@stream, a #GError naming the element, with a hint): the shared pipeline failed
 *   (camera unplugged, encoder error) or its source ended; every viewer is affected;
 * - `branch-error` (@stream, the branch #GstElement, a #GError): an element inside one
 *   attached branch failed (e.g. DTLS); only that viewer is affected;
 * - `encoder-started` (@stream, the #PscCodec as a guint, the encoder's factory name, or
 *   "passthrough" for a codec passed through from the source): a codec's first viewer
 *   arrived and its encoder started.
 */
G_DECLARE_FINAL_TYPE (PscStream, psc_stream, PSC, STREAM, GObject)

/**
 * PscStreamStats:
 * @frames_captured: raw frames out of the capture (after scaling and rate)
 * @frames: encoded frames that left the encoders, every codec together
 * @keyframes: of which keyframes
 * @keyframes_forced_join: keyframe requests forwarded to an encoder because a viewer
 *   connected
 * @keyframes_forced_pli: keyframe requests forwarded because of a PLI/FIR
 * @keyframe_requests_coalesced: requests folded into one already pending or deferred
 *   (#PscKeyframePolicy, every encoder together)
 * @viewers: branches attached now
 * @rtp_packets_sent: RTP packets payloaded for viewers, over all of them
 * @rtp_bytes_sent: their size in bytes (before SRTP)
 * @outages: times the source failed or ended and the stream went offline (a retry that
 *   fails again is the same outage)
 * @source_attempts: fresh source bins started after the first one: retries while offline
 *   (after the backoff, or at once: psc_stream_retry_now()) and `--loop`'s restarts
 *
 * A stream's counters (psc_stream_get_stats()); all but @viewers only ever grow.
 */
typedef struct {
  guint64 frames_captured;
  guint64 frames;
  guint64 keyframes;
  guint64 keyframes_forced_join;
  guint64 keyframes_forced_pli;
  guint64 keyframe_requests_coalesced;
  guint viewers;
  guint64 rtp_packets_sent;
  guint64 rtp_bytes_sent;
  guint64 outages;
  guint64 source_attempts;
} PscStreamStats;

/**
 * PscStreamInfo:
 * @id: the stream id
 * @source: the source's gst-launch description
 * @source_reason: why this source
 * @codec: the codec viewers get
 * @encoder: the encoder element's factory name
 * @hardware: whether the encoder is a hardware one
 * @width: frame width, pixels
 * @height: frame height, pixels
 * @framerate: frames per second, at most
 * @bitrate: target bitrate, kbit/s
 *
 * What a stream is, as configured. Owned by the stream.
 */
typedef struct {
  char *id;
  char *source;
  char *source_reason;
  PscCodec codec;
  char *encoder;
  gboolean hardware;
  int width;
  int height;
  int framerate;
  int bitrate;
} PscStreamInfo;

/**
 * psc_stream_new:
 * @id: the stream id (also its room and camera peer id)
 * @source: the source to capture from
 * @encoders: per #PscCodec, the encoder to use for it, or %NULL where there is none
 * @default_codec: the codec WebSocket viewers get; @encoders must have one for it
 * @config: size, rate and bitrate
 * @error: a PSC_CONFIG_ERROR_USAGE if a description does not parse
 *
 * Builds, without starting, the capture
 * `source ! videoconvert ! videoscale ! videorate ! caps ! tee`. Encoders are not running:
 * each starts when its codec's first viewer is attached — a #PscEncoding: `queue(leaky, 2) !
 * videoconvert ! encoder [! h264parse ! caps] ! tee`, a branch of the raw tee, with the
 * shared payloader and its RTP tee — and stops when its last viewer is detached, so a stream
 * nobody watches spends nothing on encoding. The encoder descriptions are all built once
 * here, so a typo is reported at start-up.
 *
 * Returns: (transfer full): the stream, or %NULL on error (also a GST_CORE_ERROR if an
 *   element of the capture is missing or cannot be linked).
 */
PscStream * psc_stream_new (const char *id, const PscSourceChoice *source,
    PscEncoderChoice *const encoders[PSC_CODEC_COUNT], PscCodec default_codec,
    const PscConfig *config, GError **error);

/**
 * psc_stream_start:
 * @stream: the stream
 * @timeout_ms: how long to wait for the first captured frame, ms
 * @error: a GST_CORE/RESOURCE/STREAM error naming the failing element, or G_IO_ERROR_TIMED_OUT
 *
 * Sets the pipeline to PLAYING and waits (blocking, on the calling thread, before the main
 * loop runs) until the first raw frame reaches the raw tee — after scaling and rate, before
 * any encoder: none runs until a viewer comes — so a camera that cannot be opened is
 * reported at start-up. Afterwards errors are reported by the `error` signal (#PscStream) on the
 * thread-default main context of the caller (a bus watch added here).
 *
 * Unless the config said always_on (--always-on), the capture is then released — the
 * pipeline set to NULL, a camera closed — #PSC_STREAM_RELEASE_DELAY_S after nothing needs
 * frames, and started again by the next psc_stream_attach() or snapshot.
 *
 * Returns: %TRUE when frames flow.
 */
gboolean    psc_stream_start (PscStream *stream, guint timeout_ms, GError **error);

/**
 * psc_stream_stop:
 * @stream: the stream
 *
 * Removes the bus watch and the release timer and sets the pipeline to NULL, detaching
 * nothing: call after the viewers are gone.
 */
void        psc_stream_stop (PscStream *stream);

/**
 * psc_stream_attach:
 * @stream: the stream
 * @branch: a bin with a "sink" ghost pad taking the encoded stream or, if @payloaded, the
 *   encoder's RTP stream (a viewer's `queue ! webrtcbin`, WebSocket or WHEP)
 * @codec: the codec the branch takes
 * @payloaded: take RTP from the encoder's shared payloader (payload type
 *   #PSC_PAYLOADER_DEFAULT_PT, profile-level-id derived from the stream): one payloader for
 *   all such viewers, which share its SSRC and sequence numbers (each has its own SRTP
 *   session, so nothing collides)
 * @error: G_IO_ERROR_NOT_SUPPORTED if the stream has no encoder for @codec; a
 *   GST_CORE_ERROR saying why the encoder could not start (an element missing or not
 *   linking), or why @branch could not be added (GST_CORE_ERROR_FAILED: gst_bin_add()
 *   refused it: its name is taken in the pipeline, or it has a parent) or linked
 *   (GST_CORE_ERROR_PAD: it has no "sink" pad; GST_CORE_ERROR_NEGOTIATION)
 *
 * Resumes the capture if it was released, adds @branch to the running pipeline and links it
 * to a new pad of @codec's tee, starting that encoder if it is not running
 * (the `encoder-started` signal of #PscStream); the other branches do not notice. On failure @branch is not
 * in the pipeline, and an encoder started for it is stopped again. Main thread only.
 *
 * Right after linking — holding the tee's sink pad stream lock, so that the tee is between
 * two buffers and only one thread pushes on the new pad at a time — a custom downstream event
 * named #PSC_STREAM_LINKED_EVENT is pushed into @branch. A serialized event on a source pad
 * first sends the pad's pending sticky events (gstpad.c, gst_pad_push_event()), so when the
 * encoder is already running, the stream-start, caps and segment events reach @branch at
 * once instead of with the encoder's next frame, up to a frame interval later; a branch that
 * watches for this event knows the caps have been through when it sees it (and may find none
 * yet, if the encoder has only just started). Elements ignore it.
 *
 * Returns: %TRUE if attached.
 */
gboolean    psc_stream_attach (PscStream *stream, GstElement *branch, PscCodec codec,
    gboolean payloaded, GError **error);

/**
 * psc_stream_attach_rtp:
 * @stream: the stream
 * @branch: as psc_stream_attach(), taking RTP
 * @codec: the codec the branch takes
 * @payload_type: the payload type @branch's SDP gives @codec (96–127, or 35–63 as browsers
 *   use once that range is full); #PSC_PAYLOADER_DEFAULT_PT for the shared payloader's own
 * @profile_level_id: (nullable): for H.264, the profile-level-id @branch's SDP says (a WHEP
 *   answer's, psc_sdp_choose_codec()); %NULL for the stream's
 * @error: as psc_stream_attach()
 *
 * psc_stream_attach() with @payloaded, for a branch whose SDP answer took the offer's payload
 * type and profile: its RTP, caps and packets, carry them (psc_encoding_request_pad(): one
 * rewrite per packet for all branches of the same pair, sharing the copies). Main thread only.
 *
 * Returns: %TRUE if attached.
 */
gboolean    psc_stream_attach_rtp (PscStream *stream, GstElement *branch, PscCodec codec,
    guint payload_type, const char *profile_level_id, GError **error);

/**
 * PSC_STREAM_LINKED_EVENT:
 *
 * The name of the structure of the custom downstream event psc_stream_attach() pushes into a
 * branch it has just linked.
 */
#define PSC_STREAM_LINKED_EVENT "periscope-branch-linked"

/**
 * psc_stream_detach:
 * @stream: the stream
 * @branch: a branch given to psc_stream_attach()
 *
 * Unlinks @branch from the tee when no buffer is passing (an IDLE pad probe), then — back on
 * the main context, off the streaming thread — releases the tee pad, sets the branch to NULL
 * and removes it. The other branches keep streaming throughout. When it was its codec's last
 * branch, that encoder is stopped the same way. Main thread only.
 */
void        psc_stream_detach (PscStream *stream, GstElement *branch);

/**
 * psc_stream_request_keyframe:
 * @stream: the stream
 * @codec: whose encoder (nothing happens if it is not running)
 * @reason: why
 *
 * Asks the encoder for a keyframe with SPS/PPS (an upstream GstForceKeyUnit with
 * all-headers), under the encoder's #PscKeyframePolicy, which PLI/FIR from viewers go
 * through as well: requests are coalesced — one already pending and less than 1 s old, or
 * one deferred, covers a new one — and spaced at least 200 ms apart (a request inside the
 * gap is sent when it has passed, from a timer on the stream's main context), so a burst of
 * PLIs from many viewers costs one keyframe, not one each. Any thread.
 */
void        psc_stream_request_keyframe (PscStream *stream, PscCodec codec,
    PscKeyframeReason reason);

/**
 * psc_stream_snapshot_async:
 * @stream: the stream
 * @callback: called on the main context with the result
 * @user_data: for @callback
 *
 * Takes the next raw frame (after scaling, before the encoders: the viewers' video is not
 * touched) and encodes it as JPEG with gst_video_convert_sample_async() (#PscSnapshot).
 * Resumes a released capture for it; the release is scheduled again once the snapshot is
 * answered. Concurrent requests share one frame. Fails with G_IO_ERROR_TIMED_OUT when no
 * frame comes within 3 s (#PSC_SNAPSHOT_TIMEOUT_MS). Main context.
 */
void        psc_stream_snapshot_async (PscStream *stream, GAsyncReadyCallback callback,
    gpointer user_data);

/**
 * psc_stream_snapshot_finish:
 * @stream: the stream
 * @result: the result given to the callback of psc_stream_snapshot_async()
 * @error: G_IO_ERROR_TIMED_OUT when no frame came within #PSC_SNAPSHOT_TIMEOUT_MS, or the
 *   error of gst_video_convert_sample_async() (or of the pipeline that could not resume)
 *
 * Completes psc_stream_snapshot_async(). Main context.
 *
 * Returns: (transfer full): the JPEG, or %NULL with @error set.
 */
GBytes *    psc_stream_snapshot_finish (PscStream *stream, GAsyncResult *result,
    GError **error);

/**
 * psc_stream_count_sent:
 * @stream: the stream
 * @packets: RTP packets a viewer's payloader just sent
 * @bytes: their size in bytes
 *
 * Adds to the stream's counters (monotonic, whatever viewers come and go). Any thread.
 */
void        psc_stream_count_sent (PscStream *stream, guint packets, gsize bytes);

/**
 * psc_stream_get_id:
 * @stream: the stream
 *
 * Any thread: the id never changes.
 *
 * Returns: (transfer none): the stream's id, also its room's name and its camera's peer id.
 */
const char * psc_stream_get_id (PscStream *stream);

/**
 * psc_stream_get_info:
 * @stream: the stream
 *
 * For the REST API and the start-up message.
 *
 * Returns: (transfer none): what the stream is.
 */
const PscStreamInfo * psc_stream_get_info (PscStream *stream);

/**
 * psc_stream_retry_now:
 * @stream: the stream
 *
 * Tries the source again now instead of after the rest of the backoff (1 s doubling to 30 s,
 * #PscSupervisor): for when something says it may be back, e.g. its camera was plugged in
 * again (#PscDevices). Only an offline stream does anything: a fresh source bin replaces the
 * slate, or the attempt under way; a failure goes back to the slate, and the backoff goes
 * on from where it was. While the capture is released (nobody watching), the next viewer's
 * resume tries the source instead. Main context.
 *
 * Returns: %TRUE if an attempt started.
 */
gboolean     psc_stream_retry_now (PscStream *stream);

/**
 * psc_stream_is_playing:
 * @stream: the stream
 *
 * What /healthz reports. Any thread.
 *
 * Returns: %TRUE while the stream is healthy: it has reported no error, is not offline, and
 *   its pipeline is PLAYING or its capture released for want of viewers.
 */
gboolean     psc_stream_is_playing (PscStream *stream);

/**
 * psc_stream_is_capturing:
 * @stream: the stream
 *
 * Whether the camera is open now. Any thread.
 *
 * Returns: %TRUE while frames are being captured; %FALSE while the capture is released
 *   (nobody watching) or the stream has failed.
 */
gboolean     psc_stream_is_capturing (PscStream *stream);

/**
 * psc_stream_get_state:
 * @stream: the stream
 *
 * The state of the stream's source (psc-supervisor.h). Main context.
 *
 * Returns: whether the source is live, or the stream offline (showing the slate while the
 *   source is tried again), or still starting.
 */
PscStreamState psc_stream_get_state (PscStream *stream);

/**
 * psc_stream_dup_offline_reason:
 * @stream: the stream
 *
 * What the REST API and the no-signal slate say while the stream is offline.
 *
 * Returns: (transfer full) (nullable): why the stream is offline (one line: the element and
 *   its error, or "the source ended …"); %NULL unless offline. Any thread.
 */
char *       psc_stream_dup_offline_reason (PscStream *stream);

/**
 * psc_stream_get_state_name:
 * @stream: the stream
 *
 * The `state` of a stream in the REST API and /healthz.
 *
 * Returns: (transfer none): "live", "idle" (healthy, capture released), "offline" (the
 *   source failed or ended: the slate, and retries), "starting" or "failed" (an error outside
 *   the source: the daemon exits), as the REST API reports it.
 */
const char * psc_stream_get_state_name (PscStream *stream);

/**
 * psc_stream_get_codec:
 * @stream: the stream
 *
 * Any thread.
 *
 * Returns: the default codec: the one WebSocket viewers get (psc_stream_new()).
 */
PscCodec     psc_stream_get_codec (PscStream *stream);

/**
 * psc_stream_get_encoder:
 * @stream: the stream
 * @codec: a codec
 *
 * What psc_stream_new() was given for @codec. A codec passed through from the source
 * (psc_stream_passes_through()) does not use it but for the slate.
 *
 * Returns: (transfer none) (nullable): the encoder the stream uses for @codec, if any.
 */
const PscEncoderChoice * psc_stream_get_encoder (PscStream *stream, PscCodec codec);

/**
 * psc_stream_can_send:
 * @stream: the stream
 * @codec: a codec
 *
 * Which codecs WHEP and the WebSocket signalling may give viewers.
 *
 * Returns: whether viewers of @codec can be attached: the stream has an encoder for it, or
 *   the source delivers it (psc_stream_passes_through()).
 */
gboolean     psc_stream_can_send (PscStream *stream, PscCodec codec);

/**
 * psc_stream_passes_through:
 * @stream: the stream
 * @codec: a codec
 *
 * A source that delivers H.264 (psc_launch_parse_source()) is passed through to H.264
 * viewers: no decoder, no encoder (but for the slate while the source is offline); it is
 * decoded only while viewers of other codecs or snapshots need raw frames.
 *
 * Returns: whether @codec's viewers get the source's own frames, as they are.
 */
gboolean     psc_stream_passes_through (PscStream *stream, PscCodec codec);

/**
 * psc_stream_dup_h264_profile_level_id:
 * @stream: the stream
 *
 * The profile and level of a source passed through, from its SPS (h264parse's caps), as
 * the SDP's profile-level-id (psc_payloader_h264_profile_level_id(), RFC 6184 §8.1). Known
 * from the source's first frame (psc_stream_start() waits for it) and kept while the stream
 * is offline. Any thread.
 *
 * Returns: (transfer full) (nullable): e.g. "640028" (High, level 4), or %NULL when the
 *   stream encodes H.264 itself (constrained baseline), or the source's profile has no
 *   name periscope knows.
 */
char *       psc_stream_dup_h264_profile_level_id (PscStream *stream);

/**
 * psc_stream_is_encoding:
 * @stream: the stream
 * @codec: a codec
 *
 * Any thread (takes the stream's lock).
 *
 * Returns: whether @codec's encoder is running now (it has viewers).
 */
gboolean     psc_stream_is_encoding (PscStream *stream, PscCodec codec);

/**
 * psc_stream_get_encoder_name:
 * @stream: the stream
 *
 * The same as the @encoder of psc_stream_get_info().
 *
 * Returns: (transfer none): the default codec's encoder factory name, e.g. "x264enc".
 */
const char * psc_stream_get_encoder_name (PscStream *stream);

/**
 * psc_stream_get_pipeline:
 * @stream: the stream
 *
 * Do not change its state or its elements: the stream owns them.
 *
 * Returns: (transfer none): the pipeline, for inspection (tests, dot dumps).
 */
GstElement * psc_stream_get_pipeline (PscStream *stream);

/**
 * psc_stream_get_stats:
 * @stream: the stream
 * @stats: (out caller-allocates): counters since start
 *
 * Fills @stats, for the REST API and /metrics. Any thread.
 */
void         psc_stream_get_stats (PscStream *stream, PscStreamStats *stats);

G_END_DECLS
