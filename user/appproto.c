// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Application protocol names from the services database.  getservbyport()
 * is neither thread safe nor cheap (it rereads /etc/services), so the whole
 * database is read once into two port-indexed tables; lookups are then a
 * load, from any thread.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "appproto.h"

static char **names[2]; /* [0] tcp, [1] udp: 65536 entries, NULL if unknown */
static char *pnames[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
	struct servent *s;
	struct protoent *p;

	names[0] = calloc(65536, sizeof(char *));
	names[1] = calloc(65536, sizeof(char *));
	if (!names[0] || !names[1])
		return;
	setservent(1);
	while ((s = getservent())) {
		int t = !strcmp(s->s_proto, "tcp") ? 0 : !strcmp(s->s_proto, "udp") ? 1 : -1;
		uint16_t port = ntohs((uint16_t)s->s_port);

		/* the first entry for a port is its primary name */
		if (t >= 0 && port && !names[t][port])
			names[t][port] = strdup(s->s_name);
	}
	endservent();
	setprotoent(1);
	while ((p = getprotoent()))
		if (p->p_proto >= 0 && p->p_proto < 256 && !pnames[p->p_proto])
			pnames[p->p_proto] = strdup(p->p_name);
	endprotoent();
}

void fq_appproto_init(void)
{
	pthread_once(&once, load);
}

static int l4idx(uint8_t l4)
{
	return l4 == IPPROTO_TCP ? 0 : l4 == IPPROTO_UDP ? 1 : -1;
}

uint32_t fq_appproto_id(uint8_t l4, uint16_t a, uint16_t b)
{
	int t = l4idx(l4);
	uint16_t lo = a < b ? a : b, hi = a < b ? b : a;

	fq_appproto_init();
	if (t < 0 || !names[t])
		return (uint32_t)l4 << 16;
	if (lo && names[t][lo])
		return (uint32_t)l4 << 16 | lo;
	if (hi && names[t][hi])
		return (uint32_t)l4 << 16 | hi;
	if (lo && lo < 1024)
		return (uint32_t)l4 << 16 | lo;
	if (hi && hi < 1024)
		return (uint32_t)l4 << 16 | hi;
	return (uint32_t)l4 << 16;
}

const char *fq_appproto_name(uint32_t id, char *buf, size_t len)
{
	uint8_t l4 = id >> 16;
	uint16_t port = id & 0xffff;
	int t = l4idx(l4);

	fq_appproto_init();
	if (t >= 0) {
		const char *tn = t ? "udp" : "tcp";

		if (!port)
			snprintf(buf, len, "%s/other", tn);
		else if (names[t] && names[t][port])
			snprintf(buf, len, "%s/%s", tn, names[t][port]);
		else
			snprintf(buf, len, "%s/%u", tn, port);
	} else if (pnames[l4]) {
		snprintf(buf, len, "%s", pnames[l4]);
	} else {
		snprintf(buf, len, "ip/%u", l4);
	}
	return buf;
}

const char *fq_ipproto_name(uint8_t l4, char *buf, size_t len)
{
	fq_appproto_init();
	if (pnames[l4])
		snprintf(buf, len, "%s", pnames[l4]);
	else
		snprintf(buf, len, "ip/%u", l4);
	return buf;
}
