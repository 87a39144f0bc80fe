/* periscope — plain HTTP redirected to HTTPS
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-redirect.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (psc_redirect_debug);
#define GST_CAT_DEFAULT psc_redirect_debug

#define HTTPS_DEFAULT_PORT 443
#define NO_HOST "this port only redirects to HTTPS, and needs a Host header\n"

static void
on_request (SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  guint https_port = GPOINTER_TO_UINT (user_data);
  GUri *uri = soup_server_message_get_uri (msg);
  const char *host = g_uri_get_host (uri);
  g_autofree char *location = NULL;
  g_autofree char *body = NULL;

  /* libsoup builds the URI from Host, or from the listening address without one. */
  if (host == NULL || *host == '\0') {
    soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, NO_HOST,
        strlen (NO_HOST));
    return;
  }
  location = g_uri_join (G_URI_FLAGS_ENCODED, "https", NULL, host,
      https_port == HTTPS_DEFAULT_PORT ? -1 : (int) https_port, g_uri_get_path (uri),
      g_uri_get_query (uri), NULL);
  GST_DEBUG ("%s %s -> %s", soup_server_message_get_method (msg), path, location);
  body = g_strdup_printf ("periscope speaks HTTPS here: %s\n", location);
  soup_server_message_set_redirect (msg, SOUP_STATUS_PERMANENT_REDIRECT, location);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, body, strlen (body));
}

void
psc_redirect_add_handler (SoupServer *soup, guint https_port)
{
  g_return_if_fail (SOUP_IS_SERVER (soup) && https_port > 0 && https_port <= G_MAXUINT16);

  if (psc_redirect_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_redirect_debug, "psc-redirect", 0,
        "periscope HTTP to HTTPS redirect");
  soup_server_add_handler (soup, NULL, on_request, GUINT_TO_POINTER (https_port), NULL);
}
