/* periscope soak test — months of clients in minutes, against the real daemon
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Starts the daemon binary as a child on 127.0.0.1 (a port of our choosing, 320×240, a short
 * --connect-timeout, a low fd limit, G_DEBUG=fatal-criticals), connects ONE real viewer (the
 * integration tests' webrtcbin client, decoding), then drives the daemon through stages of
 * ordinary and hostile clients (docs/performance.md "Soak"):
 *
 *   psc-soak --daemon build/src/periscope [--full] [--fd-limit 256] [--stage NAME]…
 *
 * After each stage it prints one line: stage, cycles, seconds, the daemon's fds
 * (/proc/PID/fd), threads and RSS (/proc/PID/status), its peak RSS during the stage, the log
 * lines it wrote, and whether the viewer's decoded frames kept rising. A stage that finds the
 * daemon dead or deaf says so and the daemon (and the viewer) are started again, so that the
 * stages after it still measure something. At the end: fds and threads back within a small
 * bound of where they started, RSS within a stated bound, no CRITICAL in the daemon's
 * stderr, a clean exit on SIGTERM.
 *
 * Exit status: 0 when every check passed; 1 otherwise, after one "psc-soak: FAIL …" line per
 * failed check on stderr and a last line naming the first; 64 on a usage error; 69 when the
 * daemon or the viewer cannot even start.
 *
 * Threads: the main thread drives the stages with blocking sockets (each with a timeout) and
 * iterates the default main context between cycles, which the viewer's WebSocket needs. A
 * monitor thread samples the viewer's frame count and the daemon's RSS every 100 ms, so that
 * a stall or a peak between two cycles is seen. The daemon is killed by its PID on every way
 * out: the end, a failed start, SIGINT/SIGTERM (meson's timeout), and — PR_SET_PDEATHSIG —
 * this process dying.
 *
 * Every packet goes to 127.0.0.1: the daemon listens and gathers ICE candidates there only,
 * and the candidates this program sends name 127.0.0.1.
 */
#include "psc-protocol.h"
#include "psc-test-client.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#define PROGRAM "psc-soak"

/* sysexits.h */
#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69

/* The bounds of the checks. fds: a viewer's ICE agent holds a few (a UDP socket, a TCP
 * listener), so one leaked agent or a handful of leaked connections fails. */
#define FD_BOUND 8
/* How long the warm-up waits at most for the daemon's fds to settle: on a loaded box (CI's
 * suites, ASan and fuzzing at once) the real viewer's ICE took longer than 10 s. */
#define WARM_UP_MAX_S 30
#define THREAD_BOUND 8
#define RSS_BOUND_MIB 64
/* Peak RSS a flood stage may add over where it started: a few viewers' worth. Before the
 * fixes of issue 11, each flood took from 20 MiB (relays) to 180 MiB (a 100 MB body). */
#define FLOOD_PEAK_BOUND_MIB 24
/* The viewer's frames may stop rising this long (a keyframe interval is 2 s). */
#define MAX_STALL_US (5 * G_USEC_PER_SEC)
/* Log lines one flooding client may cause. */
#define FLOOD_LOG_BOUND 100
/* Any single read or write on a socket. */
#define IO_TIMEOUT_MS 5000
/* A stage gives up after this many cycles in a row found no daemon to talk to. */
#define MAX_CONSECUTIVE_FAILURES 3
/* How long a half-open request (slowloris) may be held before the daemon must have dropped
 * it: a header timeout of up to 30 s passes. */
#define SLOWLORIS_DROP_S 40
/* How long a stage's end waits for the fds to come back (viewers reaped on timeout). */
#define SETTLE_S 15

static const char stream_id[] = "camera";

/* A WHEP offer as a browser makes it, recvonly H.264; the ICE credentials and the fingerprint
 * are made up (no DTLS ever happens). */
static const char whep_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=ice-options:trickle\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:soak\r\n"
    "a=ice-pwd:soaksoaksoaksoaksoaksoak\r\n"
    "a=fingerprint:sha-256 "
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n";

/* ---- the run ---- */

typedef struct _Soak Soak;

/* /proc numbers of the daemon. */
typedef struct {
  int fds;
  int threads;
  guint64 rss_kib;
} DaemonSample;

typedef struct {
  const char *name;
  /* Runs up to @count cycles; returns how many ran. */
  guint (*run) (Soak *soak, guint count);
  guint short_count;
  guint full_count;
  gboolean flood;               /* its peak RSS is bounded (FLOOD_PEAK_BOUND_MIB) */
} Stage;

struct _Soak {
  /* Options. */
  char *daemon_path;
  gboolean full;
  guint fd_limit;
  guint connect_timeout_s;
  GStrv only_stages;

  /* The daemon. */
  char *workdir;
  char *state_dir;              /* the daemon's --data-dir, in workdir */
  char *log_path;
  GPid pid;                     /* 0: none running */
  guint port;
  guint starts;
  guint64 log_lines_seen;       /* lines of the log counted so far */

  /* The real viewer, and what the monitor thread keeps of it. */
  PscTestClient *viewer;
  GMutex lock;                  /* the fields below */
  gboolean monitoring;
  gint64 last_rise_us;
  guint last_frames;
  gint64 max_stall_us;          /* since the stage began */
  guint64 peak_rss_kib;         /* since the stage began */
  GThread *monitor;
  gint stopping;                /* atomic */

  /* The stage running, and the checks. */
  const Stage *stage;
  char *stage_problem;          /* first failure of the running stage */
  DaemonSample baseline;        /* after the viewer connected, on this daemon */
  char *baseline_fd_kinds;      /* describe_fds() then */
  char *stage_fd_kinds;         /* describe_fds() before the running stage */
  GPtrArray *failures;          /* char*: one line each */
  guint refused;                /* viewers refused for the daemon's limits, this stage */
};

static Soak *the_soak;          /* for the signal handlers */

static void soak_kill_daemon (Soak *soak);

static void
soak_fail (Soak *soak, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Records a failed check (a line on stderr now, and in the summary). */
static void
soak_fail (Soak *soak, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr (PROGRAM ": FAIL %s\n", text);
  g_ptr_array_add (soak->failures, g_steal_pointer (&text));
}

static void
stage_fail (Soak *soak, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* The first problem of the running stage; the later ones are counted, not repeated. */
static void
stage_fail (Soak *soak, const char *format, ...)
{
  va_list args;

  if (soak->stage_problem != NULL)
    return;
  va_start (args, format);
  soak->stage_problem = g_strdup_vprintf (format, args);
  va_end (args);
}

/* ---- /proc ---- */

static int
count_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  int n = 0;

  if (dir == NULL)
    return -1;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static gint
compare_kinds (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char **) a, *(const char **) b);
}

/* TCP states as /proc/net/tcp numbers them (include/net/tcp_states.h). */
static const char *const tcp_states[] = {
  NULL, "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
  "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
};

/* Adds to @kinds (inode string -> kind) the sockets of /proc/net/@table: "tcp CLOSE_WAIT",
 * "udp", "unix" (proc(5): in tcp and udp the 4th field is the state, the 10th the inode; in
 * unix the 7th is the inode). */
static void
read_socket_table (GHashTable *kinds, const char *table)
{
  g_autofree char *path = g_build_filename ("/proc/net", table, NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean tcp = g_str_has_prefix (table, "tcp");
  guint inode_field = g_str_equal (table, "unix") ? 6 : 9;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++) {
    g_auto (GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
    g_autoptr (GPtrArray) words = g_ptr_array_new ();
    guint64 state;

    for (guint f = 0; fields[f] != NULL; f++)
      if (fields[f][0] != '\0')
        g_ptr_array_add (words, fields[f]);
    if (words->len <= inode_field)
      continue;
    state = g_ascii_strtoull (g_ptr_array_index (words, 3), NULL, 16);
    g_hash_table_insert (kinds, g_strdup (g_ptr_array_index (words, inode_field)), tcp ?
        g_strdup_printf ("tcp %s", state < G_N_ELEMENTS (tcp_states) && tcp_states[state] ?
            tcp_states[state] : "?") : g_strdup (g_str_has_prefix (table, "udp") ? "udp" :
            "unix"));
  }
}

/* What the daemon's fds are, counted by kind ("tcp ESTABLISHED 3, udp 6, unix 2,
 * anon_inode:[eventfd] 6, pipe 2, /dev/null 1"), for a failed fd check to say what grew: the
 * targets of /proc/PID/fd/N, with the inode numbers of pipes left out and sockets named by
 * their protocol and, for TCP, their state (a connection left in CLOSE_WAIT is one the
 * client closed and the daemon never did). */
static char *
describe_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) kinds = NULL;
  GString *out = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key;
  const char *name;
  g_autoptr (GHashTable) sockets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);

  if (dir == NULL)
    return g_string_free (out, FALSE);
  read_socket_table (sockets, "tcp");
  read_socket_table (sockets, "tcp6");
  read_socket_table (sockets, "udp");
  read_socket_table (sockets, "udp6");
  read_socket_table (sockets, "unix");
  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *link = g_build_filename (path, name, NULL);
    g_autofree char *target = g_file_read_link (link, NULL);
    char *kind;

    if (target == NULL)
      continue;
    if (g_str_has_prefix (target, "socket:[")) {
      g_autofree char *inode = g_strndup (target + 8, strlen (target + 8) - 1);
      const char *known = g_hash_table_lookup (sockets, inode);

      kind = g_strdup (known != NULL ? known : "socket");
    } else if (g_str_has_prefix (target, "pipe:["))
      kind = g_strdup ("pipe");
    else
      kind = g_steal_pointer (&target);
    g_hash_table_insert (counts, kind,
        GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, kind)) + 1));
  }
  kinds = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (kinds, key);
  g_ptr_array_sort (kinds, compare_kinds);
  for (guint i = 0; i < kinds->len; i++)
    g_string_append_printf (out, "%s%s %u", i > 0 ? ", " : "",
        (const char *) g_ptr_array_index (kinds, i),
        GPOINTER_TO_UINT (g_hash_table_lookup (counts, g_ptr_array_index (kinds, i))));
  return g_string_free (out, FALSE);
}

/* Threads: and VmRSS: of /proc/PID/status (kB there, i.e. KiB). */
static gboolean
read_status (GPid pid, int *threads, guint64 *rss_kib)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *status = NULL;

  if (!g_file_get_contents (path, &status, NULL, NULL))
    return FALSE;
  for (char *line = status; line != NULL && *line != '\0';) {
    char *next = strchr (line, '\n');
    if (threads != NULL && g_str_has_prefix (line, "Threads:"))
      *threads = (int) g_ascii_strtoll (line + 8, NULL, 10);
    else if (rss_kib != NULL && g_str_has_prefix (line, "VmRSS:"))
      *rss_kib = g_ascii_strtoull (line + 6, NULL, 10);
    line = next != NULL ? next + 1 : NULL;
  }
  return TRUE;
}

static DaemonSample
sample_daemon (Soak *soak)
{
  DaemonSample sample = { -1, -1, 0 };

  if (soak->pid > 0) {
    sample.fds = count_fds (soak->pid);
    read_status (soak->pid, &sample.threads, &sample.rss_kib);
  }
  return sample;
}

/* Lines the daemon has written to its log since the last call. */
static guint64
take_log_lines (Soak *soak)
{
  g_autofree char *log = NULL;
  guint64 lines = 0, added;

  if (!g_file_get_contents (soak->log_path, &log, NULL, NULL))
    return 0;
  for (const char *p = log; (p = strchr (p, '\n')) != NULL; p++)
    lines++;
  added = lines >= soak->log_lines_seen ? lines - soak->log_lines_seen : lines;
  soak->log_lines_seen = lines;
  return added;
}

/* ---- the monitor thread ---- */

static gpointer
monitor_thread (gpointer data)
{
  Soak *soak = data;

  while (!g_atomic_int_get (&soak->stopping)) {
    gint64 now = g_get_monotonic_time ();
    guint64 rss = 0;

    g_mutex_lock (&soak->lock);
    if (soak->monitoring && soak->viewer != NULL) {
      guint frames = psc_test_client_get_frames (soak->viewer);
      if (frames != soak->last_frames) {
        soak->last_frames = frames;
        soak->last_rise_us = now;
      }
      soak->max_stall_us = MAX (soak->max_stall_us, now - soak->last_rise_us);
    }
    if (soak->pid > 0 && read_status (soak->pid, NULL, &rss))
      soak->peak_rss_kib = MAX (soak->peak_rss_kib, rss);
    g_mutex_unlock (&soak->lock);
    g_usleep (100 * 1000);
  }
  return NULL;
}

/* Starts a stage's window: stall and peak from now. */
static void
monitor_reset (Soak *soak)
{
  g_mutex_lock (&soak->lock);
  soak->max_stall_us = 0;
  soak->last_rise_us = g_get_monotonic_time ();
  soak->peak_rss_kib = 0;
  g_mutex_unlock (&soak->lock);
}

/* Lets the viewer's WebSocket and webrtcbin's posted work run; never blocks. */
static void
pump (void)
{
  for (int i = 0; i < 20 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* Sleeps @ms, pumping the main context. */
static void
pump_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * (gint64) 1000;

  while (g_get_monotonic_time () < end) {
    pump ();
    g_usleep (10 * 1000);
  }
}

/* ---- sockets ---- */

/* A connection, and what was read from it and not yet used. */
typedef struct {
  int fd;
  GByteArray *in;
} Conn;

static void
conn_init (Conn *conn)
{
  conn->fd = -1;
  conn->in = g_byte_array_new ();
}

/* Closes; @reset: with a TCP RST (SO_LINGER 0) rather than a FIN. */
static void
conn_close (Conn *conn, gboolean reset)
{
  if (conn->fd >= 0) {
    if (reset) {
      struct linger linger = { .l_onoff = 1, .l_linger = 0 };
      setsockopt (conn->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
    close (conn->fd);
    conn->fd = -1;
  }
  g_byte_array_set_size (conn->in, 0);
}

static void
conn_clear (Conn *conn)
{
  conn_close (conn, FALSE);
  g_clear_pointer (&conn->in, g_byte_array_unref);
}

static void
set_timeout (int fd, guint timeout_ms)
{
  struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Connects to the daemon (SO_SNDTIMEO bounds connect() on Linux), from @source (host byte
 * order; INADDR_ANY: the kernel's choice, 127.0.0.1). */
static gboolean
conn_open_from (Soak *soak, Conn *conn, guint32 source)
{
  struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (source) };
  struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (soak->port) };

  conn_close (conn, FALSE);
  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  conn->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn->fd < 0)
    return FALSE;
  set_timeout (conn->fd, IO_TIMEOUT_MS);
  if ((source != INADDR_ANY && bind (conn->fd, (struct sockaddr *) &local, sizeof local) != 0) ||
      connect (conn->fd, (struct sockaddr *) &address, sizeof address) != 0) {
    conn_close (conn, FALSE);
    return FALSE;
  }
  return TRUE;
}

static gboolean
conn_open (Soak *soak, Conn *conn)
{
  return conn_open_from (soak, conn, INADDR_ANY);
}

static gboolean
send_all (Conn *conn, const void *data, gsize length)
{
  const char *p = data;

  while (length > 0) {
    ssize_t n = send (conn->fd, p, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    p += n;
    length -= n;
  }
  return TRUE;
}

/* Reads what is there into conn->in. Returns the bytes read, 0 at the peer's end of stream,
 * -1 on an error or the timeout. */
static gssize
conn_fill (Conn *conn)
{
  guint8 buffer[65536];
  ssize_t n;

  do
    n = recv (conn->fd, buffer, sizeof buffer, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    g_byte_array_append (conn->in, buffer, n);
  return n;
}

/* Waits up to @timeout_ms for the daemon to close @conn (end of stream or a reset), reading
 * and dropping anything it sends. */
static gboolean
conn_wait_closed (Conn *conn, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * (gint64) 1000;

  set_timeout (conn->fd, 200);
  while (g_get_monotonic_time () < end) {
    gssize n = conn_fill (conn);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      return TRUE;
    g_byte_array_set_size (conn->in, 0);
    pump ();
  }
  return FALSE;
}

/* ---- HTTP/1.1 ---- */

static gssize
find_header_end (GByteArray *in)
{
  for (guint i = 0; i + 3 < in->len; i++)
    if (memcmp (in->data + i, "\r\n\r\n", 4) == 0)
      return i + 4;
  return -1;
}

static const char *
header_value (char **lines, const char *name)
{
  gsize length = strlen (name);

  for (guint i = 1; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], name, length) == 0 && lines[i][length] == ':')
      return g_strstrip (lines[i] + length + 1);
  return NULL;
}

/*
 * http_read_response:
 * @head: the request was HEAD (no body follows)
 * @location: (out) (optional): the Location header
 *
 * Reads one response, body included (Content-Length or chunked, or to the end of stream).
 * Returns: its status, or -1 when none came.
 */
static int
http_read_response (Conn *conn, gboolean head, char **location)
{
  gssize end;
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  const char *value;
  int status;

  while ((end = find_header_end (conn->in)) < 0)
    if (conn_fill (conn) <= 0)
      return -1;
  text = g_strndup ((const char *) conn->in->data, end);
  g_byte_array_remove_range (conn->in, 0, end);
  lines = g_strsplit (text, "\r\n", -1);
  if (sscanf (lines[0], "HTTP/1.%*d %d", &status) != 1)
    return -1;
  if (location != NULL)
    *location = g_strdup (header_value (lines, "Location"));
  if (head || status == 204 || status == 304 || status < 200)
    return status;
  if ((value = header_value (lines, "Content-Length")) != NULL) {
    guint64 length = g_ascii_strtoull (value, NULL, 10);
    while (conn->in->len < length)
      if (conn_fill (conn) <= 0)
        return -1;
    g_byte_array_remove_range (conn->in, 0, length);
  } else if ((value = header_value (lines, "Transfer-Encoding")) != NULL &&
      g_ascii_strcasecmp (value, "chunked") == 0) {
    for (;;) {
      guint64 size;
      gssize line_end = -1;

      for (guint i = 0; i + 1 < conn->in->len && line_end < 0; i++)
        if (conn->in->data[i] == '\r' && conn->in->data[i + 1] == '\n')
          line_end = i + 2;
      if (line_end < 0) {
        if (conn_fill (conn) <= 0)
          return -1;
        continue;
      }
      size = g_ascii_strtoull ((const char *) conn->in->data, NULL, 16);
      while (conn->in->len < line_end + size + 2)
        if (conn_fill (conn) <= 0)
          return -1;
      g_byte_array_remove_range (conn->in, 0, line_end + size + 2);
      if (size == 0)
        break;
    }
  } else {
    while (conn_fill (conn) > 0)
      g_byte_array_set_size (conn->in, 0);
  }
  return status;
}

/* Sends one request on @conn. @version: "1.1" or "1.0"; @extra: more header lines, each
 * ending in \r\n, or NULL. */
static gboolean
http_send (Conn *conn, const char *method, const char *path, const char *version,
    const char *extra, const char *content_type, const void *body, gsize body_length)
{
  g_autoptr (GString) request = g_string_new (NULL);

  g_string_append_printf (request, "%s %s HTTP/%s\r\nHost: 127.0.0.1\r\n", method, path,
      version);
  if (extra != NULL)
    g_string_append (request, extra);
  if (content_type != NULL)
    g_string_append_printf (request, "Content-Type: %s\r\n", content_type);
  if (body != NULL || g_str_equal (method, "POST") || g_str_equal (method, "PATCH"))
    g_string_append_printf (request, "Content-Length: %" G_GSIZE_FORMAT "\r\n", body_length);
  g_string_append (request, "\r\n");
  if (body != NULL)
    g_string_append_len (request, body, body_length);
  return send_all (conn, request->str, request->len);
}

/* One request on a new connection, Connection: close. Returns the status, -1 for none. */
static int
http_once (Soak *soak, const char *method, const char *path, const char *content_type,
    const char *body, gsize body_length, char **location)
{
  Conn conn;
  int status = -1;

  conn_init (&conn);
  if (conn_open (soak, &conn) &&
      http_send (&conn, method, path, "1.1", "Connection: close\r\n", content_type, body,
          body_length))
    status = http_read_response (&conn, g_str_equal (method, "HEAD"), location);
  conn_clear (&conn);
  return status;
}

/* ---- WebSocket (RFC 6455), the client side ---- */

/* Opens a WebSocket to @path; the key is fixed (the server only checks its shape). */
static gboolean
ws_open (Soak *soak, Conn *conn, const char *path)
{
  g_autofree char *extra = NULL;

  if (!conn_open (soak, conn))
    return FALSE;
  extra = g_strdup ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
  return http_send (conn, "GET", path, "1.1", extra, NULL, NULL, 0);
}

/* Reads the handshake's answer. */
static gboolean
ws_handshake_done (Conn *conn)
{
  gssize end;

  while ((end = find_header_end (conn->in)) < 0)
    if (conn_fill (conn) <= 0)
      return FALSE;
  if (conn->in->len < 12 || memcmp (conn->in->data, "HTTP/1.1 101", 12) != 0)
    return FALSE;
  g_byte_array_remove_range (conn->in, 0, end);
  return TRUE;
}

#define WS_CONTINUATION 0x0
#define WS_TEXT 0x1
#define WS_CLOSE 0x8
#define WS_PING 0x9
#define WS_PONG 0xa

/* Sends a frame header for @length bytes of payload (masked with a zero key: a client must
 * mask, RFC 6455 §5.3, and a zero key leaves the payload as it is). */
static gboolean
ws_send_header (Conn *conn, int opcode, gboolean fin, guint64 length)
{
  guint8 header[14];
  gsize n = 0;

  header[n++] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) {
    header[n++] = 0x80 | length;
  } else if (length < 65536) {
    header[n++] = 0x80 | 126;
    header[n++] = length >> 8;
    header[n++] = length & 0xff;
  } else {
    header[n++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--)
      header[n++] = (length >> (8 * i)) & 0xff;
  }
  memset (header + n, 0, 4);
  n += 4;
  return send_all (conn, header, n);
}

static gboolean
ws_send (Conn *conn, int opcode, gboolean fin, const void *payload, gsize length)
{
  return ws_send_header (conn, opcode, fin, length) && send_all (conn, payload, length);
}

static gboolean
ws_send_text (Conn *conn, const char *text)
{
  return ws_send (conn, WS_TEXT, TRUE, text, strlen (text));
}

/* Sends a Close with @code. */
static gboolean
ws_send_close (Conn *conn, gushort code)
{
  guint8 payload[2] = { code >> 8, code & 0xff };
  return ws_send (conn, WS_CLOSE, TRUE, payload, 2);
}

/*
 * ws_read_frame:
 * @payload: (out) (transfer full): the frame's payload
 *
 * Reads one frame from the server (unmasked). Returns its opcode, or -1 at the end of
 * stream, on an error or after the socket's timeout.
 */
static int
ws_read_frame (Conn *conn, GBytes **payload)
{
  guint64 length;
  gsize header;

  for (;;) {
    if (conn->in->len >= 2) {
      length = conn->in->data[1] & 0x7f;
      header = 2;
      if (length == 126 && conn->in->len >= 4) {
        length = (conn->in->data[2] << 8) | conn->in->data[3];
        header = 4;
      } else if (length == 127 && conn->in->len >= 10) {
        length = 0;
        for (int i = 0; i < 8; i++)
          length = (length << 8) | conn->in->data[2 + i];
        header = 10;
      }
      if ((header > 2 || (conn->in->data[1] & 0x7f) < 126) && conn->in->len >= header + length) {
        int opcode = conn->in->data[0] & 0x0f;
        *payload = g_bytes_new (conn->in->data + header, length);
        g_byte_array_remove_range (conn->in, 0, header + length);
        return opcode;
      }
    }
    if (conn_fill (conn) <= 0)
      return -1;
  }
}

/* Reads until a message of @type; returns it, or NULL (the stream ended or timed out). An
 * error message from the server also ends the wait (returned as it is). Pongs are not
 * needed: the daemon pings every 15 s and no cycle is that long. */
static PscMessage *
ws_wait_message (Conn *conn, PscMessageType type)
{
  for (;;) {
    g_autoptr (GBytes) payload = NULL;
    g_autoptr (PscMessage) message = NULL;
    int opcode = ws_read_frame (conn, &payload);
    gsize length;
    const char *data;

    if (opcode < 0 || opcode == WS_CLOSE)
      return NULL;
    if (opcode != WS_TEXT)
      continue;
    data = g_bytes_get_data (payload, &length);
    message = psc_message_parse (data, length, NULL);
    if (message != NULL && (message->type == type || message->type == PSC_MESSAGE_ERROR))
      return g_steal_pointer (&message);
  }
}

/* Reads until the server's Close; returns its code (1005 for none given), or -1 when the
 * stream ended or timed out without one. */
static int
ws_wait_close (Conn *conn)
{
  for (;;) {
    g_autoptr (GBytes) payload = NULL;
    int opcode = ws_read_frame (conn, &payload);
    gsize length;
    const guint8 *data;

    if (opcode < 0)
      return -1;
    if (opcode != WS_CLOSE)
      continue;
    data = g_bytes_get_data (payload, &length);
    return length >= 2 ? (data[0] << 8) | data[1] : 1005;
  }
}

/* How long a client refused for the daemon's limits (too_many_peers: the viewer limit, or
 * no file descriptors to spare while earlier viewers are still being torn down) waits
 * before it tries again, and how many times it does. */
#define REFUSED_RETRY_MS 100
#define REFUSED_RETRIES 100

/* Opens a WebSocket to the camera and reads up to its offer, trying again (as the page does)
 * while the daemon refuses for its limits. Returns the offer, or NULL. */
static PscMessage *
ws_join_camera (Soak *soak, Conn *conn)
{
  g_autofree char *path = g_strdup_printf ("/ws/%s", stream_id);
  PscMessage *offer = NULL;

  for (guint attempt = 0; attempt <= REFUSED_RETRIES; attempt++) {
    if (!ws_open (soak, conn, path) || !ws_handshake_done (conn))
      return NULL;
    offer = ws_wait_message (conn, PSC_MESSAGE_OFFER);
    if (offer == NULL || offer->type == PSC_MESSAGE_OFFER)
      return offer;
    if (g_strcmp0 (offer->error_code, "too_many_peers") != 0)
      break;
    soak->refused++;
    g_clear_pointer (&offer, psc_message_free);
    conn_close (conn, FALSE);
    g_usleep (REFUSED_RETRY_MS * 1000);
  }
  if (offer != NULL)
    stage_fail (soak, "the camera sent an error instead of its offer: %s",
        offer->error_message);
  else
    stage_fail (soak, "the camera refused a viewer for its limits %u times in a row",
        REFUSED_RETRIES + 1);
  g_clear_pointer (&offer, psc_message_free);
  return NULL;
}

/* An answer to @offer as webrtcbin would make it: recvonly, the offer's first payload type,
 * made-up ICE credentials and fingerprint (the session never reaches DTLS). */
static char *
make_answer (const char *offer_sdp)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  const GstSDPMedia *media;
  const char *format, *mid;
  g_autoptr (GString) answer = g_string_new (NULL);

  if (gst_sdp_message_new_from_text (offer_sdp, &sdp) != GST_SDP_OK ||
      gst_sdp_message_medias_len (sdp) < 1)
    return NULL;
  media = gst_sdp_message_get_media (sdp, 0);
  format = gst_sdp_media_get_format (media, 0);
  mid = gst_sdp_media_get_attribute_val (media, "mid");
  if (format == NULL || mid == NULL)
    return NULL;
  g_string_append_printf (answer,
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE %s\r\n"
      "m=video 9 %s %s\r\nc=IN IP4 0.0.0.0\r\n"
      "a=ice-ufrag:soak\r\na=ice-pwd:soaksoaksoaksoaksoaksoak\r\n"
      "a=fingerprint:sha-256 "
      "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\r\n"
      "a=setup:active\r\na=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\n",
      mid, gst_sdp_media_get_proto (media), format, mid);
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *attribute = gst_sdp_media_get_attribute (media, i);
    if ((g_str_equal (attribute->key, "rtpmap") || g_str_equal (attribute->key, "fmtp")) &&
        attribute->value != NULL && g_str_has_prefix (attribute->value, format) &&
        attribute->value[strlen (format)] == ' ')
      g_string_append_printf (answer, "a=%s:%s\r\n", attribute->key, attribute->value);
  }
  return g_string_free (g_steal_pointer (&answer), FALSE);
}

/* Sends an answer and one host candidate (127.0.0.1, a port nobody answers on), so that the
 * daemon's ICE agent starts checking. */
static gboolean
ws_answer_and_trickle (Conn *conn, const PscMessage *offer)
{
  g_autofree char *answer_sdp = make_answer (offer->sdp);
  g_autoptr (PscMessage) answer = psc_message_new (PSC_MESSAGE_ANSWER);
  g_autoptr (PscMessage) candidate = psc_message_new (PSC_MESSAGE_ICE_CANDIDATE);
  g_autofree char *answer_json = NULL;
  g_autofree char *candidate_json = NULL;

  if (answer_sdp == NULL)
    return FALSE;
  answer->sdp = g_steal_pointer (&answer_sdp);
  answer->target_peer_id = g_strdup (offer->from_peer_id);
  candidate->candidate = g_strdup ("candidate:1 1 UDP 2122252543 127.0.0.1 9 typ host");
  candidate->sdp_mline_index = 0;
  candidate->target_peer_id = g_strdup (offer->from_peer_id);
  answer_json = psc_message_to_json (answer);
  candidate_json = psc_message_to_json (candidate);
  return ws_send_text (conn, answer_json) && ws_send_text (conn, candidate_json);
}

/* ---- the daemon ---- */

static guint
pick_port (void)
{
  struct sockaddr_in address = { .sin_family = AF_INET };
  socklen_t length = sizeof address;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  guint port = 0;

  address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd >= 0 && bind (fd, (struct sockaddr *) &address, sizeof address) == 0 &&
      getsockname (fd, (struct sockaddr *) &address, &length) == 0)
    port = ntohs (address.sin_port);
  if (fd >= 0)
    close (fd);
  return port;
}

static gboolean
daemon_answers (Soak *soak)
{
  return http_once (soak, "GET", "/healthz", NULL, NULL, 0, NULL) == 200;
}

/* Whether the daemon has exited; if so, reaps it and records how. */
static gboolean
daemon_exited (Soak *soak, int *wait_status)
{
  int status;

  if (soak->pid <= 0)
    return TRUE;
  if (waitpid (soak->pid, &status, WNOHANG) != soak->pid)
    return FALSE;
  soak->pid = 0;
  if (wait_status != NULL)
    *wait_status = status;
  return TRUE;
}

static char *
describe_wait_status (int status)
{
  if (WIFSIGNALED (status))
    return g_strdup_printf ("killed by signal %d (%s)", WTERMSIG (status),
        g_strsignal (WTERMSIG (status)));
  return g_strdup_printf ("exit status %d", WEXITSTATUS (status));
}

/* Starts the daemon; in the child, before exec: the fd limit (soft and hard, so that the
 * daemon cannot raise it: the point is to see it live within it), and death with us. */
static gboolean
daemon_start (Soak *soak)
{
  g_autofree char *port = NULL;
  g_autofree char *timeout = g_strdup_printf ("%u", soak->connect_timeout_s);
  g_auto (GStrv) env = g_get_environ ();
  struct rlimit limit = { soak->fd_limit, soak->fd_limit };
  int log_fd;
  pid_t pid;
  gint64 deadline;

  soak->port = pick_port ();
  port = g_strdup_printf ("%u", soak->port);
  const char *argv[] = {
    soak->daemon_path, "--bind", "127.0.0.1", "--port", port, "--ice-address", "127.0.0.1",
    "--source", "videotestsrc is-live=true pattern=ball", "--codec", "h264",
    "--width", "320", "--height", "240", "--bitrate", "500", "--connect-timeout", timeout,
    "--stream-id", stream_id,
    /* Every viewer of the soak comes from 127.0.0.1. */
    "--max-viewers-per-address", "0",
    /* The relay stages use rooms made by joining them; the chat store in the soak's own
     * directory, not the box's. */
    "--open-rooms", "--data-dir", soak->state_dir, NULL
  };

  env = g_environ_setenv (env, "G_DEBUG", "fatal-criticals", TRUE);
  log_fd = open (soak->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return FALSE;
  soak->log_lines_seen = 0;
  {
    g_autofree char *marker = g_strdup_printf ("=== %s: daemon start %u ===\n", PROGRAM,
        ++soak->starts);
    if (write (log_fd, marker, strlen (marker)) < 0)
      return FALSE;
  }
  take_log_lines (soak);

  pid = fork ();
  if (pid < 0) {
    close (log_fd);
    return FALSE;
  }
  if (pid == 0) {
    /* The child: async-signal-safe calls only. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    setrlimit (RLIMIT_NOFILE, &limit);
    dup2 (log_fd, STDOUT_FILENO);
    dup2 (log_fd, STDERR_FILENO);
    execve (soak->daemon_path, (char **) argv, env);
    _exit (127);
  }
  close (log_fd);
  g_mutex_lock (&soak->lock);
  soak->pid = pid;
  g_mutex_unlock (&soak->lock);

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline) {
    if (daemon_exited (soak, NULL))
      return FALSE;
    if (daemon_answers (soak))
      return TRUE;
    g_usleep (100 * 1000);
  }
  return FALSE;
}

/* Kills the daemon by its PID (SIGKILL) and reaps it. */
static void
soak_kill_daemon (Soak *soak)
{
  GPid pid = soak->pid;

  if (pid <= 0)
    return;
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  g_mutex_lock (&soak->lock);
  soak->pid = 0;
  g_mutex_unlock (&soak->lock);
}

static void
viewer_stop (Soak *soak)
{
  PscTestClient *viewer;

  g_mutex_lock (&soak->lock);
  viewer = soak->viewer;
  soak->viewer = NULL;
  soak->monitoring = FALSE;
  g_mutex_unlock (&soak->lock);
  g_clear_pointer (&viewer, psc_test_client_free);
}

/* Connects the real viewer and waits for its first decoded frames. */
static gboolean
viewer_start (Soak *soak)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws/%s", soak->port, stream_id);
  PscTestClient *viewer = psc_test_client_new (url, TRUE);

  if (viewer == NULL)
    return FALSE;
  if (!psc_test_client_wait_frames (viewer, 10, 30)) {
    psc_test_client_free (viewer);
    return FALSE;
  }
  g_mutex_lock (&soak->lock);
  soak->viewer = viewer;
  soak->monitoring = TRUE;
  soak->last_frames = psc_test_client_get_frames (viewer);
  soak->last_rise_us = g_get_monotonic_time ();
  g_mutex_unlock (&soak->lock);
  return TRUE;
}

static void warm_up (Soak *soak);

/* The daemon and its viewer, from scratch; the baseline taken once they have settled. */
static gboolean
soak_start (Soak *soak)
{
  if (!daemon_start (soak)) {
    soak_fail (soak, "the daemon did not start (its log: %s)", soak->log_path);
    return FALSE;
  }
  if (!viewer_start (soak)) {
    soak_fail (soak, "the real viewer did not receive frames");
    return FALSE;
  }
  pump_for (2000);
  warm_up (soak);
  soak->baseline = sample_daemon (soak);
  g_free (soak->baseline_fd_kinds);
  soak->baseline_fd_kinds = describe_fds (soak->pid);
  take_log_lines (soak);
  g_print ("%-24s daemon pid %d on 127.0.0.1:%u, fd limit %u: fds %d (%s), threads %d, "
      "rss %.1f MiB\n", "start", soak->pid, soak->port, soak->fd_limit, soak->baseline.fds,
      soak->baseline_fd_kinds, soak->baseline.threads, soak->baseline.rss_kib / 1024.0);
  return TRUE;
}

/* A cycle's connection failed: is the daemon gone? Then the stage cannot go on. */
static gboolean
cycle_failed (Soak *soak, guint *consecutive, const char *what)
{
  if (++*consecutive < MAX_CONSECUTIVE_FAILURES)
    return FALSE;
  stage_fail (soak, "the daemon stopped answering (%s, %u times in a row; fds %d)", what,
      *consecutive, count_fds (soak->pid));
  return TRUE;
}

/* ---- stages: HTTP ---- */

typedef struct {
  const char *method;
  const char *path;
  const char *extra;            /* more header lines, or NULL */
} HttpKind;

/* What a page load, a Prometheus scrape, the API's users and a port scanner ask for. */
static const HttpKind http_kinds[] = {
  { "GET", "/", NULL },
  { "GET", "/viewer.js", NULL },
  { "GET", "/style.css", NULL },
  { "GET", "/healthz", NULL },
  { "GET", "/metrics", NULL },
  { "GET", "/api/streams", NULL },
  { "GET", "/api/streams/camera", NULL },
  { "GET", "/api/streams/camera/peers", NULL },
  { "HEAD", "/", NULL },
  { "GET", "/no/such/page", NULL },
  { "GET", "/api/streams/nosuchstream", NULL },
  { "POST", "/healthz", NULL },
  { "DELETE", "/", NULL },
  { "PUT", "/api/streams", NULL },
  { "OPTIONS", "/whep/camera", "Origin: http://127.0.0.1\r\n"
        "Access-Control-Request-Method: POST\r\n" },
};

/* The @i-th request of a run: the kinds in turn, a snapshot every 250th (it encodes a JPEG). */
static const HttpKind *
http_kind (guint i)
{
  static const HttpKind snapshot = { "GET", "/api/streams/camera/snapshot.jpg", NULL };

  return i % 250 == 249 ? &snapshot : &http_kinds[i % G_N_ELEMENTS (http_kinds)];
}

/* Waits until the daemon's fds hold still (two samples 1 s apart alike, WARM_UP_MAX_S at
 * most); returns the last sample. */
static DaemonSample
settle (Soak *soak, const char *when)
{
  DaemonSample before, after;
  gint64 deadline = g_get_monotonic_time () + WARM_UP_MAX_S * G_USEC_PER_SEC;

  do {
    before = sample_daemon (soak);
    pump_for (1000);
    after = sample_daemon (soak);
  } while (after.fds != before.fds && g_get_monotonic_time () < deadline);
  if (after.fds != before.fds)
    g_print ("%-24s the daemon's fds still changed after %d s (%d, then %d)\n", when,
        WARM_UP_MAX_S, before.fds, after.fds);
  return after;
}

/* Before the baseline: one request of each kind, a snapshot too, and the daemon's fds left to
 * settle (settle()), so that what the daemon sets up once (a first snapshot's converter,
 * libsoup's and GIO's first-use state, the viewer's last ICE sockets) is not counted as a
 * stage's leak. */
static void
warm_up (Soak *soak)
{
  for (guint i = 0; i < G_N_ELEMENTS (http_kinds); i++)
    http_once (soak, http_kinds[i].method, http_kinds[i].path, NULL, NULL, 0, NULL);
  http_once (soak, "GET", http_kind (249)->path, NULL, NULL, 0, NULL);
  settle (soak, "warm-up");
}

/* Requests over keep-alive connections, 1 to 4 each, that the client then closes — the
 * browser's and Prometheus's way, and what leaked an fd per connection (issue 11). */
static guint
stage_http_keepalive (Soak *soak, guint count)
{
  Conn conn;
  guint done = 0, failures = 0;

  conn_init (&conn);
  while (done < count) {
    guint per_connection = 1 + done % 4;
    gboolean ok = conn_open (soak, &conn);

    for (guint r = 0; ok && r < per_connection && done < count; r++, done++) {
      const HttpKind *kind = http_kind (done);
      ok = http_send (&conn, kind->method, kind->path, "1.1", kind->extra, NULL, NULL, 0) &&
          http_read_response (&conn, g_str_equal (kind->method, "HEAD"), NULL) > 0;
    }
    conn_close (&conn, FALSE);
    if (!ok) {
      done++;
      if (cycle_failed (soak, &failures, "HTTP request"))
        break;
    } else {
      failures = 0;
    }
    if (done % 64 == 0)
      pump ();
  }
  conn_clear (&conn);
  return done;
}

/* One request per connection: Connection: close, or HTTP/1.0. */
static guint
http_one_shots (Soak *soak, guint count, const char *version, const char *extra)
{
  Conn conn;
  guint done, failures = 0;

  conn_init (&conn);
  for (done = 0; done < count; done++) {
    const HttpKind *kind = http_kind (done);
    g_autofree char *headers = g_strconcat (extra, kind->extra, NULL);
    gboolean ok = conn_open (soak, &conn) &&
        http_send (&conn, kind->method, kind->path, version, headers, NULL, NULL, 0) &&
        http_read_response (&conn, g_str_equal (kind->method, "HEAD"), NULL) > 0;

    conn_close (&conn, FALSE);
    if (ok)
      failures = 0;
    else if (cycle_failed (soak, &failures, "HTTP request"))
      break;
    if (done % 64 == 0)
      pump ();
  }
  conn_clear (&conn);
  return done;
}

static guint
stage_http_close (Soak *soak, guint count)
{
  return http_one_shots (soak, count, "1.1", "Connection: close\r\n");
}

static guint
stage_http_1_0 (Soak *soak, guint count)
{
  return http_one_shots (soak, count, "1.0", "");
}

/* Half-open requests (slowloris): @count connections at once, each with part of a request
 * line and then nothing. The daemon must drop every one of them within SLOWLORIS_DROP_S
 * (a header timeout, or a cap refusing them outright). */
static guint
stage_http_slowloris (Soak *soak, guint count)
{
  Conn *conns = g_new0 (Conn, count);
  guint opened = 0, dropped = 0;
  gint64 deadline;

  for (guint i = 0; i < count; i++) {
    conn_init (&conns[i]);
    if (conn_open (soak, &conns[i]) && send_all (&conns[i], "GET /healthz HT", 15))
      opened++;
    else
      conn_close (&conns[i], FALSE);     /* refused: dropped already */
  }
  deadline = g_get_monotonic_time () + SLOWLORIS_DROP_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && dropped < opened) {
    for (guint i = 0; i < count; i++) {
      if (conns[i].fd < 0)
        continue;
      set_timeout (conns[i].fd, 1);
      {
        gssize n = conn_fill (&conns[i]);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          conn_close (&conns[i], FALSE);
          dropped++;
        } else {
          g_byte_array_set_size (conns[i].in, 0);
        }
      }
    }
    pump_for (200);
  }
  if (dropped < opened)
    stage_fail (soak, "%u of %u half-open requests still open after %d s: no header "
        "timeout", opened - dropped, opened, SLOWLORIS_DROP_S);
  for (guint i = 0; i < count; i++)
    conn_clear (&conns[i]);
  g_free (conns);
  return count;
}

/* Idle TCP connections (issue 13's "1,000 idle connections"): @count connections that send
 * nothing, from 127.0.0.2 onwards, IDLE_PER_ADDRESS from each address — under the daemon's
 * per-address cap, so that only its total cap and its request timeout stand between them and
 * its descriptors. Each must be refused at once or dropped within IDLE_DROP_S (the request
 * timeout is 10 s); meanwhile the real viewer keeps decoding (the stage's stall check). Prints
 * how many were held, how many refused, how long the last one was held, and whether a request
 * from 127.0.0.1 was answered while they were open (not a check: a full total cap refuses it,
 * by design, until the idle ones time out). */
#define IDLE_PER_ADDRESS 60
#define IDLE_DROP_S 30

static guint
stage_idle_connections (Soak *soak, guint count)
{
  Conn *conns = g_new0 (Conn, count);
  guint opened = 0, open_now, refused = 0, failed = 0;
  gint64 start = g_get_monotonic_time (), opened_at, deadline, last_drop;
  gboolean answered_meanwhile;

  for (guint i = 0; i < count; i++) {
    conn_init (&conns[i]);
    if (conn_open_from (soak, &conns[i], INADDR_LOOPBACK + 1 + i / IDLE_PER_ADDRESS))
      opened++;
    else
      failed++;
    if (i % 50 == 49)
      pump ();
  }
  /* The daemon refuses over its caps with a 503 and a close: wait for those. */
  opened_at = last_drop = g_get_monotonic_time ();
  pump_for (1000);
  answered_meanwhile = daemon_answers (soak);
  open_now = opened;
  deadline = opened_at + IDLE_DROP_S * G_USEC_PER_SEC;
  while (open_now > 0 && g_get_monotonic_time () < deadline) {
    for (guint i = 0; i < count; i++) {
      gssize n;

      if (conns[i].fd < 0)
        continue;
      set_timeout (conns[i].fd, 1);
      n = conn_fill (&conns[i]);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        if (g_get_monotonic_time () - opened_at < 1500 * G_TIME_SPAN_MILLISECOND ||
            (conns[i].in->len > 0 && conns[i].in->data[9] == '5'))
          refused++;
        last_drop = g_get_monotonic_time ();
        conn_close (&conns[i], FALSE);
        open_now--;
      }
    }
    pump_for (200);
  }
  g_print (PROGRAM ": %s: %u connections from %u addresses, made in %.1f s: %u held by the "
      "daemon, %u refused (503 or closed within 1.5 s), %u could not connect; the last "
      "dropped %.1f s after all were made; a request from 127.0.0.1 while they were open: "
      "%s\n", soak->stage->name, count, (count + IDLE_PER_ADDRESS - 1) / IDLE_PER_ADDRESS,
      (opened_at - start) / (double) G_USEC_PER_SEC, opened - refused - open_now, refused,
      failed, (last_drop - opened_at) / (double) G_USEC_PER_SEC,
      answered_meanwhile ? "answered" : "refused (the total cap was full)");
  if (open_now > 0)
    stage_fail (soak, "%u of %u idle connections still open after %d s: no request timeout",
        open_now, opened, IDLE_DROP_S);
  for (guint i = 0; i < count; i++)
    conn_clear (&conns[i]);
  g_free (conns);
  return count;
}

/* ---- stages: WebSocket viewers, one ending each ---- */

/* One WebSocket viewer's ending, after the camera's offer: returns FALSE if the cycle
 * failed (the daemon did not do what it must). */
typedef gboolean (*WsEnding) (Soak *soak, Conn *conn, PscMessage *offer, guint *lingering);

/* @count WebSocket viewers, each joining the camera (its offer read) and ending with
 * @ending; a run of failed joins or cycles ends the stage (cycle_failed()). */
static guint
run_ws_cycles (Soak *soak, guint count, WsEnding ending)
{
  Conn conn;
  guint done, failures = 0, lingering = 0;

  conn_init (&conn);
  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    g_autoptr (PscMessage) offer = ws_join_camera (soak, &conn);
    gboolean ok = offer != NULL && ending (soak, &conn, offer, &lingering);

    conn_close (&conn, offer == NULL || !ok);
    if (ok)
      failures = 0;
    else if (cycle_failed (soak, &failures, "WebSocket viewer"))
      break;
    pump ();
  }
  if (lingering > 0)
    stage_fail (soak, "%u of %u half-closed WebSockets not closed by the daemon within %d s",
        lingering, done, IO_TIMEOUT_MS / 1000);
  conn_clear (&conn);
  return done;
}

/* The client's Close (1000), and the server's in return. */
static gboolean
end_clean (Soak *soak, Conn *conn, PscMessage *offer, guint *lingering)
{
  ws_send_close (conn, 1000);
  ws_wait_close (conn);
  return TRUE;
}

static guint
stage_ws_clean (Soak *soak, guint count)
{
  return run_ws_cycles (soak, count, end_clean);
}

/* A TCP reset right after the offer arrived (the leak of issue 11: an ICE agent per
 * reset): run_ws_cycles() resets a connection whose cycle did not end well. */
static gboolean
end_reset (Soak *soak, Conn *conn, PscMessage *offer, guint *lingering)
{
  conn_close (conn, TRUE);
  return TRUE;
}

static guint
stage_ws_reset_after_offer (Soak *soak, guint count)
{
  return run_ws_cycles (soak, count, end_reset);
}

/* An answer and a candidate sent, the daemon's agent checking; then a TCP reset. */
static gboolean
end_reset_mid_ice (Soak *soak, Conn *conn, PscMessage *offer, guint *lingering)
{
  if (!ws_answer_and_trickle (conn, offer))
    return FALSE;
  /* Long enough for the answer to be applied and the first checks to go out. */
  pump_for (20);
  conn_close (conn, TRUE);
  return TRUE;
}

static guint
stage_ws_reset_mid_ice (Soak *soak, guint count)
{
  return run_ws_cycles (soak, count, end_reset_mid_ice);
}

/* shutdown(SHUT_WR) after the offer: the daemon must close within IO_TIMEOUT_MS. */
static gboolean
end_half_close (Soak *soak, Conn *conn, PscMessage *offer, guint *lingering)
{
  shutdown (conn->fd, SHUT_WR);
  if (!conn_wait_closed (conn, IO_TIMEOUT_MS))
    (*lingering)++;
  return TRUE;
}

static guint
stage_ws_half_close (Soak *soak, guint count)
{
  return run_ws_cycles (soak, count, end_half_close);
}

/* TCP reset right after the handshake was sent, before the welcome (existing_peers). */
static guint
stage_ws_reset_before_welcome (Soak *soak, guint count)
{
  Conn conn;
  guint done, failures = 0;
  g_autofree char *path = g_strdup_printf ("/ws/%s", stream_id);

  conn_init (&conn);
  for (done = 0; done < count; done++) {
    gboolean ok = ws_open (soak, &conn, path);

    conn_close (&conn, TRUE);
    if (ok)
      failures = 0;
    else if (cycle_failed (soak, &failures, "WebSocket handshake"))
      break;
    /* Every tenth: see that the daemon still answers (the resets give no feedback). */
    if (done % 10 == 9 && !daemon_answers (soak) &&
        cycle_failed (soak, &failures, "GET /healthz between resets"))
      break;
    pump ();
  }
  conn_clear (&conn);
  return done;
}




/* Viewers that never answer, in batches: each must be sent away at --connect-timeout
 * (error "timeout", close 1008). */
#define UNANSWERED_BATCH 25

static guint
stage_ws_unanswered (Soak *soak, guint count)
{
  Conn conns[UNANSWERED_BATCH];
  guint done = 0, failures = 0, kept = 0;

  for (guint i = 0; i < UNANSWERED_BATCH; i++)
    conn_init (&conns[i]);
  while (done < count && soak->stage_problem == NULL) {
    guint batch = MIN (UNANSWERED_BATCH, count - done);

    for (guint i = 0; i < batch; i++) {
      g_autoptr (PscMessage) offer = ws_join_camera (soak, &conns[i]);
      if (offer == NULL) {
        conn_close (&conns[i], FALSE);
        if (cycle_failed (soak, &failures, "WebSocket viewer"))
          break;
      } else {
        failures = 0;
      }
    }
    for (guint i = 0; i < batch; i++) {
      if (conns[i].fd < 0)
        continue;
      set_timeout (conns[i].fd, (soak->connect_timeout_s + 5) * 1000);
      if (ws_wait_close (&conns[i]) < 0)
        kept++;
      conn_close (&conns[i], FALSE);
      pump ();
    }
    done += batch;
  }
  if (kept > 0)
    stage_fail (soak, "%u unanswered viewers not sent away within --connect-timeout + 5 s",
        kept);
  for (guint i = 0; i < UNANSWERED_BATCH; i++)
    conn_clear (&conns[i]);
  return done;
}

/* Real sessions (the test client's webrtcbin): connected, a frame decoded, then closed. */
static guint
stage_ws_connected (Soak *soak, guint count)
{
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/ws/%s", soak->port, stream_id);
  guint done, failures = 0;

  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    g_autoptr (PscTestClient) client = psc_test_client_new (url, TRUE);

    if (client == NULL || !psc_test_client_wait_frames (client, 1, 20)) {
      if (cycle_failed (soak, &failures, "a real session"))
        break;
      continue;
    }
    failures = 0;
  }
  return done;
}

/* ---- stages: WHEP ---- */

/* POST of an offer, tried again (as a player honouring Retry-After does) while the daemon
 * answers 503 for its limits: the sessions deleted just before, their teardown not finished
 * on a loaded machine, still hold the file descriptors its viewer budget counts. The limits are
 * not what these stages measure; each refusal is counted in the stage's "refused". */
static int
whep_post (Soak *soak, const char *type, const char *body, gsize length, char **location)
{
  g_autofree char *path = g_strdup_printf ("/whep/%s", stream_id);
  int status = 503;

  for (guint attempt = 0; attempt <= REFUSED_RETRIES && status == 503; attempt++) {
    if (attempt > 0) {
      soak->refused++;
      pump_for (REFUSED_RETRY_MS);
    }
    status = http_once (soak, "POST", path, type, body, length, location);
  }
  return status;
}

/* POST, then DELETE of the session. */
static guint
stage_whep_delete (Soak *soak, guint count)
{
  guint done, failures = 0;

  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    g_autofree char *location = NULL;
    int status = whep_post (soak, "application/sdp", whep_offer, strlen (whep_offer),
        &location);

    if (status != 201 || location == NULL) {
      if (status > 0)
        stage_fail (soak, "POST /whep answered %d, not 201", status);
      else if (cycle_failed (soak, &failures, "WHEP POST"))
        break;
      continue;
    }
    failures = 0;
    status = http_once (soak, "DELETE", location, NULL, NULL, 0, NULL);
    if (status != 200 && status != 204)
      stage_fail (soak, "DELETE of a WHEP session answered %d", status);
    pump ();
  }
  return done;
}

/* POST, and never a DELETE nor a candidate: reaped at --connect-timeout. In batches, so
 * that --max-viewers is never what stops them. */
static guint
stage_whep_vanish (Soak *soak, guint count)
{
  guint done = 0, failures = 0;

  while (done < count && soak->stage_problem == NULL) {
    guint batch = MIN (UNANSWERED_BATCH, count - done);

    for (guint i = 0; i < batch; i++) {
      int status = whep_post (soak, "application/sdp", whep_offer, strlen (whep_offer), NULL);
      if (status == 201)
        failures = 0;
      else if (status > 0)
        stage_fail (soak, "POST /whep answered %d, not 201", status);
      else if (cycle_failed (soak, &failures, "WHEP POST"))
        break;
    }
    done += batch;
    pump_for ((soak->connect_timeout_s + 1) * 1000);
  }
  return done;
}

/* Offers a player or an attacker may send; each must get a 4xx, never a crash. */
static guint
stage_whep_bad (Soak *soak, guint count)
{
  static const char *const offers[] = {
    "",
    "not SDP at all\r\n",
    "v=0\r\n",
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        "a=mid:0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n",
    /* No fingerprint, no ICE credentials. */
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "c=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
        "a=rtpmap:96 H264/90000\r\n"
        "a=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n",
  };
  guint done, failures = 0;

  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    guint which = done % (G_N_ELEMENTS (offers) + 2);
    int status;
    g_autofree char *location = NULL;

    if (which < G_N_ELEMENTS (offers)) {
      status = whep_post (soak, "application/sdp", offers[which], strlen (offers[which]),
          &location);
    } else if (which == G_N_ELEMENTS (offers)) {
      status = whep_post (soak, "text/plain", whep_offer, strlen (whep_offer), &location);
    } else {
      /* A good offer with a=ssrc:0 in it. */
      g_autofree char *offer = g_strconcat (whep_offer, "a=ssrc:0 cname:soak\r\n", NULL);
      status = whep_post (soak, "application/sdp", offer, strlen (offer), &location);
    }
    if (status < 0) {
      if (cycle_failed (soak, &failures, "WHEP POST"))
        break;
      continue;
    }
    failures = 0;
    if (status == 201) {
      stage_fail (soak, "bad WHEP offer %u accepted (201)", which);
      if (location != NULL)
        http_once (soak, "DELETE", location, NULL, NULL, 0, NULL);
    } else if (status < 400 || status >= 500) {
      stage_fail (soak, "bad WHEP offer %u answered %d, not 4xx", which, status);
    }
    pump ();
  }
  return done;
}

/* ---- stages: floods and oversize input ---- */

/* 10,000 messages as fast as the socket takes them on one WebSocket; the daemon must cut the
 * sender off (rate_limited) without a log line per message. */
static guint
stage_flood_messages (Soak *soak, guint count)
{
  Conn conn;
  guint done;

  conn_init (&conn);
  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    g_autoptr (PscMessage) offer = ws_join_camera (soak, &conn);

    if (offer == NULL) {
      stage_fail (soak, "no WebSocket to flood");
      break;
    }
    for (guint i = 0; i < 10000; i++)
      if (!ws_send_text (&conn, "{\"type\":\"no_such_type\"}"))
        break;
    conn_close (&conn, FALSE);
    pump_for (200);
  }
  conn_clear (&conn);
  return done;
}

/* A text message whose continuation frames never end (64 KiB each): the daemon must close
 * the socket once the message is over its size cap, not buffer it all. At most 64 MiB sent
 * (1 GiB with --full) per cycle. */
static guint
stage_flood_fragments (Soak *soak, guint count)
{
  Conn conn;
  guint done;
  gsize max_bytes = (soak->full ? 1024 : 64) * (gsize) 1024 * 1024;
  g_autofree guint8 *chunk = g_malloc0 (65536);

  memset (chunk, 'a', 65536);
  conn_init (&conn);
  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    g_autoptr (PscMessage) offer = ws_join_camera (soak, &conn);
    gsize sent = 0;

    if (offer == NULL) {
      stage_fail (soak, "no WebSocket to send the fragments on");
      break;
    }
    if (ws_send (&conn, WS_TEXT, FALSE, "{\"type\":\"", 9))
      while (sent < max_bytes && ws_send (&conn, WS_CONTINUATION, FALSE, chunk, 65536))
        sent += 65536;
    if (sent >= max_bytes)
      stage_fail (soak, "a never-ending fragmented message: %" G_GSIZE_FORMAT " MiB taken "
          "without the socket closed", sent >> 20);
    conn_close (&conn, TRUE);
    pump_for (200);
  }
  conn_clear (&conn);
  return done;
}

/* A frame over 1 MiB: the daemon must close with 1009 (message too big). */
static guint
stage_flood_big_frame (Soak *soak, guint count)
{
  Conn conn;
  guint done, without_1009 = 0, refusals = 0;
  gsize length = 2 * 1024 * 1024;
  g_autofree guint8 *payload = g_malloc (length);

  memset (payload, ' ', length);
  conn_init (&conn);
  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    g_autoptr (PscMessage) welcome = NULL;
    int code;

    /* A room without a camera: the frames are the load, not a viewer per connection. */
    if (!ws_open (soak, &conn, "/ws/big-frames") || !ws_handshake_done (&conn)) {
      stage_fail (soak, "no WebSocket to send the frame on");
      break;
    }
    /* Joined first (existing_peers), as a page is before it sends anything. Refused for the
     * room's peer cap (a room without a camera takes 16), the peers closed just before not
     * reaped yet: tried again, as the page does — the cap is not what this stage measures. */
    welcome = ws_wait_message (&conn, PSC_MESSAGE_EXISTING_PEERS);
    if (welcome == NULL || welcome->type != PSC_MESSAGE_EXISTING_PEERS) {
      conn_close (&conn, FALSE);
      if (refusals++ == REFUSED_RETRIES) {
        stage_fail (soak, "the room refused a peer %u times in a row", REFUSED_RETRIES);
        break;
      }
      soak->refused++;
      pump_for (REFUSED_RETRY_MS);
      done--;
      continue;
    }
    refusals = 0;
    /* The daemon may close before it has all of it: a failed send is expected. */
    ws_send (&conn, WS_TEXT, TRUE, payload, length);
    code = ws_wait_close (&conn);
    if (code != 1009)
      without_1009++;
    conn_close (&conn, FALSE);
    pump ();
  }
  if (without_1009 > 0)
    stage_fail (soak, "%u of %u frames over 1 MiB closed without 1009 (too big)",
        without_1009, done);
  conn_clear (&conn);
  return done;
}

/* One WHEP session, then PATCHes of 1,000 candidates each (127.0.0.1, ports nobody answers
 * on); afterwards the REST API must answer within IO_TIMEOUT_MS. */
static guint
stage_flood_whep_patch (Soak *soak, guint count)
{
  g_autofree char *location = NULL;
  g_autoptr (GString) fragment = g_string_new ("a=ice-ufrag:soak\r\na=ice-pwd:"
      "soaksoaksoaksoaksoaksoak\r\na=mid:0\r\n");
  guint done, refused = 0;
  int status;

  for (guint i = 0; i < 1000; i++)
    g_string_append_printf (fragment, "a=candidate:%u 1 UDP %u 127.0.0.1 %u typ host\r\n",
        i, 2122252543 - i, 40000 + i);
  status = whep_post (soak, "application/sdp", whep_offer, strlen (whep_offer), &location);
  if (status != 201 || location == NULL) {
    stage_fail (soak, "POST /whep answered %d, not 201", status);
    return 0;
  }
  for (done = 0; done < count; done++) {
    status = http_once (soak, "PATCH", location, "application/trickle-ice-sdpfrag",
        fragment->str, fragment->len, NULL);
    if (status < 0 || status >= 500) {
      stage_fail (soak, "PATCH %u of %u got %s", done + 1, count,
          status < 0 ? "no answer" : "a 5xx");
      break;
    }
    refused += status >= 400;
    pump ();
  }
  /* Right away, and once the agent has had time to pair all those candidates. */
  for (guint round = 0; round < 2 && soak->stage_problem == NULL; round++) {
    g_autofree char *path = g_strdup_printf ("/api/streams/%s", stream_id);
    gint64 start;

    if (round == 1)
      pump_for (3000);
    start = g_get_monotonic_time ();
    status = http_once (soak, "GET", path, NULL, NULL, 0, NULL);
    if (status != 200)
      stage_fail (soak, "after the PATCH flood GET %s got %s", path,
          status < 0 ? "no answer" : "an error");
    else
      g_print ("%-24s GET /api/streams/%s answered in %.0f ms (%u PATCHes refused)\n", "",
          stream_id, (g_get_monotonic_time () - start) / 1000.0, refused);
  }
  http_once (soak, "DELETE", location, NULL, NULL, 0, NULL);
  return done;
}

/* POST /whep with Content-Length: 100 MB: the daemon must refuse it from its headers (413)
 * before the body is sent. Sends the body only if no answer came within 2 s. */
static guint
stage_flood_whep_body (Soak *soak, guint count)
{
  guint done;
  g_autofree guint8 *chunk = g_malloc (1024 * 1024);
  const gsize length = 100 * 1000 * 1000;

  memset (chunk, 'a', 1024 * 1024);
  for (done = 0; done < count && soak->stage_problem == NULL; done++) {
    Conn conn;
    g_autofree char *request = g_strdup_printf ("POST /whep/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/sdp\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n",
        stream_id, length);
    int status = -1;
    gsize sent = 0;

    conn_init (&conn);
    if (!conn_open (soak, &conn) || !send_all (&conn, request, strlen (request))) {
      conn_clear (&conn);
      stage_fail (soak, "could not send a request");
      break;
    }
    set_timeout (conn.fd, 2000);
    status = http_read_response (&conn, FALSE, NULL);
    if (status < 0) {
      g_byte_array_set_size (conn.in, 0);
      set_timeout (conn.fd, IO_TIMEOUT_MS);
      while (sent < length && send_all (&conn, chunk, MIN (1024 * 1024, length - sent)))
        sent += MIN (1024 * 1024, length - sent);
      status = http_read_response (&conn, FALSE, NULL);
      stage_fail (soak, "a 100 MB body read before the answer (%d, %" G_GSIZE_FORMAT
          " MB sent)", status, sent / 1000000);
    } else if (status != 413) {
      stage_fail (soak, "a 100 MB body answered %d, not 413", status);
    }
    conn_clear (&conn);
    pump ();
  }
  return done;
}

/* Peers in a room without a camera relaying to one that never reads: 20 senders, each
 * within the rate limit (40 messages of 4 KiB a second), for @count seconds. The daemon must
 * drop the slow peer rather than queue for it (the stage's peak RSS is bounded). */
#define RELAY_SENDERS 20

static guint
stage_flood_relay (Soak *soak, guint count)
{
  Conn sink, senders[RELAY_SENDERS];
  g_autoptr (PscMessage) message = psc_message_new (PSC_MESSAGE_OFFER);
  g_autofree char *json = NULL;
  int small = 4096;
  guint seconds;

  conn_init (&sink);
  for (guint i = 0; i < RELAY_SENDERS; i++)
    conn_init (&senders[i]);
  message->target_peer_id = g_strdup ("sink");
  message->sdp = g_strnfill (4000, 'x');
  json = psc_message_to_json (message);

  /* A receive buffer as small as it goes: the daemon's writes back up at once. */
  if (!conn_open (soak, &sink) ||
      setsockopt (sink.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) != 0 ||
      !http_send (&sink, "GET", "/ws/soak-relay/sink", "1.1", "Upgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n", NULL, NULL, 0) ||
      !ws_handshake_done (&sink)) {
    stage_fail (soak, "the never-reading peer could not join");
    conn_clear (&sink);
    return 0;
  }
  for (guint i = 0; i < RELAY_SENDERS; i++) {
    g_autofree char *path = g_strdup_printf ("/ws/soak-relay/sender%u", i);
    if (!ws_open (soak, &senders[i], path) || !ws_handshake_done (&senders[i]))
      conn_close (&senders[i], FALSE);
  }
  for (seconds = 0; seconds < count; seconds++) {
    for (guint tick = 0; tick < 10; tick++) {
      for (guint i = 0; i < RELAY_SENDERS; i++)
        for (guint m = 0; m < 4 && senders[i].fd >= 0; m++)
          if (!ws_send_text (&senders[i], json))
            conn_close (&senders[i], FALSE);
      pump_for (100);
    }
  }
  for (guint i = 0; i < RELAY_SENDERS; i++)
    conn_clear (&senders[i]);
  conn_close (&sink, TRUE);
  conn_clear (&sink);
  return seconds;
}

/* ---- the stages, in order ---- */

static const Stage stages[] = {
  { "http-keepalive", stage_http_keepalive, 10000, 80000, FALSE },
  { "http-close", stage_http_close, 1000, 10000, FALSE },
  { "http-1.0", stage_http_1_0, 1000, 10000, FALSE },
  { "http-slowloris", stage_http_slowloris, 200, 1000, FALSE },
  { "idle-connections", stage_idle_connections, 1000, 1000, FALSE },
  { "ws-clean", stage_ws_clean, 1000, 10000, FALSE },
  { "ws-reset-before-welcome", stage_ws_reset_before_welcome, 1000, 10000, FALSE },
  { "ws-reset-after-offer", stage_ws_reset_after_offer, 1000, 10000, FALSE },
  { "ws-reset-mid-ice", stage_ws_reset_mid_ice, 1000, 10000, FALSE },
  { "ws-half-close", stage_ws_half_close, 1000, 10000, FALSE },
  { "ws-unanswered", stage_ws_unanswered, 100, 10000, FALSE },
  { "ws-connected", stage_ws_connected, 20, 1000, FALSE },
  { "whep-delete", stage_whep_delete, 1000, 10000, FALSE },
  { "whep-vanish", stage_whep_vanish, 100, 10000, FALSE },
  { "whep-bad", stage_whep_bad, 1000, 10000, FALSE },
  { "flood-messages", stage_flood_messages, 1, 10, TRUE },
  { "flood-fragments", stage_flood_fragments, 3, 10, TRUE },
  { "flood-big-frame", stage_flood_big_frame, 20, 1000, TRUE },
  { "flood-whep-patch", stage_flood_whep_patch, 100, 100, TRUE },
  { "flood-whep-body", stage_flood_whep_body, 3, 10, TRUE },
  { "flood-relay", stage_flood_relay, 10, 20, TRUE },
};

static gboolean
stage_selected (Soak *soak, const Stage *stage)
{
  return soak->only_stages == NULL ||
      g_strv_contains ((const char *const *) soak->only_stages, stage->name);
}

/* After a stage: waits up to SETTLE_S for the fds and threads to come back, prints the stage's line, and
 * checks it. A dead or deaf daemon is started again (with its viewer). Returns FALSE when
 * the soak cannot go on. */
static gboolean
stage_finish (Soak *soak, const Stage *stage, guint done, gint64 start_us, DaemonSample before)
{
  double seconds = (g_get_monotonic_time () - start_us) / (double) G_USEC_PER_SEC;
  gint64 settle_end = g_get_monotonic_time () + SETTLE_S * G_USEC_PER_SEC;
  DaemonSample after;
  guint64 peak_kib, log_lines;
  gint64 stall_us;
  guint frames = 0;
  int wait_status = 0;
  gboolean exited, deaf = FALSE;

  while (!(exited = daemon_exited (soak, &wait_status)) && g_get_monotonic_time () < settle_end) {
    DaemonSample now = sample_daemon (soak);
    if (now.fds <= before.fds + FD_BOUND && now.threads <= before.threads + THREAD_BOUND)
      break;
    pump_for (250);
  }
  if (!exited && (deaf = !daemon_answers (soak))) {
    /* A daemon on its way out (a core dump) answers no more either: which is it? */
    pump_for (1000);
    exited = daemon_exited (soak, &wait_status);
  }
  after = sample_daemon (soak);
  g_mutex_lock (&soak->lock);
  peak_kib = soak->peak_rss_kib;
  stall_us = soak->max_stall_us;
  if (soak->viewer != NULL)
    frames = psc_test_client_get_frames (soak->viewer);
  g_mutex_unlock (&soak->lock);
  log_lines = take_log_lines (soak);

  g_print ("%-24s %7u %7.1f s  fds %4d  threads %3d  rss %6.1f MiB  peak %6.1f MiB  "
      "log %5" G_GUINT64_FORMAT "  refused %4u  viewer %s (%u frames, longest stall %.1f s)\n",
      stage->name, done, seconds, after.fds, after.threads, after.rss_kib / 1024.0,
      peak_kib / 1024.0, log_lines, soak->refused, stall_us <= MAX_STALL_US ? "rising" :
      "STALLED", frames, stall_us / (double) G_USEC_PER_SEC);
  soak->refused = 0;

  if (soak->stage_problem != NULL)
    soak_fail (soak, "%s: %s", stage->name, soak->stage_problem);
  if (exited) {
    g_autofree char *how = describe_wait_status (wait_status);
    soak_fail (soak, "%s: the daemon died (%s)", stage->name, how);
  } else if (deaf) {
    soak_fail (soak, "%s: the daemon no longer answers GET /healthz (fds %d of %u)",
        stage->name, after.fds, soak->fd_limit);
  } else {
    /* Against the stage's own start, so that a leak is blamed on the stage that made it. */
    if (after.fds > before.fds + FD_BOUND) {
      g_autofree char *kinds = describe_fds (soak->pid);
      soak_fail (soak, "%s: fds %d, more than %d over the %d before it (before: %s; after: %s)",
          stage->name, after.fds, FD_BOUND, before.fds, soak->stage_fd_kinds, kinds);
    }
    if (after.threads > before.threads + THREAD_BOUND)
      soak_fail (soak, "%s: threads %d, more than %d over the %d before it", stage->name,
          after.threads, THREAD_BOUND, before.threads);
    if (stage->flood && peak_kib > before.rss_kib + FLOOD_PEAK_BOUND_MIB * 1024)
      soak_fail (soak, "%s: peak RSS %.1f MiB, more than %d MiB over the %.1f MiB before it",
          stage->name, peak_kib / 1024.0, FLOOD_PEAK_BOUND_MIB, before.rss_kib / 1024.0);
    if (stage->flood && log_lines > FLOOD_LOG_BOUND)
      soak_fail (soak, "%s: %" G_GUINT64_FORMAT " log lines (bound %d)", stage->name,
          log_lines, FLOOD_LOG_BOUND);
  }
  if (stall_us > MAX_STALL_US)
    soak_fail (soak, "%s: the real viewer's frames stopped for %.1f s", stage->name,
        stall_us / (double) G_USEC_PER_SEC);
  g_clear_pointer (&soak->stage_problem, g_free);

  if (exited || deaf) {
    viewer_stop (soak);
    soak_kill_daemon (soak);
    g_print ("%-24s starting the daemon again for the next stages\n", "");
    return soak_start (soak);
  }
  return TRUE;
}

/* The end: the bounds against the first baseline of this daemon, then SIGTERM and its exit
 * status, and the log. */
static void
soak_finish (Soak *soak)
{
  g_autofree char *log = NULL;
  DaemonSample end;
  gint64 deadline;
  int status = 0;

  if (soak->pid > 0) {
    /* What the last stage's last requests left being torn down (a snapshot's conversion
     * pipeline, stopped on GStreamer's own thread) is given time to go. */
    end = settle (soak, "end");
    g_print ("%-24s fds %d (start %d), threads %d (start %d), rss %.1f MiB (start %.1f)\n",
        "end", end.fds, soak->baseline.fds, end.threads, soak->baseline.threads,
        end.rss_kib / 1024.0, soak->baseline.rss_kib / 1024.0);
    /* Within the bound too: what the daemon still holds is what to look at next. */
    if (end.fds != soak->baseline.fds) {
      g_autofree char *kinds = describe_fds (soak->pid);
      g_print ("%-24s fds at the start: %s; at the end: %s\n", "", soak->baseline_fd_kinds,
          kinds);
    }
    if (end.fds > soak->baseline.fds + FD_BOUND) {
      g_autofree char *kinds = describe_fds (soak->pid);
      soak_fail (soak, "end: fds %d, more than %d over the %d at the start (start: %s; end: %s)",
          end.fds, FD_BOUND, soak->baseline.fds, soak->baseline_fd_kinds, kinds);
    }
    if (end.threads > soak->baseline.threads + THREAD_BOUND)
      soak_fail (soak, "end: threads %d, more than %d over the %d at the start", end.threads,
          THREAD_BOUND, soak->baseline.threads);
    if (end.rss_kib > soak->baseline.rss_kib + RSS_BOUND_MIB * 1024)
      soak_fail (soak, "end: rss %.1f MiB, more than %d MiB over the %.1f MiB at the start",
          end.rss_kib / 1024.0, RSS_BOUND_MIB, soak->baseline.rss_kib / 1024.0);
  }
  viewer_stop (soak);
  if (soak->pid > 0) {
    kill (soak->pid, SIGTERM);
    deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (!daemon_exited (soak, &status) && g_get_monotonic_time () < deadline)
      g_usleep (50 * 1000);
    if (soak->pid > 0) {
      soak_fail (soak, "end: the daemon did not exit within 10 s of SIGTERM");
      soak_kill_daemon (soak);
    } else if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
      g_autofree char *how = describe_wait_status (status);
      soak_fail (soak, "end: the daemon's SIGTERM exit: %s, not 0", how);
    }
  }
  if (g_file_get_contents (soak->log_path, &log, NULL, NULL) &&
      strstr (log, "CRITICAL") != NULL)
    soak_fail (soak, "the daemon's log has a CRITICAL (%s)", soak->log_path);
}

/* SIGINT, SIGTERM (meson's timeout): the daemon goes with us. Async-signal-safe. */
static void
on_signal (int signo)
{
  if (the_soak != NULL && the_soak->pid > 0) {
    kill (the_soak->pid, SIGKILL);
    waitpid (the_soak->pid, NULL, 0);
  }
  signal (signo, SIG_DFL);
  raise (signo);
}

int
main (int argc, char **argv)
{
  Soak soak = { 0 };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *daemon_path = NULL;
  g_auto (GStrv) only_stages = NULL;
  gboolean full = FALSE, keep_log = FALSE;
  int fd_limit = 256, connect_timeout = 3;
  struct rlimit own;
  gint64 run_start;
  int status;
  GOptionEntry entries[] = {
    { "daemon", 0, 0, G_OPTION_ARG_FILENAME, &daemon_path,
      "The periscope binary (build/src/periscope)", "PATH" },
    { "full", 0, 0, G_OPTION_ARG_NONE, &full,
      "The issue's counts: 100,000 HTTP requests, 10,000 cycles of each viewer ending", NULL },
    { "fd-limit", 0, 0, G_OPTION_ARG_INT, &fd_limit,
      "The daemon's fd limit, soft and hard (256)", "N" },
    { "connect-timeout", 0, 0, G_OPTION_ARG_INT, &connect_timeout,
      "The daemon's --connect-timeout, seconds (3)", "S" },
    { "stage", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only_stages,
      "Run only this stage (repeat for several)", "NAME" },
    { "keep-log", 0, 0, G_OPTION_ARG_NONE, &keep_log,
      "Keep the daemon's log (its path is printed)", NULL },
    { NULL }
  };

  context = g_option_context_new ("- soak the periscope daemon (docs/performance.md)");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error) || daemon_path == NULL ||
      fd_limit < 64 || connect_timeout < 1) {
    g_printerr (PROGRAM ": %s\n", error != NULL ? error->message :
        "--daemon PATH is required; --fd-limit at least 64, --connect-timeout at least 1");
    return EXIT_USAGE;
  }
  for (guint i = 0; only_stages != NULL && only_stages[i] != NULL; i++) {
    gboolean known = FALSE;
    for (guint s = 0; s < G_N_ELEMENTS (stages); s++)
      known |= g_str_equal (stages[s].name, only_stages[i]);
    if (!known) {
      g_printerr (PROGRAM ": no stage %s\n", only_stages[i]);
      return EXIT_USAGE;
    }
  }

  /* Enough fds of our own for the slowloris stage. */
  if (getrlimit (RLIMIT_NOFILE, &own) == 0) {
    own.rlim_cur = own.rlim_max;
    setrlimit (RLIMIT_NOFILE, &own);
  }
  signal (SIGPIPE, SIG_IGN);
  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);

  soak.daemon_path = g_steal_pointer (&daemon_path);
  soak.full = full;
  soak.fd_limit = fd_limit;
  soak.connect_timeout_s = connect_timeout;
  soak.only_stages = g_steal_pointer (&only_stages);
  soak.failures = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&soak.lock);
  soak.workdir = g_dir_make_tmp ("psc-soak-XXXXXX", &error);
  if (soak.workdir == NULL) {
    g_printerr (PROGRAM ": %s\n", error->message);
    return EXIT_UNAVAILABLE;
  }
  soak.log_path = g_build_filename (soak.workdir, "periscope.log", NULL);
  soak.state_dir = g_build_filename (soak.workdir, "state", NULL);
  the_soak = &soak;
  soak.monitor = g_thread_new ("soak-monitor", monitor_thread, &soak);

  g_print ("%s: %s run, daemon log %s\n", PROGRAM, full ? "full" : "short", soak.log_path);
  run_start = g_get_monotonic_time ();
  if (!soak_start (&soak)) {
    viewer_stop (&soak);
    soak_kill_daemon (&soak);
    g_printerr (PROGRAM ": %s\n", (char *) g_ptr_array_index (soak.failures, 0));
    return EXIT_UNAVAILABLE;
  }
  for (guint s = 0; s < G_N_ELEMENTS (stages); s++) {
    const Stage *stage = &stages[s];
    guint count = full ? stage->full_count : stage->short_count;
    DaemonSample before;
    gint64 start_us;
    guint done;

    if (!stage_selected (&soak, stage))
      continue;
    monitor_reset (&soak);
    before = sample_daemon (&soak);
    g_free (soak.stage_fd_kinds);
    soak.stage_fd_kinds = describe_fds (soak.pid);
    start_us = g_get_monotonic_time ();
    soak.stage = stage;
    done = stage->run (&soak, count);
    if (!stage_finish (&soak, stage, done, start_us, before))
      break;
  }
  soak_finish (&soak);
  g_atomic_int_set (&soak.stopping, TRUE);
  g_thread_join (soak.monitor);
  the_soak = NULL;

  g_print ("%s: %.0f s, %u failed check%s\n", PROGRAM,
      (g_get_monotonic_time () - run_start) / (double) G_USEC_PER_SEC, soak.failures->len,
      soak.failures->len == 1 ? "" : "s");
  status = soak.failures->len == 0 ? 0 : 1;
  if (status != 0)
    g_printerr (PROGRAM ": FAILED: %s\n", (char *) g_ptr_array_index (soak.failures, 0));
  if (!keep_log && status == 0) {
    g_autoptr (GDir) state = g_dir_open (soak.state_dir, 0, NULL);
    const char *name;

    while (state != NULL && (name = g_dir_read_name (state)) != NULL) {
      g_autofree char *path = g_build_filename (soak.state_dir, name, NULL);
      g_unlink (path);
    }
    g_rmdir (soak.state_dir);
    g_unlink (soak.log_path);
    g_rmdir (soak.workdir);
  }
  g_ptr_array_unref (soak.failures);
  g_free (soak.baseline_fd_kinds);
  g_free (soak.stage_fd_kinds);
  g_strfreev (soak.only_stages);
  g_free (soak.log_path);
  g_free (soak.workdir);
  g_free (soak.state_dir);
  g_free (soak.daemon_path);
  g_mutex_clear (&soak.lock);
  return status;
}
