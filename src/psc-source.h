/* periscope — which video source a stream captures from, and why
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "psc-config.h"

/**
 * SECTION:psc-source
 * @title: psc-source
 * @short_description: which video source a stream captures from, and why
 *
 * Chooses the gst-launch description of the capture from the configuration, or the first
 * camera found, or a test pattern, and says why to the operator; --list-devices prints the
 * cameras. Start-up, main thread.
 */

G_BEGIN_DECLS

/**
 * PscSourceKind:
 * @PSC_SOURCE_DESCRIPTION: --source, or a preset's source
 * @PSC_SOURCE_DEVICE: --device
 * @PSC_SOURCE_CAMERA: the first V4L2 camera GstDeviceMonitor found
 * @PSC_SOURCE_TEST_PATTERN: no camera: the live test pattern of the "test" preset
 *
 * How psc_source_select() found the source.
 */
typedef enum {
  PSC_SOURCE_DESCRIPTION,
  PSC_SOURCE_DEVICE,
  PSC_SOURCE_CAMERA,
  PSC_SOURCE_TEST_PATTERN,
} PscSourceKind;

/**
 * PscSourceChoice:
 * @kind: how it was chosen
 * @description: gst-launch description of the source chain (its last element's src pad
 *   is the raw or decodable video output)
 * @reason: a sentence for the operator saying which source and why
 * @device: (nullable): the V4L2 device node the source opens (e.g. "/dev/video0") for
 *   #PSC_SOURCE_DEVICE and #PSC_SOURCE_CAMERA, %NULL otherwise: what #PscDevices watches
 *   for
 *
 * The source a stream captures from. Free with psc_source_choice_free().
 */
typedef struct {
  PscSourceKind kind;
  char *description;
  char *reason;
  char *device;
} PscSourceChoice;

/**
 * psc_source_choice_free:
 * @choice: (nullable) (transfer full): a choice, or %NULL
 *
 * Frees @choice and its strings.
 */
void psc_source_choice_free (PscSourceChoice *choice);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscSourceChoice, psc_source_choice_free)

/**
 * psc_source_select:
 * @config: the config
 * @error: a PSC_CONFIG_ERROR_USAGE if a description cannot be expanded
 *
 * Picks, in order: --source (or the preset's); --device; the first V4L2 camera found by
 * a GstDeviceMonitor (Video/Source) — captured as raw video if it offers the configured
 * size and rate raw, else as MJPEG decoded by jpegdec; else the live test pattern with a
 * clock overlay, so a first run always shows something.
 *
 * Returns: (transfer full): the choice, or %NULL on error.
 */
PscSourceChoice * psc_source_select (const PscConfig *config, GError **error);

/**
 * psc_source_get_device_path:
 * @device: a device found by a GstDeviceMonitor
 *
 * The V4L2 node of a camera, from the properties its device provider sets: "api.v4l2.path"
 * (PipeWire's, newer v4l2 providers) or "device.path" (GStreamer 1.22's v4l2 provider).
 *
 * Returns: (transfer full) (nullable): the node, e.g. "/dev/video0"; %NULL if @device says
 *   none.
 */
char * psc_source_get_device_path (GstDevice *device);

/**
 * psc_source_print_devices:
 *
 * Prints the cameras GstDeviceMonitor finds, with their caps. For --list-devices.
 */
void psc_source_print_devices (void);

G_END_DECLS
