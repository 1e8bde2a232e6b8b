/* cmd_pcap.c — `iosim-trace pcap PCAP [--segments]`: the guest TCP
 * segments of a QEMU filter-dump pcap of a user-networking netdev and
 * libslirp's tcp_input answer to each (sim/trace/pcap_slirp.c).
 *
 * Concepts:
 *   - One pass: every frame is parsed and fed to the replay in order;
 *     the summary counts frames per direction and guest segments per
 *     answer.  --segments first lists each guest frame: its number in the
 *     pcap, its number among the guest's frames, time (ns), and for TCP
 *     the connection, flags, payload length and the answer.
 *   - Nothing is printed until the whole file has been read: a bad pcap
 *     is one line naming the file and frame, exit 2, no partial output
 *     (the listing goes to a buffer first).
 * Assumptions: those of pcap_slirp.h.
 * Not modeled: nothing of its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli_util.h"
#include "tools/trace_cmds.h"
#include "trace/pcap_slirp.h"

static const char prog[] = "iosim-trace pcap";

static void flags_str(uint8_t f, char *out)
{
    static const char names[] = "FSRPAU";
    size_t k = 0;
    for (int i = 0; i < 6; i++)
        if (f & (1u << i))
            out[k++] = names[i];
    if (!k)
        out[k++] = '-';
    out[k] = 0;
}

int cmd_pcap(int argc, char **argv)
{
    const char *path = NULL;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--segments"))
            list = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: iosim-trace pcap PCAP[.zst] [--segments]\n"
                   "  libslirp's tcp_input answer to every guest TCP "
                   "segment of a QEMU\n  filter-dump pcap (user "
                   "networking): whether it sends inside the\n  guest's "
                   "tx element, and by which code path\n" CLI_EXIT_STATUS_HELP);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[i]);
            return 2;
        } else if (path) {
            fprintf(stderr, "%s: one pcap only ('%s')\n", prog, argv[i]);
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr,
                "%s: no pcap given (usage: iosim-trace pcap "
                "PCAP[.zst] [--segments]; try --help)\n",
                prog);
        return 2;
    }
    iosim_err_t err = {0};
    pcap_reader_t *r = pcap_open(path, &err);
    if (!r) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return 2;
    }
    slirp_replay_t *rp = slirp_replay_new();
    char *buf = NULL;
    size_t blen = 0;
    FILE *out = list ? open_memstream(&buf, &blen) : NULL;
    uint64_t frames = 0, guest = 0, guest_tcp = 0, by[SLIRP_ANS_COUNT] = {0};
    int rc = 0;
    pcap_frame_t f;
    if (!rp || (list && !out)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        rc = CLI_EXIT_OOM;
        goto done;
    }
    for (;;) {
        int k = pcap_next(r, &f, &err);
        if (k < 0) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            rc = 2;
            goto done;
        }
        if (!k)
            break;
        frames++;
        slirp_seg_t s;
        char why[128];
        if (slirp_seg_parse(f.data, f.caplen, &s, why, sizeof why)) {
            fprintf(stderr, "%s: %s: frame %" PRIu64 ": %s\n", prog, path,
                    f.index, why);
            rc = 2;
            goto done;
        }
        int a = slirp_replay_frame(rp, &s);
        if (a < 0) {
            fprintf(stderr, "%s: out of memory\n", prog);
            rc = CLI_EXIT_OOM;
            goto done;
        }
        if (!s.from_guest)
            continue;
        if (s.tcp) {
            guest_tcp++;
            by[a]++;
        }
        if (out) {
            fprintf(out, "%" PRIu64 " %" PRIu64 " %" PRIu64, f.index, guest,
                    f.t_ns);
            if (s.tcp) {
                char fl[8];
                flags_str(s.flags, fl);
                fprintf(out, " %u.%u.%u.%u:%u>%u.%u.%u.%u:%u %s %u %s",
                        s.saddr >> 24, s.saddr >> 16 & 255, s.saddr >> 8 & 255,
                        s.saddr & 255, s.sport, s.daddr >> 24,
                        s.daddr >> 16 & 255, s.daddr >> 8 & 255, s.daddr & 255,
                        s.dport, fl, s.len,
                        slirp_answer_name((slirp_answer_t)a));
            } else
                fprintf(out, " other");
            fputc('\n', out);
        }
        guest++;
    }
    if (out) {
        fclose(out);
        out = NULL;
        fputs("# frame guest_frame t_ns [conn flags len answer]\n", stdout);
        fwrite(buf, 1, blen, stdout);
    }
    printf("frames = %" PRIu64 "\nguest_frames = %" PRIu64
           "\nguest_tcp = %" PRIu64 "\n",
           frames, guest, guest_tcp);
    uint64_t answered = 0;
    for (int a = 1; a < SLIRP_ANS_COUNT; a++)
        answered += by[a];
    printf("answered_in_element = %" PRIu64 "\n", answered);
    for (int a = 0; a < SLIRP_ANS_COUNT; a++)
        printf("answer.%s = %" PRIu64 "\n",
               slirp_answer_name((slirp_answer_t)a), by[a]);
    rc = cli_flush_stdout(prog); /* a full disk exited 0 */
done:
    if (out)
        fclose(out);
    free(buf);
    slirp_replay_free(rp);
    pcap_close(r);
    return rc;
}
