/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One entry point per subcommand; each lives in its own user/cmd_*.c. */
#ifndef FQ_CMDS_H
#define FQ_CMDS_H

int do_attach(int argc, char **argv);  /* cmd_attach.c */
int do_detach(int argc, char **argv);  /* cmd_attach.c */
int do_status(int argc, char **argv);  /* cmd_attach.c */
int do_flows(int argc, char **argv);   /* cmd_attach.c */
int do_query(int argc, char **argv);   /* cmd_query.c */
int do_shape(int argc, char **argv);   /* cmd_shape.c */
int do_model(int argc, char **argv);   /* cmd_model.c */
int do_replay(int argc, char **argv);  /* cmd_replay.c */

#endif
