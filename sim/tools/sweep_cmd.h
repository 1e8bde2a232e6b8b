/* sweep_cmd.h — `iosim sweep`: the command-line front end of sweep files
 * (the planning, running and merging are the library's: iosim.h
 * "Experiments"). */
#ifndef IOSIM_SWEEP_CMD_H
#define IOSIM_SWEEP_CMD_H

/* argv[0] is "sweep".  Returns the exit status. */
int sweep_main(int argc, char **argv);

#endif
