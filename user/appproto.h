/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Application protocol of a flow: L4 protocol plus the well-known port, named
 * from the system's services database (/etc/services through getservent).
 *
 * Rule (bounded: at most ~#services + 2 x 1024 + 256 names):
 *  - TCP/UDP: of the two ports, the one the services database names; when
 *    both are named, the lower port; when neither is named but one is below
 *    1024, "tcp/<lowest such port>"; otherwise "tcp/other" (or "udp/other").
 *  - any other IP protocol (ICMP, GRE, ...): its name alone ("icmp", "ipv6-icmp",
 *    "gre"; "ip/<n>" when /etc/protocols does not know it).
 * Names are "tcp/https", "udp/domain", ...
 * Not done: refining names from DNS answers (needs the packets' payload).
 */
#ifndef FQ_APPPROTO_H
#define FQ_APPPROTO_H

#include <stddef.h>
#include <stdint.h>

/* Identifier of an application protocol: (l4 << 16) | port, port 0 for
 * "no port" (non-TCP/UDP) and 0xffff... never used; "other" is port 0 too
 * for TCP/UDP (port 0 is not a real service). */
uint32_t fq_appproto_id(uint8_t l4proto, uint16_t port_a, uint16_t port_b);
/* Name of an id into buf (thread safe once fq_appproto_init ran). */
const char *fq_appproto_name(uint32_t id, char *buf, size_t len);
/* IP protocol name from /etc/protocols ("tcp", "gre"), "ip/N" if unknown. */
const char *fq_ipproto_name(uint8_t l4, char *buf, size_t len);
/* Loads the services database once; called by the functions above too. */
void fq_appproto_init(void);

#endif
