/* periscope — credentials taken out of text that is shown or logged
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-redact.h"

#include <string.h>

/* Ends of the names whose values are secrets: GStreamer's (rtspsrc user-pw, proxy-pw;
 * souphttpsrc user-pw, proxy-pw; srtsrc passphrase) and the usual spellings elsewhere. */
static const char *const secret_suffixes[] = {
  "pw", "pwd", "pass", "passwd", "password", "passphrase", "secret", "token", "credential",
};

/* Characters that end an unquoted value or a URL's authority. */
#define VALUE_END " \t\r\n!,;&\"'"
#define AUTHORITY_END "/?#" VALUE_END

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.';
}

static gboolean
is_secret_name (const char *name, gsize length)
{
  for (guint i = 0; i < G_N_ELEMENTS (secret_suffixes); i++) {
    gsize suffix = strlen (secret_suffixes[i]);

    if (length >= suffix &&
        g_ascii_strncasecmp (name + length - suffix, secret_suffixes[i], suffix) == 0)
      return TRUE;
  }
  return FALSE;
}

/* At @p, just after "://": copies the authority to @out with the password of its user info
 * redacted. Returns where the authority ends. */
static const char *
redact_authority (GString *out, const char *p)
{
  gsize length = strcspn (p, AUTHORITY_END);
  const char *at = g_strrstr_len (p, length, "@");
  const char *colon;

  if (at == NULL) {
    g_string_append_len (out, p, length);
    return p + length;
  }
  colon = memchr (p, ':', at - p);
  if (colon == NULL) {
    g_string_append_len (out, p, at - p);
  } else {
    g_string_append_len (out, p, colon + 1 - p);
    g_string_append (out, PSC_REDACTED);
  }
  return at;
}

/* At @p, a value after "name=": copies it redacted (quotes kept). Returns where it ends. */
static const char *
redact_value (GString *out, const char *p)
{
  if (*p == '"' || *p == '\'') {
    const char *end = strchr (p + 1, *p);

    g_string_append_c (out, *p);
    g_string_append (out, PSC_REDACTED);
    if (end == NULL)
      return p + strlen (p);
    g_string_append_c (out, *end);
    return end + 1;
  }
  g_string_append (out, PSC_REDACTED);
  return p + strcspn (p, VALUE_END);
}

char *
psc_redact_credentials (const char *text)
{
  GString *out;
  const char *p = text;

  if (text == NULL)
    return NULL;
  out = g_string_sized_new (strlen (text));
  while (*p != '\0') {
    if (g_str_has_prefix (p, "://")) {
      g_string_append (out, "://");
      p = redact_authority (out, p + 3);
      continue;
    }
    /* A name starts here: "user-pw=…", "?passphrase=…". */
    if (is_name_char (*p) && (p == text || !is_name_char (p[-1]))) {
      gsize length = 0;

      while (is_name_char (p[length]))
        length++;
      g_string_append_len (out, p, length);
      if (p[length] == '=' && is_secret_name (p, length)) {
        g_string_append_c (out, '=');
        p = redact_value (out, p + length + 1);
      } else {
        p += length;
      }
      continue;
    }
    g_string_append_c (out, *p++);
  }
  return g_string_free (out, FALSE);
}
