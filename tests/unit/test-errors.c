/* periscope unit tests — the one place each edge translates errors: signalling's wire codes,
 * WHEP's HTTP statuses, the daemon's exit statuses
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>

#include "psc-config.h"
#include "psc-daemon.h"
#include "psc-registry.h"
#include "psc-sdp.h"
#include "psc-signalling.h"
#include "psc-tls.h"
#include "psc-viewer.h"
#include "psc-whep.h"

typedef struct {
  GQuark domain;
  gint code;
  const char *wire;             /* psc_signalling_error_code(), by name */
  guint status;                 /* psc_whep_http_status() */
} Case;

static void
test_translations (void)
{
  const Case cases[] = {
    { PSC_SDP_ERROR, PSC_SDP_ERROR_INVALID, "bad_sdp", 400 },
    { PSC_SDP_ERROR, PSC_SDP_ERROR_NO_VIDEO, "bad_sdp", 400 },
    { PSC_SDP_ERROR, PSC_SDP_ERROR_NO_CODEC, "bad_sdp", 406 },
    { PSC_SDP_ERROR, PSC_SDP_ERROR_MISMATCH, "bad_sdp", 400 },
    { PSC_SDP_ERROR, PSC_SDP_ERROR_INCOMPLETE, "bad_sdp", 400 },
    { PSC_SDP_ERROR, PSC_SDP_ERROR_TOO_LARGE, "bad_sdp", 413 },
    { PSC_SDP_ERROR, PSC_SDP_ERROR_ICE_RESTART, "bad_sdp", 422 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BUILD, "internal", 500 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BAD_STATE, "bad_state", 409 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_BAD_CANDIDATE, "invalid_field", 400 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_REMOTE_SDP, "bad_sdp", 400 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_NEGOTIATION, "internal", 500 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_CONNECT_TIMEOUT, "timeout", 500 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_CONNECTION_FAILED, "connection_failed", 500 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_SILENT, "timeout", 500 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_ENDED, "session_ended", 500 },
    { PSC_VIEWER_ERROR, PSC_VIEWER_ERROR_FAILED, "internal", 500 },
    { PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_NO_STREAM, "unknown_peer", 404 },
    { PSC_REGISTRY_ERROR, PSC_REGISTRY_ERROR_VIEWER_LIMIT, "too_many_peers", 503 },
    { PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_RATE_LIMITED, "rate_limited", 500 },
    { PSC_PROTOCOL_ERROR, PSC_PROTOCOL_ERROR_NO_COMMON_CODEC, "no_common_codec", 500 },
    { G_IO_ERROR, G_IO_ERROR_FAILED, "internal", 500 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = g_error_new_literal (cases[i].domain, cases[i].code, "why");

    g_test_message ("%s %d", g_quark_to_string (cases[i].domain), cases[i].code);
    g_assert_cmpstr (psc_protocol_error_to_string (psc_signalling_error_code (error)), ==,
        cases[i].wire);
    g_assert_cmpuint (psc_whep_http_status (error), ==, cases[i].status);
  }
}

static void
test_exit_codes (void)
{
  g_autoptr (GError) usage = g_error_new_literal (PSC_CONFIG_ERROR, PSC_CONFIG_ERROR_PRESET, "");
  g_autoptr (GError) option = g_error_new_literal (G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "");
  g_autoptr (GError) camera = g_error_new_literal (GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_BUSY, "");
  g_autoptr (GError) tls_file = g_error_new_literal (PSC_TLS_ERROR, PSC_TLS_ERROR_FILE, "");
  g_autoptr (GError) tls_generate = g_error_new_literal (PSC_TLS_ERROR, PSC_TLS_ERROR_GENERATE,
      "");

  g_assert_cmpint (psc_exit_code_for_error (usage), ==, 64);
  g_assert_cmpint (psc_exit_code_for_error (option), ==, 64);
  g_assert_cmpint (psc_exit_code_for_error (camera), ==, 69);
  /* A certificate or key file to fix is the user's mistake; a data directory that cannot be
   * written, the machine's. */
  g_assert_cmpint (psc_exit_code_for_error (tls_file), ==, 64);
  g_assert_cmpint (psc_exit_code_for_error (tls_generate), ==, 69);
}

/* Every state has its own name, and the REST API's are the documented ones. */
static void
test_viewer_states (void)
{
  g_assert_cmpstr (psc_viewer_state_to_string (PSC_VIEWER_NEW), ==, "new");
  g_assert_cmpstr (psc_viewer_state_to_string (PSC_VIEWER_NEGOTIATING), ==, "negotiating");
  g_assert_cmpstr (psc_viewer_state_to_string (PSC_VIEWER_AWAITING_ANSWER), ==,
      "awaiting_answer");
  g_assert_cmpstr (psc_viewer_state_to_string (PSC_VIEWER_CONNECTING), ==, "connecting");
  g_assert_cmpstr (psc_viewer_state_to_string (PSC_VIEWER_CONNECTED), ==, "connected");
  g_assert_cmpstr (psc_viewer_state_to_string (PSC_VIEWER_CLOSED), ==, "closed");
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/errors/translations", test_translations);
  g_test_add_func ("/errors/exit-codes", test_exit_codes);
  g_test_add_func ("/errors/viewer-states", test_viewer_states);
  return g_test_run ();
}
