/* periscope benchmark — what srtp_protect() costs a packet, by crypto library
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * THREADS threads (one per viewer, as each viewer's webrtcbin protects on its own queue's
 * thread), each with its own SRTP session (AES_CM_128_HMAC_SHA1_80: the one profile
 * GStreamer 1.22's DTLS offers), protect PACKETS RTP packets of 1,200 bytes each, as fast as
 * they can. Prints the process's CPU time per packet. Built and run by bench/srtp-backends.sh
 * against Debian's libsrtp2 (NSS inside) and libsrtp builds on NSS and on OpenSSL
 * (docs/performance.md, "SRTP: the crypto library underneath").
 *
 *   srtp-protect [THREADS [PACKETS]]
 */
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PACKET_SIZE 1200
#define MAX_THREADS 256

static int packets_per_thread = 20000;
static unsigned char master_key[SRTP_AES_ICM_128_KEY_LEN_WSALT];

static double
seconds (clockid_t clock)
{
  struct timespec t;

  clock_gettime (clock, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* One viewer's sender: its own session, packets with rising sequence numbers. */
static void *
protect_packets (void *data)
{
  unsigned char packet[PACKET_SIZE + SRTP_MAX_TRAILER_LEN];
  srtp_policy_t policy;
  srtp_t session;

  memset (&policy, 0, sizeof policy);
  srtp_crypto_policy_set_rtp_default (&policy.rtp);
  srtp_crypto_policy_set_rtcp_default (&policy.rtcp);
  policy.ssrc.type = ssrc_any_outbound;
  policy.key = master_key;
  policy.window_size = 128;
  if (srtp_create (&session, &policy) != srtp_err_status_ok)
    abort ();
  for (int i = 0; i < packets_per_thread; i++) {
    int length = PACKET_SIZE;

    memset (packet, 0xab, PACKET_SIZE);
    packet[0] = 0x80;           /* RTP version 2 */
    packet[1] = 96;             /* payload type */
    packet[2] = (i >> 8) & 0xff;
    packet[3] = i & 0xff;       /* sequence number */
    memcpy (packet + 8, "\x12\x34\x56\x78", 4);  /* SSRC */
    if (srtp_protect (session, packet, &length) != srtp_err_status_ok)
      abort ();
  }
  srtp_dealloc (session);
  return NULL;
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 1;
  pthread_t ids[MAX_THREADS];
  double cpu, wall;

  if (argc > 2)
    packets_per_thread = atoi (argv[2]);
  if (threads < 1 || threads > MAX_THREADS || packets_per_thread < 1) {
    fprintf (stderr, "usage: %s [THREADS (1-%d) [PACKETS]]\n", argv[0], MAX_THREADS);
    return 64;
  }
  for (size_t i = 0; i < sizeof master_key; i++)
    master_key[i] = (unsigned char) (i * 7 + 1);
  if (srtp_init () != srtp_err_status_ok)
    return 1;
  cpu = seconds (CLOCK_PROCESS_CPUTIME_ID);
  wall = seconds (CLOCK_MONOTONIC);
  for (int t = 0; t < threads; t++)
    pthread_create (&ids[t], NULL, protect_packets, NULL);
  for (int t = 0; t < threads; t++)
    pthread_join (ids[t], NULL);
  cpu = seconds (CLOCK_PROCESS_CPUTIME_ID) - cpu;
  wall = seconds (CLOCK_MONOTONIC) - wall;
  printf ("%3d threads x %d packets: %5.2f us of CPU a packet (%.2f s of CPU, %.2f s)\n",
      threads, packets_per_thread, cpu / threads / packets_per_thread * 1e6, cpu, wall);
  return 0;
}
