/* periscope — TLS: the server's certificate, given or self-signed, and its fingerprint
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

/**
 * SECTION:psc-tls
 * @title: psc-tls
 * @short_description: TLS: the server's certificate, given or self-signed, and its fingerprint
 *
 * The certificate the HTTP server presents (#PscServer, psc_server_set_tls_certificate()):
 * either one the user gives (`--tls-cert`, `--tls-key`), checked here so that a wrong file
 * is named at start-up rather than found in a failed handshake, or one periscope makes for
 * itself once (`--tls self-signed`) and keeps in its data directory. TLS itself is GLib's
 * (glib-networking's GnuTLS backend); key and certificate generation is GnuTLS's own API.
 * Main thread, at start-up; blocking file I/O.
 */

G_BEGIN_DECLS

/**
 * PSC_TLS_ERROR:
 *
 * The error domain of the certificate: codes are #PscTlsError. psc_exit_code_for_error()
 * maps #PSC_TLS_ERROR_FILE to 64 (the user must fix a file) and the others to 69.
 */
#define PSC_TLS_ERROR (psc_tls_error_quark ())

/**
 * psc_tls_error_quark:
 *
 * The quark behind #PSC_TLS_ERROR.
 *
 * Returns: the error domain's quark.
 */
GQuark psc_tls_error_quark (void);

/**
 * PscTlsError:
 * @PSC_TLS_ERROR_FILE: a certificate or key file cannot be read, is not PEM, or the key
 *   does not belong to the certificate; the message names the file (sysexits EX_USAGE, 64)
 * @PSC_TLS_ERROR_GENERATE: a self-signed certificate could not be made or stored (the data
 *   directory is not writable, GnuTLS failed) (EX_UNAVAILABLE, 69)
 * @PSC_TLS_ERROR_BACKEND: GLib has no TLS backend (glib-networking is not installed)
 *   (EX_UNAVAILABLE, 69)
 *
 * The codes of #PSC_TLS_ERROR.
 */
typedef enum {
  PSC_TLS_ERROR_FILE,
  PSC_TLS_ERROR_GENERATE,
  PSC_TLS_ERROR_BACKEND,
} PscTlsError;

/**
 * PSC_TLS_CERT_FILE:
 *
 * The name, in the data directory, of the self-signed certificate (PEM, mode 0600).
 */
#define PSC_TLS_CERT_FILE "tls-cert.pem"

/**
 * PSC_TLS_KEY_FILE:
 *
 * The name, in the data directory, of the self-signed certificate's private key (PKCS #8
 * PEM, mode 0600).
 */
#define PSC_TLS_KEY_FILE "tls-key.pem"

/**
 * psc_tls_load:
 * @cert_file: a PEM file holding the certificate, optionally followed by its chain
 * @key_file: a PEM file holding the certificate's private key (PKCS #1, PKCS #8 or SEC 1,
 *   unencrypted)
 * @error: a #PSC_TLS_ERROR_FILE naming the file at fault, or #PSC_TLS_ERROR_BACKEND
 *
 * Reads a certificate and its key and checks that the key belongs to the certificate (GLib
 * does not: a wrong key would only show as every handshake failing).
 *
 * Returns: (transfer full): the certificate, with its key, or %NULL with @error set.
 */
GTlsCertificate * psc_tls_load (const char *cert_file, const char *key_file, GError **error);

/**
 * psc_tls_self_signed:
 * @data_dir: the directory to keep the key and certificate in (#PSC_TLS_CERT_FILE,
 *   #PSC_TLS_KEY_FILE); made, mode 0700, if missing
 * @hostname: the box's host name, the certificate's subject and first DNS name
 * @addresses: (nullable) (array zero-terminated=1): IP addresses (text) to name in the
 *   certificate besides 127.0.0.1 and ::1
 * @created: (out) (optional): set to whether the certificate was made by this call
 * @error: a #PSC_TLS_ERROR_FILE if the files exist but cannot be used (the message says to
 *   delete them), #PSC_TLS_ERROR_GENERATE if they cannot be made
 *
 * The self-signed certificate of `--tls self-signed`: if @data_dir holds one, that one (so
 * that the fingerprint users have checked stays the same across restarts, even if the
 * addresses changed), otherwise a new one, stored there first. A new one has an ECDSA P-256
 * key, a random 128-bit serial, a validity from an hour ago to five years on, and the
 * subjectAltName entries browsers check (RFC 6125: the DNS names @hostname and `localhost`,
 * and every address as an IP entry); it is an end-entity certificate for TLS servers (key
 * usage digitalSignature, extended key usage serverAuth, no CA).
 *
 * Returns: (transfer full): the certificate, with its key, or %NULL with @error set.
 */
GTlsCertificate * psc_tls_self_signed (const char *data_dir, const char *hostname,
    const char *const *addresses, gboolean *created, GError **error);

/**
 * psc_tls_default_data_dir:
 *
 * Where `--data-dir` points by default: `$STATE_DIRECTORY` when systemd gives one (a unit
 * with `StateDirectory=periscope`), `/var/lib/periscope` for root, else
 * `$XDG_STATE_HOME/periscope` (`~/.local/state/periscope`).
 *
 * Returns: (transfer full): the directory.
 */
char *            psc_tls_default_data_dir (void);

/**
 * psc_tls_fingerprint:
 * @certificate: a certificate
 *
 * The SHA-256 fingerprint of @certificate's DER encoding, as browsers and
 * `openssl x509 -fingerprint -sha256` show it: 32 upper-case hex pairs joined by colons.
 *
 * Returns: (transfer full): the fingerprint.
 */
char *            psc_tls_fingerprint (GTlsCertificate *certificate);

G_END_DECLS
