/* iotlb_sweep_cmd.h — `iosim iotlb-sweep`: IOTLB size and associativity
 * sweeps under LRU, in one pass where exact (sweep/iotlb_sweep.h). */
#ifndef IOSIM_IOTLB_SWEEP_CMD_H
#define IOSIM_IOTLB_SWEEP_CMD_H

/* argv[0] is "iotlb-sweep".  Returns the exit status. */
int iotlb_sweep_main(int argc, char **argv);

#endif
