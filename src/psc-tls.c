/* periscope — TLS: the server's certificate, given or self-signed, and its fingerprint
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "psc-tls.h"
#include "psc-origin.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (psc_tls_debug);
#define GST_CAT_DEFAULT psc_tls_debug

/* Long enough not to bother anyone who accepted the certificate once; certificates that
 * browsers trust through a CA may not exceed 398 days, but a self-signed one is trusted by
 * its fingerprint, which must not change every year. */
#define VALIDITY_DAYS (5 * 365)
/* Some clocks are a little behind the box's. */
#define BACKDATE_S 3600
#define SERIAL_BYTES 16

G_DEFINE_QUARK (psc-tls-error-quark, psc_tls_error)

static void
init_debug (void)
{
  if (psc_tls_debug == NULL)
    GST_DEBUG_CATEGORY_INIT (psc_tls_debug, "psc-tls", 0, "periscope TLS certificates");
}

/* GnuTLS's handles, freed by g_autoptr. */
typedef struct gnutls_x509_crt_int PscX509Crt;
typedef struct gnutls_x509_privkey_int PscX509Key;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscX509Crt, gnutls_x509_crt_deinit)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PscX509Key, gnutls_x509_privkey_deinit)

static void
datum_clear (gnutls_datum_t *datum)
{
  gnutls_free (datum->data);
  datum->data = NULL;
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (gnutls_datum_t, datum_clear)

static gboolean
check_tls_backend (GError **error)
{
  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ())) {
    g_set_error_literal (error, PSC_TLS_ERROR, PSC_TLS_ERROR_BACKEND,
        "GLib has no TLS support here: install glib-networking");
    return FALSE;
  }
  return TRUE;
}

static char *
read_file (const char *path, const char *what, gnutls_datum_t *datum, GError **error)
{
  g_autoptr (GError) read_error = NULL;
  char *contents;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &read_error)) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_FILE, "cannot read the TLS %s: %s", what,
        read_error->message);
    return NULL;
  }
  datum->data = (unsigned char *) contents;
  datum->size = length;
  return contents;
}

/* The SHA-256 key ids of a certificate and a key are equal when the key is the
 * certificate's: both hash the same SubjectPublicKeyInfo. */
static gboolean
key_matches (gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
  unsigned char crt_id[32], key_id[32];
  size_t crt_size = sizeof crt_id, key_size = sizeof key_id;

  return gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_size) == 0 &&
      gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id, &key_size) == 0 &&
      crt_size == key_size && memcmp (crt_id, key_id, crt_size) == 0;
}

GTlsCertificate *
psc_tls_load (const char *cert_file, const char *key_file, GError **error)
{
  g_autoptr (PscX509Crt) crt = NULL;
  g_autoptr (PscX509Key) key = NULL;
  g_autoptr (GError) tls_error = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *key_pem = NULL;
  gnutls_datum_t cert_datum, key_datum;
  GTlsCertificate *certificate;
  int ret;

  g_return_val_if_fail (cert_file != NULL && key_file != NULL, NULL);

  init_debug ();
  if (!check_tls_backend (error))
    return NULL;
  cert_pem = read_file (cert_file, "certificate", &cert_datum, error);
  if (cert_pem == NULL)
    return NULL;
  key_pem = read_file (key_file, "key", &key_datum, error);
  if (key_pem == NULL)
    return NULL;

  gnutls_x509_crt_init (&crt);
  ret = gnutls_x509_crt_import (crt, &cert_datum, GNUTLS_X509_FMT_PEM);
  if (ret < 0) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_FILE,
        "%s is not a PEM certificate (-----BEGIN CERTIFICATE-----): %s", cert_file,
        gnutls_strerror (ret));
    return NULL;
  }
  gnutls_x509_privkey_init (&key);
  ret = gnutls_x509_privkey_import2 (key, &key_datum, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (ret < 0) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_FILE,
        "%s is not an unencrypted PEM private key: %s", key_file, gnutls_strerror (ret));
    return NULL;
  }
  if (!key_matches (crt, key)) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_FILE,
        "the key in %s is not the key of the certificate in %s", key_file, cert_file);
    return NULL;
  }
  certificate = g_tls_certificate_new_from_files (cert_file, key_file, &tls_error);
  if (certificate == NULL) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_FILE, "%s and %s: %s", cert_file,
        key_file, tls_error->message);
    return NULL;
  }
  GST_DEBUG ("loaded %s and %s", cert_file, key_file);
  return certificate;
}

static gboolean
add_ip_name (gnutls_x509_crt_t crt, const char *text)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (text);

  if (address == NULL)
    return FALSE;
  return gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS,
      g_inet_address_to_bytes (address), g_inet_address_get_native_size (address),
      GNUTLS_FSAN_APPEND) == 0;
}

static gboolean
add_dns_name (gnutls_x509_crt_t crt, const char *name)
{
  return gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, name, strlen (name),
      GNUTLS_FSAN_APPEND) == 0;
}

/* The names browsers may reach the box by: its host name and mDNS name
 * (psc_origin_box_names()), and localhost. */
static int
add_names (gnutls_x509_crt_t crt, const char *hostname, const char *const *addresses)
{
  static const char *const loopback[] = { "127.0.0.1", "::1", NULL };
  g_auto (GStrv) names = psc_origin_box_names (hostname);

  for (guint i = 0; names[i] != NULL; i++)
    if (!add_dns_name (crt, names[i]))
      return GNUTLS_E_INVALID_REQUEST;
  if (!g_str_equal (hostname, "localhost") && !add_dns_name (crt, "localhost"))
    return GNUTLS_E_INVALID_REQUEST;
  for (guint i = 0; loopback[i] != NULL; i++)
    if (!add_ip_name (crt, loopback[i]))
      return GNUTLS_E_INVALID_REQUEST;
  for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++) {
    if (g_strv_contains (loopback, addresses[i]))
      continue;
    if (!add_ip_name (crt, addresses[i]))
      GST_WARNING ("not an IP address, left out of the certificate: %s", addresses[i]);
  }
  return 0;
}

/* Makes the key and the certificate, as PEM; returns a GnuTLS error code. */
static int
generate (const char *hostname, const char *const *addresses, gnutls_datum_t *cert_pem,
    gnutls_datum_t *key_pem)
{
  g_autoptr (PscX509Crt) crt = NULL;
  g_autoptr (PscX509Key) key = NULL;
  unsigned char serial[SERIAL_BYTES], key_id[32];
  size_t key_id_size = sizeof key_id;
  time_t now = time (NULL);
  int ret;

  if ((ret = gnutls_x509_privkey_init (&key)) < 0 ||
      (ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
              GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0 ||
      (ret = gnutls_x509_crt_init (&crt)) < 0)
    return ret;
  /* RFC 5280 §4.1.2.2: positive, at most 20 bytes; random, so that two boxes' certificates
   * never share an issuer and serial. */
  if ((ret = gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial)) < 0)
    return ret;
  serial[0] = (serial[0] & 0x7f) | 0x40;
  if ((ret = gnutls_x509_crt_set_version (crt, 3)) < 0 ||
      (ret = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0 ||
      (ret = gnutls_x509_crt_set_activation_time (crt, now - BACKDATE_S)) < 0 ||
      (ret = gnutls_x509_crt_set_expiration_time (crt,
              now + (time_t) VALIDITY_DAYS * 24 * 3600)) < 0 ||
      (ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, hostname,
              strlen (hostname))) < 0 ||
      (ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
              "periscope (self-signed)", strlen ("periscope (self-signed)"))) < 0 ||
      (ret = add_names (crt, hostname, addresses)) < 0 ||
      (ret = gnutls_x509_crt_set_key (crt, key)) < 0 ||
      (ret = gnutls_x509_crt_set_basic_constraints (crt, 0, -1)) < 0 ||
      (ret = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
      (ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
      (ret = gnutls_x509_crt_get_key_id (crt, 0, key_id, &key_id_size)) < 0 ||
      (ret = gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size)) < 0 ||
      (ret = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0 ||
      (ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, cert_pem)) < 0)
    return ret;
  /* PKCS #8: the one private-key form every GLib TLS backend reads. */
  return gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
      key_pem);
}

static gboolean
store (const char *path, const gnutls_datum_t *pem, GError **error)
{
  g_autoptr (GError) write_error = NULL;

  if (!g_file_set_contents_full (path, (const char *) pem->data, pem->size,
          G_FILE_SET_CONTENTS_CONSISTENT, 0600, &write_error)) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_GENERATE, "cannot store the TLS "
        "certificate: %s", write_error->message);
    return FALSE;
  }
  return TRUE;
}

GTlsCertificate *
psc_tls_self_signed (const char *data_dir, const char *hostname,
    const char *const *addresses, gboolean *created, GError **error)
{
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_auto (gnutls_datum_t) cert_pem = { NULL, 0 };
  g_auto (gnutls_datum_t) key_pem = { NULL, 0 };
  GTlsCertificate *certificate;
  int ret;

  g_return_val_if_fail (data_dir != NULL && hostname != NULL && *hostname != '\0', NULL);

  init_debug ();
  if (created != NULL)
    *created = FALSE;
  if (!check_tls_backend (error))
    return NULL;
  cert_path = g_build_filename (data_dir, PSC_TLS_CERT_FILE, NULL);
  key_path = g_build_filename (data_dir, PSC_TLS_KEY_FILE, NULL);
  if (g_file_test (cert_path, G_FILE_TEST_EXISTS) || g_file_test (key_path, G_FILE_TEST_EXISTS)) {
    certificate = psc_tls_load (cert_path, key_path, error);
    if (certificate == NULL)
      g_prefix_error (error, "the self-signed certificate in %s cannot be used (delete %s and "
          "%s to make a new one): ", data_dir, PSC_TLS_CERT_FILE, PSC_TLS_KEY_FILE);
    return certificate;
  }

  if (g_mkdir_with_parents (data_dir, 0700) != 0) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_GENERATE, "cannot make the data "
        "directory %s: %s (--data-dir chooses another)", data_dir, g_strerror (errno));
    return NULL;
  }
  ret = generate (hostname, addresses, &cert_pem, &key_pem);
  if (ret < 0) {
    g_set_error (error, PSC_TLS_ERROR, PSC_TLS_ERROR_GENERATE, "cannot make a self-signed "
        "certificate: %s", gnutls_strerror (ret));
    return NULL;
  }
  /* The key first: a certificate without its key would be taken for a damaged pair. */
  if (!store (key_path, &key_pem, error) || !store (cert_path, &cert_pem, error)) {
    g_unlink (key_path);
    return NULL;
  }
  GST_INFO ("made a self-signed certificate for %s in %s", hostname, data_dir);
  if (created != NULL)
    *created = TRUE;
  return psc_tls_load (cert_path, key_path, error);
}

char *
psc_tls_default_data_dir (void)
{
  const char *state_directory = g_getenv ("STATE_DIRECTORY");

  /* systemd may give several, colon-separated; the first is ours. */
  if (state_directory != NULL && *state_directory != '\0') {
    g_auto (GStrv) dirs = g_strsplit (state_directory, ":", 2);
    return g_strdup (dirs[0]);
  }
  if (getuid () == 0)
    return g_strdup ("/var/lib/periscope");
  return g_build_filename (g_get_user_state_dir (), "periscope", NULL);
}

static GByteArray *
certificate_der (GTlsCertificate *certificate)
{
  GByteArray *der = NULL;

  g_object_get (certificate, "certificate", &der, NULL);
  return der;
}

char *
psc_tls_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;
  guint8 digest[32];
  gsize digest_size = sizeof digest;
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  der = certificate_der (certificate);
  g_checksum_update (checksum, der->data, der->len);
  g_checksum_get_digest (checksum, digest, &digest_size);
  for (gsize i = 0; i < digest_size; i++)
    g_string_append_printf (out, i == 0 ? "%02X" : ":%02X", digest[i]);
  return g_string_free (out, FALSE);
}
