/*
 * webrtcload: the load generator behind `npm run bench -- webrtc-legs` (bench/webrtc-legs.ts
 * compiles it on demand with gcc and talks to it over stdin/stdout). It plays both parties of
 * every bridged call on 127.0.0.1:
 *  - the plain-RTP party: a UDP socket sending 50 G.711 μ-law packets/s (a 400 Hz tone), like
 *    bench/rtpload.c;
 *  - the WebRTC client (what a browser agent is to the media path): ICE (a full, controlling agent
 *    towards an ICE-lite server such as mediasoup; an ICE-lite agent answering a full one such as
 *    rtpengine), DTLS 1.2 as the client (OpenSSL, self-signed P-256 certificate, use_srtp
 *    SRTP_AES128_CM_SHA1_80), then SRTP (libsrtp2) sending 50 packets/s of a 1000 Hz tone and
 *    counting the SRTP packets that authenticate. Consent freshness (RFC 7675): a controlling
 *    client sends a binding request every 5 s; an ICE-lite one answers the server's.
 * Why C and not Chromium or a TypeScript WebRTC stack: the generator shares 2 cores with the system
 * under test; a browser costs tens of MB and several % of a core per peer connection.
 *
 * Protocol (one command per line on stdin, exactly one reply line on stdout per command):
 *   plain N           -> "ports P1 .. PN"  N plain sockets (ephemeral ports), in order
 *   target I PORT     -> "ok"              plain socket I sends to PORT (starts sending)
 *   webrtc            -> "client I PORT UFRAG PWD FINGERPRINT SSRC"   a WebRTC client socket
 *   connect I PORT UFRAG PWD MODE -> "ok MS" | "err ..."   MODE controlling|lite: ICE then the DTLS
 *                        handshake with the server at 127.0.0.1:PORT (at most 5 s), SRTP keys, and
 *                        the client starts sending; MS = how long it took
 *   stats             -> "stats SENT RECV CPU_US DEAD STREAMS SENDERR AUTHFAIL"   as rtpload, over
 *                        plain and WebRTC sockets together; AUTHFAIL = SRTP packets that did not
 *                        authenticate (not counted as received)
 *   recv              -> "recv R1 .. RN"   packets each socket received, in open order
 *   audio I           -> "audio HEX"       the last 50 payloads (8000 μ-law bytes) socket I received
 *   stop              -> exits 0
 * Exits when stdin closes and after a wall-clock cap of 20 minutes.
 *
 * Pacing as rtpload: 2 ms slots, socket i sends in slot i % 10, a 1 ms paced loop taking what
 * epoll has ready. A connect blocks the loop (handshakes are done one call at a time while the
 * load is raised); missed slots are skipped, not sent in a burst.
 *
 * Build: gcc -O2 -std=c11 -Wall -o webrtcload bench/webrtcload.c -lssl -lcrypto -lsrtp2
 *        (Debian: libssl-dev libsrtp2-dev)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <srtp2/srtp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 10
#define SLOT_NS 2000000LL
#define MAX_WALL_NS (20LL * 60 * 1000000000LL)
#define MAX_SOCKS 8000
#define STDIN_TAG UINT32_MAX
#define BATCH 16
#define AUDIO_KEEP 50
#define CONSENT_NS (5LL * 1000000000LL)

typedef struct {
  int fd;
  uint16_t port;
  uint16_t target; /* 0 = not sending */
  uint16_t seq;
  uint32_t ssrc;
  uint64_t recv, recv_mark;
  /* WebRTC only */
  int webrtc, controlling;
  char ufrag[9], pwd[33];
  char rufrag[257], rpwd[257];
  SSL *ssl;
  srtp_t tx, rx;
  int64_t consent_at;
  /* the last AUDIO_KEEP payloads received (ring) */
  uint8_t *audio;
  uint32_t audio_n;
} Sock;

static Sock *socks;
static uint32_t nsocks;
static uint64_t total_sent, total_recv, send_errors, auth_fail;
static int ep, sending;
static int64_t t_start, slot_next;
static SSL_CTX *dtls;
static char fingerprint[200];
static uint8_t tone_plain[160], tone_webrtc[160];

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "webrtcload: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void reply(const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      exit(0);
    }
    s += w;
    n -= (size_t)w;
  }
}

/* G.711 μ-law (ITU-T G.711, the classic Sun implementation). */
static uint8_t ulaw(int16_t pcm) {
  const int BIAS = 0x84, CLIP = 32635;
  int sign = (pcm >> 8) & 0x80;
  int s = pcm;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  int exp = 7;
  for (int mask = 0x4000; (s & mask) == 0 && exp > 0; exp--, mask >>= 1) {
  }
  int mant = (s >> (exp + 3)) & 0x0f;
  return (uint8_t) ~(sign | (exp << 4) | mant);
}

/* One 20 ms frame of a tone whose period divides 160 samples: every frame is the same. */
static void tone_frame(uint8_t *out, double hz) {
  for (int n = 0; n < 160; n++) out[n] = ulaw((int16_t)(8000.0 * sin(2 * M_PI * hz * n / 8000.0)));
}

/* ---------------------------------------------------------------------------------------------
 * STUN (RFC 5389) for ICE (RFC 8445): binding requests and responses with MESSAGE-INTEGRITY and
 * FINGERPRINT. */
static uint32_t crc_table[256];
static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}
static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static size_t put_attr(uint8_t *m, size_t o, uint16_t type, const void *v, uint16_t len) {
  m[o] = (uint8_t)(type >> 8);
  m[o + 1] = (uint8_t)type;
  m[o + 2] = (uint8_t)(len >> 8);
  m[o + 3] = (uint8_t)len;
  memcpy(m + o + 4, v, len);
  size_t padded = (len + 3u) & ~3u;
  memset(m + o + 4 + len, 0, padded - len);
  return o + 4 + padded;
}

static void set_len(uint8_t *m, size_t total) {
  m[2] = (uint8_t)((total - 20) >> 8);
  m[3] = (uint8_t)(total - 20);
}

/* Appends MESSAGE-INTEGRITY (key = the password) and FINGERPRINT; returns the length. */
static size_t stun_finish(uint8_t *m, size_t o, const char *key) {
  uint8_t mac[EVP_MAX_MD_SIZE];
  size_t maclen = 0;
  set_len(m, o + 24);
  if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, key, strlen(key), m, o, mac, sizeof mac, &maclen)) {
    fprintf(stderr, "webrtcload: HMAC failed\n");
    exit(1);
  }
  o = put_attr(m, o, 0x0008, mac, 20);
  set_len(m, o + 8);
  uint32_t fp = htonl(crc32(m, o) ^ 0x5354554eu);
  return put_attr(m, o, 0x8028, &fp, 4);
}

static void stun_header(uint8_t *m, uint16_t type, const uint8_t *txid) {
  m[0] = (uint8_t)(type >> 8);
  m[1] = (uint8_t)type;
  m[4] = 0x21, m[5] = 0x12, m[6] = 0xa4, m[7] = 0x42;
  memcpy(m + 8, txid, 12);
}

/* A controlling agent's check (nominating: USE-CANDIDATE), also used for consent. */
static void send_check(Sock *k) {
  uint8_t m[512], txid[12];
  RAND_bytes(txid, sizeof txid);
  stun_header(m, 0x0001, txid);
  char user[520];
  int ul = snprintf(user, sizeof user, "%s:%s", k->rufrag, k->ufrag);
  size_t o = put_attr(m, 20, 0x0006, user, (uint16_t)ul);
  uint32_t prio = htonl(0x6effffffu);
  o = put_attr(m, o, 0x0024, &prio, 4);
  uint8_t tie[8];
  RAND_bytes(tie, sizeof tie);
  o = put_attr(m, o, 0x802a, tie, 8);
  o = put_attr(m, o, 0x0025, "", 0);
  o = stun_finish(m, o, k->rpwd);
  if (send(k->fd, m, o, 0) < 0) send_errors++;
}

/* Answers a binding request from the server (a full agent checking us, or keeping consent). */
static void answer_check(Sock *k, const uint8_t *req, size_t len) {
  if (len < 20 || req[0] != 0x00 || req[1] != 0x01) return; /* responses and indications: nothing to do */
  uint8_t m[256];
  stun_header(m, 0x0101, req + 8);
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  if (getpeername(k->fd, (struct sockaddr *)&peer, &pl) < 0) return;
  uint8_t xa[8] = {0, 1};
  uint16_t xp = ntohs(peer.sin_port) ^ 0x2112;
  xa[2] = (uint8_t)(xp >> 8), xa[3] = (uint8_t)xp;
  uint32_t addr = ntohl(peer.sin_addr.s_addr) ^ 0x2112a442u;
  xa[4] = (uint8_t)(addr >> 24), xa[5] = (uint8_t)(addr >> 16), xa[6] = (uint8_t)(addr >> 8), xa[7] = (uint8_t)addr;
  size_t o = put_attr(m, 20, 0x0020, xa, 8);
  o = stun_finish(m, o, k->pwd);
  if (send(k->fd, m, o, 0) < 0) send_errors++;
}

/* ---------------------------------------------------------------------------------------------
 * DTLS: one context, one self-signed certificate for every client. */
static int accept_any(int ok, X509_STORE_CTX *c) {
  (void)ok, (void)c;
  return 1; /* the bench checks media, not the server's identity */
}

static void dtls_init(void) {
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  if (!pk || !x) die("certificate");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, pk);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"webrtcload", -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (!X509_sign(x, pk, EVP_sha256())) die("X509_sign");
  uint8_t md[32];
  unsigned mdlen = 0;
  X509_digest(x, EVP_sha256(), md, &mdlen);
  size_t o = 0;
  for (unsigned i = 0; i < mdlen; i++) o += (size_t)snprintf(fingerprint + o, sizeof fingerprint - o, i ? ":%02X" : "%02X", md[i]);
  dtls = SSL_CTX_new(DTLS_client_method());
  if (!dtls) die("SSL_CTX_new");
  SSL_CTX_use_certificate(dtls, x);
  SSL_CTX_use_PrivateKey(dtls, pk);
  SSL_CTX_set_verify(dtls, SSL_VERIFY_PEER, accept_any);
  if (SSL_CTX_set_tlsext_use_srtp(dtls, "SRTP_AES128_CM_SHA1_80")) die("use_srtp");
}

static int srtp_session(srtp_t *s, const uint8_t *key, const uint8_t *salt, int inbound) {
  uint8_t master[30];
  memcpy(master, key, 16);
  memcpy(master + 16, salt, 14);
  srtp_policy_t p;
  memset(&p, 0, sizeof p);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
  p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  p.key = master;
  p.window_size = 1024;
  p.next = NULL;
  return srtp_create(s, &p) == srtp_err_status_ok ? 0 : -1;
}

static uint32_t open_sock(int webrtc) {
  if (nsocks >= MAX_SOCKS) {
    errno = EMFILE;
    die("too many sockets");
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) die("getsockname");
  uint32_t i = nsocks++;
  socks[i] = (Sock){.fd = fd, .port = ntohs(a.sin_port), .seq = (uint16_t)(rand() % 60000), .ssrc = 0x1000u + i, .webrtc = webrtc};
  socks[i].audio = calloc(AUDIO_KEEP, 160);
  if (!socks[i].audio) die("calloc");
  if (webrtc) {
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint8_t r[40];
    RAND_bytes(r, sizeof r);
    for (int c = 0; c < 8; c++) socks[i].ufrag[c] = al[r[c] % 62];
    for (int c = 0; c < 32; c++) socks[i].pwd[c] = al[r[8 + c] % 62];
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  return i;
}

static void start_sending(void) {
  if (sending) return;
  sending = 1;
  t_start = now_ns();
  slot_next = 0;
}

/* ICE, then the DTLS handshake as client; returns NULL or why it failed. */
static const char *connect_client(Sock *k, uint16_t port, int64_t deadline) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(k->fd, (struct sockaddr *)&to, sizeof to) < 0) return "connect";
  uint8_t buf[2048];
  /* ICE. Controlling towards a lite server: check until it answers. Lite towards a full server:
   * answer its checks (below, while DTLS runs, and in the main loop afterwards). */
  if (k->controlling) {
    int answered = 0;
    int64_t next = 0;
    while (!answered) {
      int64_t now = now_ns();
      if (now > deadline) return "ice timeout";
      if (now >= next) {
        send_check(k);
        next = now + 100000000LL;
      }
      struct pollfd p = {.fd = k->fd, .events = POLLIN};
      if (poll(&p, 1, 20) <= 0) continue;
      ssize_t n = recv(k->fd, buf, sizeof buf, 0);
      if (n >= 20 && buf[0] == 0x01 && buf[1] == 0x01) answered = 1;
      else if (n >= 20 && buf[0] == 0x01 && buf[1] == 0x11) return "ice: error response";
      else if (n >= 20 && buf[0] < 4) answer_check(k, buf, (size_t)n);
    }
  }
  k->consent_at = now_ns() + CONSENT_NS;
  SSL *ssl = SSL_new(dtls);
  BIO *bio = BIO_new_dgram(k->fd, BIO_NOCLOSE);
  BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &to);
  SSL_set_bio(ssl, bio, bio);
  SSL_set_connect_state(ssl);
  k->ssl = ssl;
  for (;;) {
    if (now_ns() > deadline) return "dtls timeout";
    int r = SSL_do_handshake(ssl);
    if (r == 1) break;
    int e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      ERR_print_errors_fp(stderr);
      return "dtls handshake failed";
    }
    /* Wait for the next flight; a STUN packet in the meantime is ours, not OpenSSL's. */
    for (;;) {
      if (now_ns() > deadline) return "dtls timeout";
      struct timeval tv;
      int ms = DTLSv1_get_timeout(ssl, &tv) ? (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000) : 50;
      struct pollfd p = {.fd = k->fd, .events = POLLIN};
      int pr = poll(&p, 1, ms > 50 ? 50 : ms);
      if (pr == 0) {
        DTLSv1_handle_timeout(ssl);
        if (now_ns() > deadline) return "dtls timeout";
        continue;
      }
      ssize_t n = recv(k->fd, buf, sizeof buf, MSG_PEEK);
      if (n > 0 && buf[0] < 4) {
        n = recv(k->fd, buf, sizeof buf, 0);
        if (n >= 20) answer_check(k, buf, (size_t)n);
        continue;
      }
      if (n > 0 && buf[0] >= 20 && buf[0] <= 63) break; /* DTLS: hand it to OpenSSL */
      (void)recv(k->fd, buf, sizeof buf, 0);           /* early SRTP or anything else: drop */
    }
  }
  uint8_t km[60];
  if (SSL_export_keying_material(ssl, km, sizeof km, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1) return "keying material";
  /* client key | server key | client salt | server salt (RFC 5764 §4.2) */
  if (srtp_session(&k->tx, km, km + 32, 0) || srtp_session(&k->rx, km + 16, km + 46, 1)) return "srtp_create";
  k->target = port;
  return NULL;
}

static void send_due(void) {
  if (!sending) return;
  int64_t due = (now_ns() - t_start) / SLOT_NS;
  if (due - slot_next > 50) slot_next = due - SLOTS; /* blocked (a handshake): skip, don't burst */
  uint8_t pkt[12 + 160 + SRTP_MAX_TRAILER_LEN];
  pkt[0] = 0x80;
  pkt[1] = 0;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (; slot_next <= due; slot_next++) {
    uint32_t s = (uint32_t)(slot_next % SLOTS);
    uint32_t ts = (uint32_t)((uint64_t)(slot_next / SLOTS) * 160u);
    for (uint32_t i = s; i < nsocks; i += SLOTS) {
      Sock *k = &socks[i];
      if (!k->target) continue;
      pkt[2] = (uint8_t)(k->seq >> 8), pkt[3] = (uint8_t)k->seq;
      pkt[4] = (uint8_t)(ts >> 24), pkt[5] = (uint8_t)(ts >> 16), pkt[6] = (uint8_t)(ts >> 8), pkt[7] = (uint8_t)ts;
      pkt[8] = (uint8_t)(k->ssrc >> 24), pkt[9] = (uint8_t)(k->ssrc >> 16), pkt[10] = (uint8_t)(k->ssrc >> 8), pkt[11] = (uint8_t)k->ssrc;
      memcpy(pkt + 12, k->webrtc ? tone_webrtc : tone_plain, 160);
      k->seq++;
      total_sent++;
      int len = 172;
      if (k->webrtc) {
        if (srtp_protect(k->tx, pkt, &len) != srtp_err_status_ok) {
          send_errors++;
          continue;
        }
        if (send(k->fd, pkt, (size_t)len, 0) < 0) send_errors++;
      } else {
        to.sin_port = htons(k->target);
        if (sendto(k->fd, pkt, (size_t)len, 0, (struct sockaddr *)&to, sizeof to) < 0) send_errors++;
      }
    }
  }
  /* consent freshness of controlling clients */
  int64_t now = now_ns();
  for (uint32_t i = 0; i < nsocks; i++) {
    Sock *k = &socks[i];
    if (k->webrtc && k->controlling && k->target && now >= k->consent_at) {
      send_check(k);
      k->consent_at = now + CONSENT_NS;
    }
  }
}

static void got_audio(Sock *k, const uint8_t *rtp, int len) {
  if (len < 12 || (rtp[1] & 0x7f) != 0) return;
  int cc = rtp[0] & 0x0f, off = 12 + 4 * cc;
  if (rtp[0] & 0x10) { /* header extension */
    if (len < off + 4) return;
    off += 4 + 4 * ((rtp[off + 2] << 8) | rtp[off + 3]);
  }
  k->recv++;
  total_recv++;
  if (len - off >= 160) memcpy(k->audio + (k->audio_n++ % AUDIO_KEEP) * 160, rtp + off, 160);
}

static void drain(uint32_t i) {
  static uint8_t bufs[BATCH][2048];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  static int ready;
  if (!ready) {
    for (int b = 0; b < BATCH; b++) {
      iov[b] = (struct iovec){.iov_base = bufs[b], .iov_len = sizeof bufs[b]};
      msgs[b].msg_hdr = (struct msghdr){.msg_iov = &iov[b], .msg_iovlen = 1};
    }
    ready = 1;
  }
  Sock *k = &socks[i];
  for (;;) {
    int n = recvmmsg(k->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int b = 0; b < n; b++) {
      uint8_t *p = bufs[b];
      int len = (int)msgs[b].msg_len;
      if (len < 2) continue;
      if (!k->webrtc) {
        got_audio(k, p, len);
        continue;
      }
      if (p[0] < 4) {
        answer_check(k, p, (size_t)len);
        continue;
      }
      if (p[0] < 128 || !k->rx) continue;              /* DTLS after the handshake: nothing we need */
      if (p[1] >= 192 && p[1] <= 223) continue;       /* SRTCP (RFC 5761 demux): not counted */
      if (srtp_unprotect(k->rx, p, &len) != srtp_err_status_ok) {
        auth_fail++;
        continue;
      }
      got_audio(k, p, len);
    }
    if (n < BATCH) return;
  }
}

static char out[1 << 20];

static char *next_tok(char **save) { return strtok_r(NULL, " \t\r", save); }

static void command(char *line) {
  char *save = NULL;
  char *cmd = strtok_r(line, " \t\r", &save);
  if (!cmd) return;
  if (!strcmp(cmd, "plain")) {
    char *a = next_tok(&save);
    long n = a ? strtol(a, NULL, 10) : -1;
    if (n < 0 || n > MAX_SOCKS - (long)nsocks) { reply("err plain: bad count\n", 21); return; }
    size_t o = (size_t)snprintf(out, sizeof out, "ports");
    for (long c = 0; c < n; c++) o += (size_t)snprintf(out + o, sizeof out - o, " %u", socks[open_sock(0)].port);
    out[o++] = '\n';
    reply(out, o);
  } else if (!strcmp(cmd, "target")) {
    char *a = next_tok(&save), *b = next_tok(&save);
    long i = a ? strtol(a, NULL, 10) : -1, port = b ? strtol(b, NULL, 10) : -1;
    if (i < 0 || i >= (long)nsocks || socks[i].webrtc || port <= 0 || port > 65535) { reply("err target\n", 11); return; }
    socks[i].target = (uint16_t)port;
    start_sending();
    reply("ok\n", 3);
  } else if (!strcmp(cmd, "webrtc")) {
    if (nsocks >= MAX_SOCKS) { reply("err webrtc: too many\n", 21); return; }
    uint32_t i = open_sock(1);
    Sock *k = &socks[i];
    int o = snprintf(out, sizeof out, "client %u %u %s %s %s %u\n", i, k->port, k->ufrag, k->pwd, fingerprint, k->ssrc);
    reply(out, (size_t)o);
  } else if (!strcmp(cmd, "connect")) {
    char *a = next_tok(&save), *p = next_tok(&save), *u = next_tok(&save), *w = next_tok(&save), *m = next_tok(&save);
    long i = a ? strtol(a, NULL, 10) : -1, port = p ? strtol(p, NULL, 10) : -1;
    if (i < 0 || i >= (long)nsocks || !socks[i].webrtc || socks[i].ssl || port <= 0 || port > 65535 || !u || !w || !m ||
        strlen(u) > 256 || strlen(w) > 256)
      { reply("err connect: bad arguments\n", 27); return; }
    Sock *k = &socks[i];
    snprintf(k->rufrag, sizeof k->rufrag, "%s", u);
    snprintf(k->rpwd, sizeof k->rpwd, "%s", w);
    k->controlling = !strcmp(m, "controlling");
    int64_t t0 = now_ns();
    const char *err = connect_client(k, (uint16_t)port, t0 + 5000000000LL);
    int o = err ? snprintf(out, sizeof out, "err %s\n", err) : snprintf(out, sizeof out, "ok %.1f\n", (now_ns() - t0) / 1e6);
    if (!err) start_sending();
    reply(out, (size_t)o);
  } else if (!strcmp(cmd, "stats")) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_sec * 1000000u +
                      (uint64_t)ru.ru_stime.tv_usec;
    uint32_t dead = 0;
    for (uint32_t i = 0; i < nsocks; i++) {
      if (socks[i].recv == socks[i].recv_mark) dead++;
      socks[i].recv_mark = socks[i].recv;
    }
    int o = snprintf(out, sizeof out, "stats %llu %llu %llu %u %u %llu %llu\n", (unsigned long long)total_sent, (unsigned long long)total_recv,
                     (unsigned long long)cpu_us, dead, nsocks, (unsigned long long)send_errors, (unsigned long long)auth_fail);
    reply(out, (size_t)o);
  } else if (!strcmp(cmd, "recv")) {
    size_t o = (size_t)snprintf(out, sizeof out, "recv");
    for (uint32_t i = 0; i < nsocks && o + 24 < sizeof out; i++) o += (size_t)snprintf(out + o, sizeof out - o, " %llu", (unsigned long long)socks[i].recv);
    out[o++] = '\n';
    reply(out, o);
  } else if (!strcmp(cmd, "audio")) {
    char *a = next_tok(&save);
    long i = a ? strtol(a, NULL, 10) : -1;
    if (i < 0 || i >= (long)nsocks) { reply("err audio\n", 10); return; }
    Sock *k = &socks[i];
    size_t o = (size_t)snprintf(out, sizeof out, "audio ");
    uint32_t have = k->audio_n < AUDIO_KEEP ? k->audio_n : AUDIO_KEEP;
    for (uint32_t f = 0; f < have; f++) { /* oldest first */
      const uint8_t *fr = k->audio + ((k->audio_n - have + f) % AUDIO_KEEP) * 160;
      for (int b = 0; b < 160; b++) o += (size_t)snprintf(out + o, sizeof out - o, "%02x", fr[b]);
    }
    out[o++] = '\n';
    reply(out, o);
  } else if (!strcmp(cmd, "stop")) {
    exit(0);
  } else {
    reply("err unknown command\n", 20);
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  srand((unsigned)now_ns());
  crc_init();
  tone_frame(tone_plain, 400);
  tone_frame(tone_webrtc, 1000);
  if (srtp_init() != srtp_err_status_ok) die("srtp_init");
  dtls_init();
  socks = calloc(MAX_SOCKS, sizeof *socks);
  if (!socks) die("calloc");
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = STDIN_TAG};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) < 0) die("epoll_ctl stdin");

  const int64_t t0 = now_ns();
  static char in[1 << 16];
  size_t inlen = 0;
  static struct epoll_event evs[4096];
  int64_t tick = t0;
  for (;;) {
    int64_t now = now_ns();
    tick += 1000000;
    if (tick < now - 1000000) tick = now;
    struct timespec ts = {.tv_sec = tick / 1000000000LL, .tv_nsec = tick % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    int n;
  more:
    n = epoll_wait(ep, evs, 4096, 0);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      uint32_t tag = evs[e].data.u32;
      if (tag != STDIN_TAG) {
        drain(tag);
        continue;
      }
      ssize_t r = read(0, in + inlen, sizeof in - inlen - 1);
      if (r == 0) return 0;
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return 0;
      }
      inlen += (size_t)r;
      char *p = in, *nl;
      while ((nl = memchr(p, '\n', inlen - (size_t)(p - in)))) {
        *nl = 0;
        command(p);
        p = nl + 1;
      }
      inlen -= (size_t)(p - in);
      memmove(in, p, inlen);
      if (inlen >= sizeof in - 1) {
        fprintf(stderr, "webrtcload: command line too long\n");
        return 1;
      }
    }
    if (n == 4096) goto more;
    send_due();
    if (now_ns() - t0 > MAX_WALL_NS) {
      fprintf(stderr, "webrtcload: wall-clock cap reached, exiting\n");
      return 2;
    }
  }
}
