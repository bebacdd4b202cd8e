/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * <pcap/pcap.h> for code that also sees linux/bpf.h or libbpf: libpcap's
 * classic-BPF names (struct bpf_insn, struct bpf_program) collide with
 * theirs, so libpcap's are renamed here.  Also the link types an older
 * libpcap may not name.
 */
#ifndef FQ_PCAP_H
#define FQ_PCAP_H

#define bpf_insn pcap_bpf_insn
#define bpf_program pcap_bpf_program
#include <pcap/pcap.h>
#undef bpf_insn
#undef bpf_program

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

#endif
