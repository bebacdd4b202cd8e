/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vmlinux.h for the native engine (user/native.c): the datapath source in
 * bpf/ includes "vmlinux.h"; built as userspace C it gets the few kernel
 * types it uses from the UAPI headers instead.
 */
#ifndef FQ_NATIVE_VMLINUX_H
#define FQ_NATIVE_VMLINUX_H

#include <linux/types.h>
#include <linux/bpf.h>       /* xdp_md, __sk_buff, XDP_PASS, BPF_MAP_TYPE_* */
#include <linux/if_ether.h>  /* struct ethhdr */
#include <linux/ip.h>        /* struct iphdr */
#include <linux/ipv6.h>      /* struct ipv6hdr */
#include <linux/tcp.h>       /* struct tcphdr */
#include <linux/udp.h>       /* struct udphdr */

/* include/linux/if_vlan.h (not UAPI) */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

#endif
