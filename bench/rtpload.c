/*
 * rtpload: the RTP load generator behind `npm run bench -- media` (bench/media.ts compiles it on
 * demand with gcc and talks to it over stdin/stdout). It plays both parties of every call: plain
 * UDP sockets on 127.0.0.1, each sending 50 G.711 packets/s (172 bytes: RTP v2, PT 0, 160 payload
 * bytes) to its target, spread evenly over each 20 ms, and counting what it receives.
 *
 * Why C: the Node generator it replaces cost about 0.19 % of a core per call (87 % of a core at
 * 450 calls), as much as the system under test, on a 2-core machine it shares with it.
 *
 * Protocol (one command per line on stdin, exactly one reply line on stdout per command):
 *   open N          -> "ports P1 .. PN"   bind N sockets on 127.0.0.1, ephemeral ports, in order
 *   target T1 .. TK -> "ok"              targets of the next K opened sockets without one, in
 *                                        order; 0 = this socket does not send. Sending starts.
 *   pair N          -> "ok"              loopback floor: N calls' worth of streams with no relay
 *                                        in between, i.e. 2N socket pairs (4N sockets) each socket
 *                                        sending to its partner: 4N streams of 50 packets/s, the
 *                                        200 send+recv pairs per second a relayed call costs
 *   stats           -> "stats SENT RECV CPU_US DEAD STREAMS SENDERR"
 *                      totals since start; CPU_US = own user+system CPU in microseconds; DEAD =
 *                      sockets that received nothing since the previous stats command (sockets
 *                      opened since then count from zero); STREAMS = sockets open; SENDERR =
 *                      failed sendto calls (counted in SENT too, so they show up as loss)
 *   recv            -> "recv R1 .. RN"  packets each socket received since start, in open order
 *                      (the on-hold bench's packets/s per caller)
 *   stop            -> exits 0
 * Unknown commands answer "err ...". Exits when stdin closes (the parent died) and after a hard
 * wall-clock cap of 20 minutes.
 *
 * Sending is paced like the Node generator: a 20 ms period cut into 10 slots of 2 ms; socket i
 * sends in slot i % 10; seq per socket (random start), timestamp = frame * 160, SSRC 0x1000 + i.
 * Receiving: level-triggered epoll on every socket and stdin; a readable socket is drained with
 * recvmmsg (a short batch means it is empty); packets of PT 0 (marker bit or not) count as received.
 * Main loop: wake every 1 ms (clock_nanosleep, absolute), take every ready fd from epoll_wait with
 * timeout 0, then send what is due by CLOCK_MONOTONIC. Blocking in epoll_wait instead woke the
 * generator for nearly every packet the relay sent (about 6 000 wake-ups/s at 150 calls) and cost
 * about twice the CPU; `rtpload --eager` keeps that mode for comparison.
 *
 * Build: gcc -O2 -std=c11 -Wall -o rtpload bench/rtpload.c   (Linux, no extra libraries)
 * Usage: rtpload [--eager]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
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
#define PKT_LEN 172
#define MAX_WALL_NS (20LL * 60 * 1000000000LL)
#define MAX_SOCKS 16000
#define STDIN_TAG UINT32_MAX
#define BATCH 16

typedef struct {
  int fd;
  uint16_t port;   /* own port */
  uint16_t target; /* 0 = does not send */
  uint16_t seq;
  uint64_t recv;
  uint64_t recv_mark; /* recv at the previous stats command */
} Sock;

static Sock *socks;
static uint32_t nsocks, ntargeted;
static uint64_t total_sent, total_recv, send_errors;
static int ep;
static int sending;
static int64_t t_start, slot_next; /* slot_next: index of the next slot to send */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "rtpload: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void reply(const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      exit(0); /* parent gone */
    }
    s += w;
    n -= (size_t)w;
  }
}

static uint32_t open_sock(void) {
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
  socks[i] = (Sock){.fd = fd, .port = ntohs(a.sin_port), .target = 0, .seq = (uint16_t)(rand() % 60000)};
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

/* Send every slot that is due by CLOCK_MONOTONIC (catching up if we fell behind, like the Node
 * generator does). */
static void send_due(void) {
  if (!sending) return;
  int64_t due = (now_ns() - t_start) / SLOT_NS;
  uint8_t pkt[PKT_LEN];
  memset(pkt + 12, 0xff, PKT_LEN - 12);
  pkt[0] = 0x80;
  pkt[1] = 0;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (; slot_next <= due; slot_next++) {
    uint32_t s = (uint32_t)(slot_next % SLOTS);
    uint32_t ts = (uint32_t)((uint64_t)(slot_next / SLOTS) * 160u);
    for (uint32_t i = s; i < nsocks; i += SLOTS) {
      Sock *k = &socks[i];
      if (!k->target) continue;
      uint32_t ssrc = 0x1000u + i;
      pkt[2] = (uint8_t)(k->seq >> 8);
      pkt[3] = (uint8_t)k->seq;
      pkt[4] = (uint8_t)(ts >> 24);
      pkt[5] = (uint8_t)(ts >> 16);
      pkt[6] = (uint8_t)(ts >> 8);
      pkt[7] = (uint8_t)ts;
      pkt[8] = (uint8_t)(ssrc >> 24);
      pkt[9] = (uint8_t)(ssrc >> 16);
      pkt[10] = (uint8_t)(ssrc >> 8);
      pkt[11] = (uint8_t)ssrc;
      k->seq++;
      to.sin_port = htons(k->target);
      total_sent++;
      if (sendto(k->fd, pkt, PKT_LEN, 0, (struct sockaddr *)&to, sizeof to) < 0) send_errors++;
    }
  }
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
      return; /* EAGAIN (empty), or e.g. ECONNREFUSED from an ICMP error: nothing to count */
    }
    for (int b = 0; b < n; b++)
      if (msgs[b].msg_len >= 2 && (bufs[b][1] & 0x7f) == 0) {
        k->recv++;
        total_recv++;
      }
    if (n < BATCH) return;
  }
}

static char out[1 << 20];

static void command(char *line) {
  char *save = NULL;
  char *cmd = strtok_r(line, " \t\r", &save);
  if (!cmd) return;
  if (!strcmp(cmd, "open")) {
    char *a = strtok_r(NULL, " \t\r", &save);
    long n = a ? strtol(a, NULL, 10) : -1;
    if (n < 0 || n > MAX_SOCKS - (long)nsocks) {
      reply("err open: bad count\n", 20);
      return;
    }
    size_t o = (size_t)snprintf(out, sizeof out, "ports");
    for (long k = 0; k < n; k++) {
      uint32_t i = open_sock();
      o += (size_t)snprintf(out + o, sizeof out - o, " %u", socks[i].port);
    }
    out[o++] = '\n';
    reply(out, o);
  } else if (!strcmp(cmd, "target")) {
    char *a;
    while ((a = strtok_r(NULL, " \t\r", &save))) {
      long t = strtol(a, NULL, 10);
      if (ntargeted >= nsocks) {
        reply("err target: more targets than sockets\n", 38);
        return;
      }
      socks[ntargeted++].target = (uint16_t)(t > 0 && t < 65536 ? t : 0);
    }
    start_sending();
    reply("ok\n", 3);
  } else if (!strcmp(cmd, "pair")) {
    char *a = strtok_r(NULL, " \t\r", &save);
    long n = a ? strtol(a, NULL, 10) : -1;
    if (n < 0 || 4 * n > MAX_SOCKS - (long)nsocks || ntargeted != nsocks) {
      reply("err pair: bad count (or sockets without targets)\n", 50);
      return;
    }
    for (long c = 0; c < 2 * n; c++) {
      uint32_t x = open_sock(), y = open_sock();
      socks[x].target = socks[y].port;
      socks[y].target = socks[x].port;
    }
    ntargeted = nsocks;
    start_sending();
    reply("ok\n", 3);
  } else if (!strcmp(cmd, "stats")) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                      (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    uint32_t dead = 0;
    for (uint32_t i = 0; i < nsocks; i++) {
      if (socks[i].recv == socks[i].recv_mark) dead++;
      socks[i].recv_mark = socks[i].recv;
    }
    int o = snprintf(out, sizeof out, "stats %llu %llu %llu %u %u %llu\n", (unsigned long long)total_sent,
                     (unsigned long long)total_recv, (unsigned long long)cpu_us, dead, nsocks,
                     (unsigned long long)send_errors);
    reply(out, (size_t)o);
  } else if (!strcmp(cmd, "recv")) {
    size_t o = (size_t)snprintf(out, sizeof out, "recv");
    for (uint32_t i = 0; i < nsocks && o + 24 < sizeof out; i++)
      o += (size_t)snprintf(out + o, sizeof out - o, " %llu", (unsigned long long)socks[i].recv);
    out[o++] = '\n';
    reply(out, o);
  } else if (!strcmp(cmd, "stop")) {
    exit(0);
  } else {
    reply("err unknown command\n", 20);
  }
}

int main(int argc, char **argv) {
  /* --eager: block in epoll_wait (1 ms timeout) and wake for every arriving packet, the plain
   * event-loop design; costs about twice the CPU against a relay that sends packet by packet. */
  int eager = argc > 1 && !strcmp(argv[1], "--eager");
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  srand((unsigned)now_ns());
  socks = calloc(MAX_SOCKS, sizeof *socks);
  if (!socks) die("calloc");
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = STDIN_TAG};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) < 0) die("epoll_ctl stdin");

  const int64_t t0 = now_ns();
  static char in[1 << 20];
  size_t inlen = 0;
  static struct epoll_event evs[4096];
  int64_t tick = t0;
  for (;;) {
    if (!eager) {
      /* Paced: wake once per millisecond, then take whatever arrived (epoll_wait with timeout 0).
       * Waking for every packet the relay sends would cost a context switch each. */
      int64_t now = now_ns();
      tick += 1000000;
      if (tick < now - 1000000) tick = now; /* fell behind: don't spin to catch up */
      struct timespec ts = {.tv_sec = tick / 1000000000LL, .tv_nsec = tick % 1000000000LL};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
      }
    }
    int n;
  more:
    n = epoll_wait(ep, evs, 4096, eager ? 1 : 0);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      uint32_t tag = evs[e].data.u32;
      if (tag != STDIN_TAG) {
        drain(tag);
        continue;
      }
      ssize_t r = read(0, in + inlen, sizeof in - inlen - 1);
      if (r == 0) return 0; /* parent closed stdin (or died) */
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
        fprintf(stderr, "rtpload: command line too long\n");
        return 1;
      }
    }
    if (n == 4096) goto more;
    send_due();
    if (now_ns() - t0 > MAX_WALL_NS) {
      fprintf(stderr, "rtpload: wall-clock cap reached, exiting\n");
      return 2;
    }
  }
}
