/* periscope unit tests — the self-signed certificate, loading given ones, the fingerprint
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>

#include "psc-tls.h"

static const char *const addresses[] = { "192.0.2.7", "2001:db8::7", "127.0.0.1",
  "not-an-address", NULL };

typedef struct {
  char *dir;
  GTlsCertificate *certificate;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("periscope-tls-XXXXXX", &error);
  gboolean created = FALSE;

  g_assert_no_error (error);
  /* Not made yet: psc_tls_self_signed() makes it. */
  f->dir = g_build_filename (tmp, "state", NULL);
  f->certificate = psc_tls_self_signed (f->dir, "camera-box", addresses, &created, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->certificate);
  g_assert_true (created);
}

static void
remove_tree (const char *dir)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
  g_rmdir (parent);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->certificate);
  remove_tree (f->dir);
  g_free (f->dir);
}

static char *
path_in (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static gnutls_x509_crt_t
parse (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;
  gnutls_x509_crt_t crt;
  gnutls_datum_t datum;

  g_object_get (certificate, "certificate", &der, NULL);
  datum.data = der->data;
  datum.size = der->len;
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER), ==, 0);
  return crt;
}

/* subjectAltName entries as "DNS:name" and "IP:address". */
static GStrv
alt_names (gnutls_x509_crt_t crt)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (unsigned seq = 0;; seq++) {
    char buf[256];
    size_t size = sizeof buf;
    int type = gnutls_x509_crt_get_subject_alt_name (crt, seq, buf, &size, NULL);

    if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
      break;
    g_assert_cmpint (type, >=, 0);
    if (type == GNUTLS_SAN_DNSNAME) {
      g_autofree char *entry = g_strdup_printf ("DNS:%.*s", (int) size, buf);
      g_strv_builder_add (builder, entry);
    } else if (type == GNUTLS_SAN_IPADDRESS) {
      g_autoptr (GInetAddress) address = g_inet_address_new_from_bytes ((guint8 *) buf,
          size == 4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
      g_autofree char *text = g_inet_address_to_string (address);
      g_autofree char *entry = g_strconcat ("IP:", text, NULL);
      g_strv_builder_add (builder, entry);
    }
  }
  return g_strv_builder_end (builder);
}

static void
test_names (Fixture *f, gconstpointer data)
{
  gnutls_x509_crt_t crt = parse (f->certificate);
  g_auto (GStrv) names = alt_names (crt);
  g_autofree char *joined = g_strjoinv (" ", names);

  /* Each once, in this order; "not-an-address" is left out, 127.0.0.1 not repeated. */
  g_assert_cmpstr (joined, ==, "DNS:camera-box DNS:camera-box.local DNS:localhost "
      "IP:127.0.0.1 IP:::1 IP:192.0.2.7 IP:2001:db8::7");
  gnutls_x509_crt_deinit (crt);
}

static void
test_identity (Fixture *f, gconstpointer data)
{
  const char *good[] = { "camera-box", "camera-box.local", "localhost", "127.0.0.1", "::1",
    "192.0.2.7", "2001:db8::7" };
  const char *bad[] = { "other-box", "192.0.2.8", "example.org" };

  /* What a TLS client checks (RFC 6125), through GLib's backend, trusting the certificate
   * itself as its own anchor. */
  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GSocketConnectable) identity = g_network_address_new (good[i], 443);
    GTlsCertificateFlags flags = g_tls_certificate_verify (f->certificate, identity,
        f->certificate);
    g_test_message ("%s: flags 0x%x", good[i], flags);
    g_assert_cmpuint (flags, ==, 0);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GSocketConnectable) identity = g_network_address_new (bad[i], 443);
    GTlsCertificateFlags flags = g_tls_certificate_verify (f->certificate, identity,
        f->certificate);
    g_assert_cmpuint (flags & G_TLS_CERTIFICATE_BAD_IDENTITY, !=, 0);
  }
}

static void
test_usage (Fixture *f, gconstpointer data)
{
  gnutls_x509_crt_t crt = parse (f->certificate);
  unsigned key_usage = 0, critical = 0;
  unsigned int ca = 1;
  int path_len;
  char purpose[64];
  size_t purpose_size = sizeof purpose;
  unsigned bits = 0;
  time_t now = time (NULL);

  g_assert_cmpint (gnutls_x509_crt_get_key_usage (crt, &key_usage, &critical), ==, 0);
  g_assert_cmpuint (key_usage, ==, GNUTLS_KEY_DIGITAL_SIGNATURE);
  g_assert_cmpint (gnutls_x509_crt_get_basic_constraints (crt, &critical, &ca, &path_len), >=,
      0);
  g_assert_cmpuint (ca, ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_key_purpose_oid (crt, 0, purpose, &purpose_size, NULL),
      ==, 0);
  g_assert_cmpstr (purpose, ==, GNUTLS_KP_TLS_WWW_SERVER);
  g_assert_cmpint (gnutls_x509_crt_get_pk_algorithm (crt, &bits), ==, GNUTLS_PK_ECDSA);
  g_assert_cmpuint (bits, ==, 256);
  g_assert_cmpint (gnutls_x509_crt_get_activation_time (crt), <=, now);
  g_assert_cmpint (gnutls_x509_crt_get_expiration_time (crt), >, now + 4 * 365 * 24 * 3600);
  g_assert_cmpint (gnutls_x509_crt_get_version (crt), ==, 3);
  gnutls_x509_crt_deinit (crt);
}

static void
test_reuse (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean created = TRUE;
  /* Other addresses: the certificate is kept all the same, so its fingerprint is. */
  const char *const moved[] = { "198.51.100.1", NULL };
  g_autoptr (GTlsCertificate) again = psc_tls_self_signed (f->dir, "renamed-box", moved,
      &created, &error);
  g_autofree char *first = psc_tls_fingerprint (f->certificate);
  g_autofree char *second = NULL;

  g_assert_no_error (error);
  g_assert_false (created);
  second = psc_tls_fingerprint (again);
  g_assert_cmpstr (first, ==, second);
  g_assert_true (g_tls_certificate_is_same (f->certificate, again));
}

static void
test_modes (Fixture *f, gconstpointer data)
{
  const char *names[] = { PSC_TLS_CERT_FILE, PSC_TLS_KEY_FILE };
  GStatBuf st;

  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = path_in (f, names[i]);
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  }
}

static void
expect_file_error (GError *error, const char *file, const char *fragment)
{
  g_assert_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_FILE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, file));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_damaged (Fixture *f, gconstpointer data)
{
  const char *names[] = { PSC_TLS_CERT_FILE, PSC_TLS_KEY_FILE };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = path_in (f, names[i]);
    g_autofree char *contents = NULL;
    gsize length;
    g_autoptr (GError) error = NULL;
    g_autoptr (GTlsCertificate) certificate = NULL;

    g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
    /* Cut in the middle, as a full disk or a power cut leaves it. */
    g_assert_true (g_file_set_contents (path, contents, length / 2, NULL));
    certificate = psc_tls_self_signed (f->dir, "camera-box", NULL, NULL, &error);
    g_assert_null (certificate);
    expect_file_error (error, names[i], "delete");
    /* Kept as it was, for the user to look at: not silently replaced. */
    g_assert_true (g_file_set_contents (path, contents, length, NULL));
  }
}

static void
test_missing_key (Fixture *f, gconstpointer data)
{
  g_autofree char *key = path_in (f, PSC_TLS_KEY_FILE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;

  g_assert_cmpint (g_unlink (key), ==, 0);
  certificate = psc_tls_self_signed (f->dir, "camera-box", NULL, NULL, &error);
  g_assert_null (certificate);
  expect_file_error (error, PSC_TLS_KEY_FILE, "cannot read");
}

static void
test_load (Fixture *f, gconstpointer data)
{
  g_autofree char *cert = path_in (f, PSC_TLS_CERT_FILE);
  g_autofree char *key = path_in (f, PSC_TLS_KEY_FILE);
  g_autofree char *other_dir = g_build_filename (f->dir, "other", NULL);
  g_autofree char *other_key = g_build_filename (other_dir, PSC_TLS_KEY_FILE, NULL);
  g_autofree char *other_cert = g_build_filename (other_dir, PSC_TLS_CERT_FILE, NULL);
  g_autoptr (GTlsCertificate) loaded = NULL;
  g_autoptr (GTlsCertificate) other = NULL;
  g_autoptr (GError) error = NULL;

  loaded = psc_tls_load (cert, key, &error);
  g_assert_no_error (error);
  g_assert_true (g_tls_certificate_is_same (loaded, f->certificate));

  other = psc_tls_self_signed (other_dir, "camera-box", NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&loaded);
  loaded = psc_tls_load (cert, other_key, &error);
  g_assert_null (loaded);
  expect_file_error (error, other_key, "is not the key of the certificate");
  g_clear_error (&error);

  loaded = psc_tls_load (cert, "/nonexistent/key.pem", &error);
  g_assert_null (loaded);
  expect_file_error (error, "/nonexistent/key.pem", "cannot read the TLS key");
  g_clear_error (&error);

  /* A key where the certificate should be, and the other way round. */
  loaded = psc_tls_load (key, key, &error);
  expect_file_error (error, key, "is not a PEM certificate");
  g_clear_error (&error);
  loaded = psc_tls_load (cert, cert, &error);
  expect_file_error (error, cert, "is not an unencrypted PEM private key");
  g_clear_error (&error);

  g_unlink (other_key);
  g_unlink (other_cert);
  g_rmdir (other_dir);
}

static void
test_fingerprint (Fixture *f, gconstpointer data)
{
  gnutls_x509_crt_t crt = parse (f->certificate);
  unsigned char digest[32];
  size_t size = sizeof digest;
  g_autofree char *fingerprint = psc_tls_fingerprint (f->certificate);
  g_autoptr (GString) expected = g_string_new (NULL);

  g_assert_cmpint (gnutls_x509_crt_get_fingerprint (crt, GNUTLS_DIG_SHA256, digest, &size), ==,
      0);
  for (gsize i = 0; i < size; i++)
    g_string_append_printf (expected, i == 0 ? "%02X" : ":%02X", digest[i]);
  g_assert_cmpstr (fingerprint, ==, expected->str);

  gnutls_x509_crt_deinit (crt);
}

static void
test_data_dir (void)
{
  g_autofree char *dir = NULL;

  g_setenv ("STATE_DIRECTORY", "/var/lib/periscope-unit:/var/lib/other", TRUE);
  dir = psc_tls_default_data_dir ();
  g_assert_cmpstr (dir, ==, "/var/lib/periscope-unit");
  g_unsetenv ("STATE_DIRECTORY");
  g_free (dir);
  dir = psc_tls_default_data_dir ();
  g_assert_true (g_str_has_suffix (dir, "periscope"));
}

static void
test_unwritable (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = psc_tls_self_signed ("/proc/periscope-unit",
      "camera-box", NULL, NULL, &error);

  g_assert_null (certificate);
  g_assert_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_GENERATE);
  g_assert_nonnull (strstr (error->message, "/proc/periscope-unit"));
}

#define ADD(path, test) \
  g_test_add ((path), Fixture, NULL, fixture_setup, (test), fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/tls/self-signed/names", test_names);
  ADD ("/tls/self-signed/identity", test_identity);
  ADD ("/tls/self-signed/usage", test_usage);
  ADD ("/tls/self-signed/reuse", test_reuse);
  ADD ("/tls/self-signed/modes", test_modes);
  ADD ("/tls/self-signed/damaged", test_damaged);
  ADD ("/tls/self-signed/missing-key", test_missing_key);
  ADD ("/tls/load", test_load);
  ADD ("/tls/fingerprint", test_fingerprint);
  g_test_add_func ("/tls/data-dir", test_data_dir);
  g_test_add_func ("/tls/unwritable", test_unwritable);
  return g_test_run ();
}
