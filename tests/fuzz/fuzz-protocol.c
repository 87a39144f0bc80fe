/* periscope — fuzz target: the signalling parser (every WebSocket message goes through it)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include "psc-fuzz.h"
#include "psc-protocol.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PscMessage) message = psc_message_parse ((const char *) data, size, &error);

  /* Exactly one of message and error; a parsed message must serialise and parse again. */
  g_assert_true ((message == NULL) != (error == NULL));
  if (message != NULL) {
    g_autofree char *json = psc_message_to_json (message);
    g_autoptr (PscMessage) again = psc_message_parse (json, strlen (json), NULL);
    g_assert_nonnull (again);
    g_assert_cmpint (again->type, ==, message->type);
  } else {
    psc_fuzz_assert_error (error, PSC_PROTOCOL_ERROR);
  }
  return 0;
}
