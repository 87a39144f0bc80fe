/* periscope unit tests — the same-origin policy: origins normalized, the page's own, loopback,
 * the --allow-origin list
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <string.h>

#include "psc-origin.h"

static void
test_normalize (void)
{
  const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "http://cam.example", "http://cam.example" },
    { "HTTP://Cam.Example:80", "http://cam.example" },
    { "https://cam.example:443/", "https://cam.example" },
    { "https://cam.example:8443", "https://cam.example:8443" },
    { "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
    { "http://[::1]:8080", "http://[::1]:8080" },
    { "http://[::1]:80", "http://[::1]" },
    { "null", NULL },
    { "", NULL },
    { "cam.example", NULL },
    { "http://", NULL },
    { "http://user:pw@cam.example", NULL },
    { "http://cam.example/page", NULL },
    { "http://cam.example?x=1", NULL },
    { "http://cam.example#top", NULL },
    { "http://cam.example:99999", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *normalized = psc_origin_normalize (cases[i].in);
    g_assert_cmpstr (normalized, ==, cases[i].out);
  }
  g_assert_null (psc_origin_normalize (NULL));
}

static void
test_loopback (void)
{
  g_assert_true (psc_origin_is_loopback ("http://localhost:3000"));
  g_assert_true (psc_origin_is_loopback ("http://app.localhost"));
  g_assert_true (psc_origin_is_loopback ("http://127.0.0.1:9"));
  g_assert_true (psc_origin_is_loopback ("http://127.8.9.10"));
  g_assert_true (psc_origin_is_loopback ("http://[::1]:9"));
  g_assert_false (psc_origin_is_loopback ("http://localhost.example"));
  g_assert_false (psc_origin_is_loopback ("http://192.168.1.2:8080"));
  g_assert_false (psc_origin_is_loopback ("http://evil.example"));
}

static void
test_check (void)
{
  g_autoptr (PscOriginPolicy) policy = psc_origin_policy_new (NULL, NULL, NULL);

  g_assert_cmpint (psc_origin_policy_check (policy, NULL, "http", "cam:8080"), ==,
      PSC_ORIGIN_NONE);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://cam:8080", "http", "cam:8080"), ==,
      PSC_ORIGIN_SAME);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://CAM:8080", "http", "cam:8080"), ==,
      PSC_ORIGIN_SAME);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://cam", "http", "cam:80"), ==,
      PSC_ORIGIN_SAME);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://[fd00::2]:8080", "http",
          "[fd00::2]:8080"), ==, PSC_ORIGIN_SAME);
  /* Same host, another port or scheme: another origin (RFC 6454 §5). */
  g_assert_cmpint (psc_origin_policy_check (policy, "http://cam:8081", "http", "cam:8080"), ==,
      PSC_ORIGIN_FOREIGN);
  g_assert_cmpint (psc_origin_policy_check (policy, "https://cam:8080", "http", "cam:8080"), ==,
      PSC_ORIGIN_FOREIGN);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://evil.example", "http", "cam:8080"),
      ==, PSC_ORIGIN_FOREIGN);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://evil.example", "http", NULL), ==,
      PSC_ORIGIN_FOREIGN);
  g_assert_cmpint (psc_origin_policy_check (policy, "null", "http", "cam:8080"), ==,
      PSC_ORIGIN_FOREIGN);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://localhost:3000", "http",
          "cam:8080"), ==, PSC_ORIGIN_LOOPBACK);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://[::1]:3000", "http", "cam:8080"),
      ==, PSC_ORIGIN_LOOPBACK);
}

static void
test_allowed (void)
{
  const char *const listed[] = { "https://Proxy.Example:443/", "http://10.0.0.5:9000", NULL };
  const char *const any[] = { "*", NULL };
  const char *const bad[] = { "https://ok.example", "proxy.example", NULL };
  g_autoptr (PscOriginPolicy) policy = psc_origin_policy_new (listed, NULL, NULL);
  g_autoptr (PscOriginPolicy) everyone = psc_origin_policy_new (any, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PscOriginPolicy) none = psc_origin_policy_new (bad, NULL, &error);

  g_assert_cmpint (psc_origin_policy_check (policy, "https://proxy.example", "http",
          "cam:8080"), ==, PSC_ORIGIN_LISTED);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://10.0.0.5:9000", "http",
          "cam:8080"), ==, PSC_ORIGIN_LISTED);
  g_assert_cmpint (psc_origin_policy_check (policy, "http://proxy.example", "http",
          "cam:8080"), ==, PSC_ORIGIN_FOREIGN);
  g_assert_cmpint (psc_origin_policy_check (policy, "https://proxy.example:8443", "http",
          "cam:8080"), ==, PSC_ORIGIN_FOREIGN);
  g_assert_cmpint (psc_origin_policy_check (everyone, "http://evil.example", "http",
          "cam:8080"), ==, PSC_ORIGIN_LISTED);
  /* Opaque origins stay refused even with *: they are no one in particular. */
  g_assert_cmpint (psc_origin_policy_check (everyone, "null", "http", "cam:8080"), ==,
      PSC_ORIGIN_FOREIGN);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "\"proxy.example\""));
}

/* The names the server answers to (DNS rebinding): addresses, localhost and its own names;
 * a name an attacker could point at the box is refused. */
static void
test_hosts (void)
{
  const char *const names[] = { "camera-box", "camera-box.local", "Cam.Example.Org.",
    ".home.arpa", NULL };
  const char *const listed[] = { "https://proxy.example", NULL };
  const char *const any[] = { "*", NULL };
  g_autoptr (PscOriginPolicy) bare = psc_origin_policy_new (NULL, NULL, NULL);
  g_autoptr (PscOriginPolicy) named = psc_origin_policy_new (listed, names, NULL);
  g_autoptr (PscOriginPolicy) everyone = psc_origin_policy_new (NULL, any, NULL);
  const struct {
    const char *host;
    gboolean bare, named;
  } cases[] = {
    { NULL, TRUE, TRUE },       /* HTTP/1.0: no browser */
    { "127.0.0.1:8080", TRUE, TRUE },
    { "192.168.1.20", TRUE, TRUE },
    { "[::1]:8080", TRUE, TRUE },
    { "[fd00::2]", TRUE, TRUE },
    { "localhost:8080", TRUE, TRUE },
    { "LocalHost", TRUE, TRUE },
    { "cam.localhost:8080", TRUE, TRUE },
    { "evil.example:8080", FALSE, FALSE },
    { "rebind.test", FALSE, FALSE },
    { "127.0.0.1.nip.io:8080", FALSE, FALSE },
    { "localhost.evil.example", FALSE, FALSE },
    { "camera-box:8080", FALSE, TRUE },
    { "CAMERA-BOX.local.:8080", FALSE, TRUE },
    { "camera-box.evil.example", FALSE, FALSE },
    { "cam.example.org", FALSE, TRUE },
    { "www.cam.example.org", FALSE, FALSE },
    { "home.arpa", FALSE, TRUE },
    { "cam.home.arpa:8443", FALSE, TRUE },
    { "evilhome.arpa", FALSE, FALSE },
    { "proxy.example", FALSE, TRUE },       /* an --allow-origin's host */
    /* Not a Host at all. */
    { "", FALSE, FALSE },
    { "camera-box/x", FALSE, FALSE },
    { "user@camera-box", FALSE, FALSE },
    { "camera-box:port", FALSE, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_test_message ("Host: %s", cases[i].host);
    g_assert_cmpint (psc_origin_policy_host_is_trusted (bare, cases[i].host), ==, cases[i].bare);
    g_assert_cmpint (psc_origin_policy_host_is_trusted (named, cases[i].host), ==,
        cases[i].named);
    g_assert_true (psc_origin_policy_host_is_trusted (everyone, cases[i].host) ||
        cases[i].host[0] == '\0' || strpbrk (cases[i].host, "/@") != NULL ||
        g_str_has_suffix (cases[i].host, ":port"));
  }
  g_assert_true (psc_origin_policy_host_is_trusted (everyone, "evil.example"));
}

static void
test_host_names (void)
{
  const char *const bad[][2] = { { "cam example", NULL }, { "cam..example", NULL },
    { ".", NULL }, { "https://cam.example.org", NULL }, { "cam:8080", NULL }, { "", NULL } };
  const char *const good[] = { "Cam.Example.Org", ".example.org", "cam_1-a", "cam.local.",
    "*", NULL };
  g_autoptr (PscOriginPolicy) policy = psc_origin_policy_new (NULL, good, NULL);

  g_assert_nonnull (policy);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_null (psc_origin_policy_new (NULL, bad[i], &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_true (g_str_has_suffix (error->message, "is not a host name: give a name "
            "(cam.example.org), a domain and the names under it (.example.org), or * for any"));
    g_assert_false (psc_origin_is_host_name (bad[i][0]));
  }
  g_assert_true (psc_origin_is_host_name ("camera-box"));
  g_assert_true (psc_origin_is_host_name (".example.org"));
  g_assert_false (psc_origin_is_host_name ("*"));
}

static void
test_parse_host (void)
{
  const struct {
    const char *value, *host;
    guint port;
  } cases[] = {
    { "cam", "cam", 0 },
    { "Cam.Local.:8080", "Cam.Local.", 8080 },
    { "cam_1:1", "cam_1", 1 },
    { "192.168.1.20:80", "192.168.1.20", 80 },
    { "[fd00::2]:8443", "fd00::2", 8443 },
    { "[::1]", "::1", 0 },
    { "cam:0", NULL, 0 },
    { "cam:65536", NULL, 0 },
    { "cam:", NULL, 0 },
    { "[fe80::1%25eth0]:80", NULL, 0 },
    { "[cam]", NULL, 0 },
    { "fd00::2", NULL, 0 },
    { "cam.example/x", NULL, 0 },
    { "user@cam", NULL, 0 },
    { "", NULL, 0 },
    { NULL, NULL, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    guint port = 99;
    g_autofree char *host = psc_origin_parse_host (cases[i].value, &port);

    g_assert_cmpstr (host, ==, cases[i].host);
    if (host != NULL)
      g_assert_cmpuint (port, ==, cases[i].port);
  }
}

static void
test_box_names (void)
{
  const struct {
    const char *hostname, *names;
  } cases[] = {
    { "camera-box", "camera-box camera-box.local" },
    { "cam.example.org", "cam.example.org cam.local" },
    { "cam.local", "cam.local" },
    { "localhost", "localhost" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (GStrv) names = psc_origin_box_names (cases[i].hostname);
    g_autofree char *joined = g_strjoinv (" ", names);

    g_assert_cmpstr (joined, ==, cases[i].names);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/origin/normalize", test_normalize);
  g_test_add_func ("/origin/loopback", test_loopback);
  g_test_add_func ("/origin/check", test_check);
  g_test_add_func ("/origin/allowed", test_allowed);
  g_test_add_func ("/origin/hosts", test_hosts);
  g_test_add_func ("/origin/host-names", test_host_names);
  g_test_add_func ("/origin/parse-host", test_parse_host);
  g_test_add_func ("/origin/box-names", test_box_names);
  return g_test_run ();
}
