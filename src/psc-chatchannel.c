/* periscope — a viewer's chat data channel: text over an RTCDataChannel labelled "chat"
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-chatchannel.h"
#include "psc-defer.h"

#include <gst/webrtc/webrtc.h>

GST_DEBUG_CATEGORY_STATIC (psc_chatchannel_debug);
#define GST_CAT_DEFAULT psc_chatchannel_debug

/* What webrtcbin's threads hold: outlives the channel by their references; @alive says
 * whether texts are still wanted. */
typedef struct {
  gint refcount;
  gint alive;                   /* atomic */
  GMainContext *context;
  PscChatChannelFunc func;
  gpointer user_data;
  GMutex lock;
  GstWebRTCDataChannel *theirs; /* lock: the browser's own "chat" channel, if it opened one */
} Link;

struct _PscChatChannel {
  GstElement *webrtcbin;
  GstWebRTCDataChannel *ours;   /* nullable: webrtcbin refused to make it */
  Link *link;
  gulong data_channel_handler;
};

static Link *
link_ref (Link *link)
{
  g_atomic_int_inc (&link->refcount);
  return link;
}

static void
link_unref (gpointer data)
{
  Link *link = data;

  if (!g_atomic_int_dec_and_test (&link->refcount))
    return;
  g_clear_object (&link->theirs);
  g_mutex_clear (&link->lock);
  g_main_context_unref (link->context);
  g_free (link);
}

typedef struct {
  Link *link;
  char *text;
} Text;

static void
text_free (gpointer data)
{
  Text *text = data;

  link_unref (text->link);
  g_free (text->text);
  g_free (text);
}

/* Main context. */
static gboolean
deliver_text (gpointer data)
{
  Text *text = data;

  if (g_atomic_int_get (&text->link->alive))
    text->link->func (text->text, text->link->user_data);
  return G_SOURCE_REMOVE;
}

/* webrtcbin's SCTP thread. */
static void
on_message_string (GstWebRTCDataChannel *channel, const char *string, gpointer user_data)
{
  Link *link = user_data;
  Text *text;

  if (string == NULL || !g_atomic_int_get (&link->alive))
    return;
  text = g_new0 (Text, 1);
  text->link = link_ref (link);
  text->text = g_strdup (string);
  psc_defer (link->context, deliver_text, text, text_free);
}

static void
watch (GstWebRTCDataChannel *channel, Link *link)
{
  g_signal_connect_data (channel, "on-message-string", G_CALLBACK (on_message_string),
      link_ref (link), (GClosureNotify) (void (*) (void)) link_unref, 0);
}

/* webrtcbin's thread: a channel the browser opened. */
static void
on_data_channel (GstElement *webrtcbin, GstWebRTCDataChannel *channel, gpointer user_data)
{
  Link *link = user_data;
  g_autofree char *label = NULL;

  g_object_get (channel, "label", &label, NULL);
  if (g_strcmp0 (label, PSC_CHAT_CHANNEL_LABEL) != 0) {
    GST_INFO ("ignoring a data channel labelled \"%s\"", label ? label : "");
    return;
  }
  g_mutex_lock (&link->lock);
  g_set_object (&link->theirs, channel);
  g_mutex_unlock (&link->lock);
  watch (channel, link);
}

PscChatChannel *
psc_chat_channel_new (GstElement *webrtcbin, GMainContext *context, PscChatChannelFunc func,
    gpointer user_data)
{
  PscChatChannel *self;
  g_autoptr (GstStructure) options = NULL;

  g_return_val_if_fail (GST_IS_ELEMENT (webrtcbin) && func != NULL, NULL);

  if (psc_chatchannel_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_chatchannel_debug, "psc-chatchannel", 0,
        "periscope chat data channel");

  self = g_new0 (PscChatChannel, 1);
  self->webrtcbin = gst_object_ref (webrtcbin);
  self->link = g_new0 (Link, 1);
  self->link->refcount = 1;
  self->link->alive = TRUE;
  self->link->context = g_main_context_ref (context);
  self->link->func = func;
  self->link->user_data = user_data;
  g_mutex_init (&self->link->lock);
  self->data_channel_handler = g_signal_connect_data (webrtcbin, "on-data-channel",
      G_CALLBACK (on_data_channel), link_ref (self->link),
      (GClosureNotify) (void (*) (void)) link_unref, 0);
  options = gst_structure_new ("options", "ordered", G_TYPE_BOOLEAN, TRUE, NULL);
  g_signal_emit_by_name (webrtcbin, "create-data-channel", PSC_CHAT_CHANNEL_LABEL, options,
      &self->ours);
  if (self->ours != NULL)
    watch (self->ours, self->link);
  else
    GST_WARNING ("webrtcbin made no chat data channel");
  return self;
}

static gboolean
is_open (GstWebRTCDataChannel *channel)
{
  GstWebRTCDataChannelState state = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;

  if (channel != NULL)
    g_object_get (channel, "ready-state", &state, NULL);
  return state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
}

void
psc_chat_channel_send (PscChatChannel *self, const char *text)
{
  g_autoptr (GstWebRTCDataChannel) channel = NULL;

  g_return_if_fail (self != NULL && text != NULL);

  g_mutex_lock (&self->link->lock);
  if (is_open (self->link->theirs))
    channel = g_object_ref (self->link->theirs);
  g_mutex_unlock (&self->link->lock);
  if (channel == NULL && is_open (self->ours))
    channel = g_object_ref (self->ours);
  if (channel == NULL) {
    GST_DEBUG ("no open chat channel: a message dropped");
    return;
  }
  gst_webrtc_data_channel_send_string (channel, text);
}

/* Not closed here: the viewer's webrtcbin is going, and takes its SCTP association along. */
static void
unwatch (GstWebRTCDataChannel *channel, Link *link)
{
  if (channel != NULL)
    g_signal_handlers_disconnect_by_func (channel, on_message_string, link);
}

void
psc_chat_channel_free (PscChatChannel *self)
{
  g_autoptr (GstWebRTCDataChannel) theirs = NULL;

  if (self == NULL)
    return;
  g_atomic_int_set (&self->link->alive, FALSE);
  g_clear_signal_handler (&self->data_channel_handler, self->webrtcbin);
  g_mutex_lock (&self->link->lock);
  theirs = g_steal_pointer (&self->link->theirs);
  g_mutex_unlock (&self->link->lock);
  unwatch (theirs, self->link);
  unwatch (self->ours, self->link);
  g_clear_object (&self->ours);
  gst_object_unref (self->webrtcbin);
  link_unref (self->link);
  g_free (self);
}
