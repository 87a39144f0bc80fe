/* periscope — encoder discovery, probing and ranking
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-codec.h"
#include "psc-config.h"

/**
 * SECTION:psc-encoder
 * @title: psc-encoder
 * @short_description: encoder discovery, probing and ranking
 *
 * Which encoder element each codec gets on this machine: a ranked table of the encoders
 * periscope knows (hardware first), each tried in a short test pipeline, or the one given by
 * --encoder or a preset. Runs at start-up on the main thread and blocks while it probes (up to
 * 5 s a candidate); --list-encoders prints the table.
 */

G_BEGIN_DECLS

/**
 * PscEncoderCandidate:
 * @factory: the element that must exist for this encoder to be tried
 * @codec: what it produces
 * @hardware: whether it runs on a hardware block (ranked before software)
 * @preset: the compiled-in preset whose `encoder` key is this encoder's gst-launch
 *   template (with ${…} variables, see psc_config_expand()). It takes raw video from
 *   videoconvert and outputs H.264 constrained-baseline or VP8, with keyframes at most
 *   ${keyframe_interval} frames apart and no B-frames.
 *
 * One entry of the ranked table of encoders periscope knows.
 */
typedef struct {
  const char *factory;
  PscCodec codec;
  gboolean hardware;
  const char *preset;
} PscEncoderCandidate;

/**
 * PscEncoderChoice:
 * @codec: the codec it produces
 * @factory: (nullable): the encoder element's factory name, if known
 * @description: the expanded gst-launch description to build the encoder from
 * @hardware: whether it is a hardware encoder
 * @reason: why this one, for a human ("the best working hardware encoder here",
 *   "given by --encoder")
 *
 * The encoder chosen for one codec (psc_encoder_select()). Free with
 * psc_encoder_choice_free().
 */
typedef struct {
  PscCodec codec;
  char *factory;
  char *description;
  gboolean hardware;
  char *reason;
} PscEncoderChoice;

/**
 * psc_encoder_choice_free:
 * @choice: (nullable) (transfer full): a choice, or %NULL
 *
 * Frees @choice and its strings.
 */
void psc_encoder_choice_free (PscEncoderChoice *choice);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscEncoderChoice, psc_encoder_choice_free)

/**
 * PscEncoderProbeFunc:
 * @candidate: the encoder to try
 * @description: its expanded description
 * @user_data: closure
 * @error: why it does not work
 *
 * Decides whether an encoder works on this machine. Returns %TRUE if it does.
 */
typedef gboolean (*PscEncoderProbeFunc) (const PscEncoderCandidate *candidate,
    const char *description, gpointer user_data, GError **error);

/**
 * psc_encoder_candidates:
 * @codec: the codec
 * @n_candidates: (out): how many
 *
 * The compiled-in table, in the order psc_encoder_select() tries it.
 *
 * Returns: (transfer none) (array length=n_candidates): the encoders known for @codec,
 *   best first: hardware (V4L2 M2M, VA, VA-API, Jetson, NVENC, Quick Sync), then software.
 */
const PscEncoderCandidate * psc_encoder_candidates (PscCodec codec, guint *n_candidates);

/**
 * psc_encoder_candidate_description:
 * @candidate: an encoder
 * @config: supplies bitrate, keyframe interval…
 * @error: a PSC_CONFIG_ERROR if the preset is missing or malformed
 *
 * Expands the candidate's preset template (psc_config_expand()) with @config's bitrate,
 * keyframe interval, size and rate.
 *
 * Returns: (transfer full) (nullable): the candidate's gst-launch description, expanded for @config.
 */
char * psc_encoder_candidate_description (const PscEncoderCandidate *candidate,
    const PscConfig *config, GError **error);

/**
 * psc_encoder_probe:
 * @candidate: the encoder to try
 * @description: its description, expanded (psc_encoder_candidate_description())
 * @user_data: unused (the #PscEncoderProbeFunc closure)
 * @error: why it does not work: %G_IO_ERROR_NOT_FOUND if the element is not installed,
 *   %G_IO_ERROR_TIMED_OUT if it produced nothing within 5 s, %G_IO_ERROR_FAILED otherwise
 *
 * The real #PscEncoderProbeFunc: the factory must exist, and a short pipeline
 * (videotestsrc, 10 frames of 320×240, through the encoder) must reach EOS without error and
 * produce output within 5 s. An encoder whose element exists may still fail here — no
 * device node, a driver without the profile asked for, a missing firmware — which is the
 * point of trying it.
 */
gboolean psc_encoder_probe (const PscEncoderCandidate *candidate, const char *description,
    gpointer user_data, GError **error);

/**
 * psc_encoder_select:
 * @config: the config: its encoder description, codec and bitrate/keyframe settings
 * @probe: (nullable): how to test a candidate; %NULL means psc_encoder_probe()
 * @user_data: for @probe
 * @error: why no encoder can be used
 *
 * With --encoder (or a preset's encoder), that description is used as given (expanded)
 * and its codec is read from the encoder element it contains; it must agree with an
 * explicit --codec. Otherwise the first candidate for the codec that @probe accepts wins.
 *
 * Returns: (transfer full): the choice, or %NULL with @error set (PSC_CONFIG_ERROR_USAGE for
 *   a description that does not parse or names no encoder, G_IO_ERROR_NOT_FOUND when no
 *   encoder works).
 */
PscEncoderChoice * psc_encoder_select (const PscConfig *config, PscEncoderProbeFunc probe,
    gpointer user_data, GError **error);

/**
 * psc_encoder_select_all:
 * @config: the config
 * @probe: (nullable): as for psc_encoder_select()
 * @user_data: for @probe
 * @encoders: (out caller-allocates) (array fixed-size=PSC_CODEC_COUNT): per codec, the chosen
 *   encoder (transfer full) or %NULL where none works
 * @default_codec: (out): the codec of @config's choice (--codec, or --encoder's codec)
 * @error: as for psc_encoder_select(), for the default codec only
 *
 * Chooses the encoder for the default codec as psc_encoder_select() does — it must exist —
 * and the best working one for every other codec, which may be missing: WHEP clients that
 * offer only that codec are then refused.
 *
 * Returns: %TRUE if the default codec has an encoder.
 */
gboolean psc_encoder_select_all (const PscConfig *config, PscEncoderProbeFunc probe,
    gpointer user_data, PscEncoderChoice *encoders[PSC_CODEC_COUNT], PscCodec *default_codec,
    GError **error);

/**
 * psc_encoder_print_list:
 * @config: the config (its bitrate and keyframe settings are used for probing)
 *
 * Prints every known encoder for every codec, whether its element exists, whether it
 * works here (probing each), and which would be chosen. For --list-encoders.
 */
void psc_encoder_print_list (const PscConfig *config);

G_END_DECLS
