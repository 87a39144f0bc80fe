/* periscope — a viewer's chat data channel: text over an RTCDataChannel labelled "chat"
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

/**
 * SECTION:psc-chatchannel
 * @title: psc-chatchannel
 * @short_description: a viewer's chat data channel: text over an RTCDataChannel labelled "chat"
 *
 * #PscChatChannel is the chat of one camera viewer over WebRTC (seed 000's text mode): a data
 * channel labelled #PSC_CHAT_CHANNEL_LABEL that webrtcbin opens (so its offer carries the SCTP
 * m-line, RFC 8841), and any channel of that label the browser opens itself. Texts that come
 * in on webrtcbin's SCTP thread are handed to the main context. Made only for viewers that
 * ask: the others' offers and costs stay as they were.
 */

G_BEGIN_DECLS

/**
 * PSC_CHAT_CHANNEL_LABEL:
 *
 * The label of a chat data channel.
 */
#define PSC_CHAT_CHANNEL_LABEL "chat"

/**
 * PscChatChannel:
 *
 * The chat channels of one webrtcbin (psc_chat_channel_new()).
 */
typedef struct _PscChatChannel PscChatChannel;

/**
 * PscChatChannelFunc:
 * @text: a text message from the browser (not checked: see psc_protocol_check_chat_text())
 * @user_data: the callback's data
 *
 * Called on the main context of psc_chat_channel_new() for each text message.
 */
typedef void (*PscChatChannelFunc) (const char *text, gpointer user_data);

/**
 * psc_chat_channel_new:
 * @webrtcbin: a webrtcbin in READY or above, before its offer is made
 * @context: where @func is called
 * @func: called with each text message
 * @user_data: (closure func): for @func; a reference is not taken: free the channel before it
 *   goes
 *
 * Opens the chat data channel (ordered, reliable) on @webrtcbin and watches for channels the
 * browser opens.
 *
 * Returns: (transfer full): the channel; free with psc_chat_channel_free().
 */
PscChatChannel * psc_chat_channel_new (GstElement *webrtcbin, GMainContext *context,
    PscChatChannelFunc func, gpointer user_data);

/**
 * psc_chat_channel_send:
 * @channel: the chat channel
 * @text: a text message (UTF-8)
 *
 * Sends @text on the browser's chat channel if it opened one, else on ours, once it is open;
 * dropped before that (the page gets `chat_history` over its WebSocket anyway). Main context.
 */
void             psc_chat_channel_send (PscChatChannel *channel, const char *text);

/**
 * psc_chat_channel_free:
 * @channel: (nullable) (transfer full): the chat channel, or %NULL
 *
 * Stops watching (texts still on their way are dropped); the channels close with their
 * webrtcbin.
 */
void             psc_chat_channel_free (PscChatChannel *channel);

G_END_DECLS
