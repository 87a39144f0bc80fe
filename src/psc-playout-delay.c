/* periscope — the playout-delay RTP header extension: asking the browser to show frames now
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-playout-delay.h"

#define PLAYOUT_DELAY_SIZE 3
#define UNIT_MS 10
#define MAX_UNITS 0xfff

struct _PscPlayoutDelay {
  GstRTPHeaderExtension parent;
  guint min_units;
  guint max_units;
};

G_DEFINE_FINAL_TYPE (PscPlayoutDelay, psc_playout_delay, GST_TYPE_RTP_HEADER_EXTENSION)

static GstRTPHeaderExtensionFlags
psc_playout_delay_get_supported_flags (GstRTPHeaderExtension *ext)
{
  return GST_RTP_HEADER_EXTENSION_ONE_BYTE | GST_RTP_HEADER_EXTENSION_TWO_BYTE;
}

static gsize
psc_playout_delay_get_max_size (GstRTPHeaderExtension *ext, const GstBuffer *input_meta)
{
  return PLAYOUT_DELAY_SIZE;
}

/* Streaming thread (the payloader's). */
static gssize
psc_playout_delay_write (GstRTPHeaderExtension *ext, const GstBuffer *input_meta,
    GstRTPHeaderExtensionFlags write_flags, GstBuffer *output, guint8 *data, gsize size)
{
  PscPlayoutDelay *self = PSC_PLAYOUT_DELAY (ext);

  g_return_val_if_fail (size >= PLAYOUT_DELAY_SIZE, -1);

  data[0] = (guint8) (self->min_units >> 4);
  data[1] = (guint8) (((self->min_units & 0xf) << 4) | (self->max_units >> 8));
  data[2] = (guint8) (self->max_units & 0xff);
  return PLAYOUT_DELAY_SIZE;
}

static gboolean
psc_playout_delay_read (GstRTPHeaderExtension *ext, GstRTPHeaderExtensionFlags read_flags,
    const guint8 *data, gsize size, GstBuffer *buffer)
{
  /* Sent only; a received one means nothing to a sender. */
  return size >= PLAYOUT_DELAY_SIZE;
}

static void
psc_playout_delay_class_init (PscPlayoutDelayClass *klass)
{
  GstRTPHeaderExtensionClass *ext_class = GST_RTP_HEADER_EXTENSION_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  ext_class->get_supported_flags = psc_playout_delay_get_supported_flags;
  ext_class->get_max_size = psc_playout_delay_get_max_size;
  ext_class->write = psc_playout_delay_write;
  ext_class->read = psc_playout_delay_read;
  gst_element_class_set_static_metadata (element_class, "Playout delay",
      GST_RTP_HDREXT_ELEMENT_CLASS, "Writes the WebRTC playout-delay RTP header extension",
      "periscope");
  gst_rtp_header_extension_class_set_uri (ext_class, PSC_PLAYOUT_DELAY_URI);
}

static void
psc_playout_delay_init (PscPlayoutDelay *self)
{
}

GstRTPHeaderExtension *
psc_playout_delay_new (guint id, guint min_ms, guint max_ms)
{
  PscPlayoutDelay *self;

  g_return_val_if_fail (id >= 1 && id <= 14, NULL);
  g_return_val_if_fail (min_ms <= max_ms, NULL);

  self = g_object_new (PSC_TYPE_PLAYOUT_DELAY, NULL);
  self->min_units = MIN (min_ms / UNIT_MS, MAX_UNITS);
  self->max_units = MIN (max_ms / UNIT_MS, MAX_UNITS);
  gst_rtp_header_extension_set_id (GST_RTP_HEADER_EXTENSION (self), id);
  return GST_RTP_HEADER_EXTENSION (gst_object_ref_sink (self));
}
