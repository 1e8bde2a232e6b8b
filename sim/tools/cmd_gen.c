/* cmd_gen.c — placeholder until the gen subcommand lands. */
#include <stdio.h>

#include "iosim.h"
#include "tools/trace_cmds.h"

int cmd_gen(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "iosim-trace: %s: not implemented yet\n", argv[0]);
    return 1;
}
