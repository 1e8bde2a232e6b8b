#!/usr/bin/env python3
"""tracedat.py — writes a small trace-cmd trace.dat (file version 6, no
compression) of iommu:map / iommu:unmap events, and the same events as the
text of the kernel's `trace` file: the two forms of one hand-made capture
(tests/cli/tracecmd_import.sh).  Not a test itself.

    tracedat.py EVENTS OUT.dat OUT.txt

EVENTS: one event a line, `CPU NS map IOVA SIZE PADDR` or
`CPU NS unmap IOVA SIZE` (numbers in C notation, NS the time stamp in ns;
each CPU's lines in its own order, time stamps not decreasing).

The layout is trace-cmd's version 6 (trace-cmd's
Documentation/trace-cmd/trace-cmd.dat.v6.5.txt): magic, version, endianness,
long and page size, header_page and header_event (the kernel's
events/header_page and header_event text, as a 6.1 guest's trace.dat saved
them: tests/data/tracecmd-redis-strict.dat), no ftrace formats, one system
(iommu) with the map and unmap formats of that file (IDs 1149 and 1148),
empty kallsyms, printk formats and cmdlines, the CPU count, no options,
"flyrecord" and each CPU's offset and size; then each CPU's ring-buffer
pages (kernel/trace/ring_buffer.c: a page is a u64 time stamp, a u64
commit = bytes of events, the events; an event is a u32 with type_len in
bits 4:0 = data length / 4 and the time delta from the previous event
(or the page's time stamp) in bits 31:5, then the data).

The text twin lists the events as the kernel's trace file merges the
per-CPU buffers (kernel/trace/trace.c __find_next_entry: the smallest time
stamp, a tie going to the lowest CPU), with 9-digit fractions (ns).
"""
import struct
import sys

PAGE = 4096
HEADER_PAGE = (
    "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
    "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;\n")
HEADER_EVENT = (
    "# compressed entry header\n"
    "\ttype_len    :    5 bits\n"
    "\ttime_delta  :   27 bits\n"
    "\tarray       :   32 bits\n"
    "\n"
    "\tpadding     : type == 29\n"
    "\ttime_extend : type == 30\n"
    "\ttime_stamp : type == 31\n"
    "\tdata max type_len  == 28\n")
COMMON = (
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;"
    "\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n")
MAP_ID, UNMAP_ID = 1149, 1148
MAP_FORMAT = (
    "name: map\nID: %d\nformat:\n" % MAP_ID + COMMON +
    "\tfield:u64 iova;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:u64 paddr;\toffset:16;\tsize:8;\tsigned:0;\n"
    "\tfield:size_t size;\toffset:24;\tsize:8;\tsigned:0;\n\n"
    'print fmt: "IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx '
    'size=%zu", REC->iova, REC->iova + REC->size, REC->paddr, REC->size\n')
UNMAP_FORMAT = (
    "name: unmap\nID: %d\nformat:\n" % UNMAP_ID + COMMON +
    "\tfield:u64 iova;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:size_t size;\toffset:16;\tsize:8;\tsigned:0;\n"
    "\tfield:size_t unmapped_size;\toffset:24;\tsize:8;\tsigned:0;\n\n"
    'print fmt: "IOMMU: iova=0x%016llx - 0x%016llx size=%zu '
    'unmapped_size=%zu", REC->iova, REC->iova + REC->size, REC->size, '
    'REC->unmapped_size\n')


def read_events(path):
    evs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            cpu, ns, kind = int(w[0], 0), int(w[1], 0), w[2]
            nums = [int(x, 0) for x in w[3:]]
            if kind not in ("map", "unmap") or len(nums) != (3 if kind == "map" else 2):
                sys.exit("%s:%d: expected CPU NS map IOVA SIZE PADDR or "
                         "CPU NS unmap IOVA SIZE" % (path, n))
            evs.append((cpu, ns, kind, nums))
    return evs


def event_data(kind, nums):
    if kind == "map":  # iova, paddr, size
        iova, size, paddr = nums
        return struct.pack("<HBBiQQQ", MAP_ID, 0, 0, 0, iova, paddr, size)
    iova, size = nums  # iova, size, unmapped_size
    return struct.pack("<HBBiQQQ", UNMAP_ID, 0, 0, 0, iova, size, size)


def cpu_pages(evs):
    """One CPU's events (in its order) as ring-buffer pages."""
    pages, body, page_ts, last = [], b"", None, None
    for _, ns, kind, nums in evs:
        data = event_data(kind, nums)
        rec_len = 4 + len(data)
        if page_ts is not None and (ns - last >= 1 << 27 or
                                    16 + len(body) + rec_len > PAGE):
            pages.append((page_ts, body))
            page_ts = None
        if page_ts is None:
            page_ts, last, body = ns, ns, b""
        assert len(data) % 4 == 0 and len(data) // 4 <= 28
        body += struct.pack("<I", (ns - last) << 5 | len(data) // 4) + data
        last = ns
    if page_ts is not None:
        pages.append((page_ts, body))
    out = b""
    for ts, b in pages:
        page = struct.pack("<QQ", ts, len(b)) + b
        out += page + b"\0" * (PAGE - len(page))
    return out


def sized(text, n):
    b = text.encode()
    return struct.pack("<Q" if n == 8 else "<I", len(b)) + b


def write_dat(path, evs, ncpu):
    h = b"\x17\x08Dtracing" + b"6\0" + b"\0" + b"\x08" + struct.pack("<I", PAGE)
    h += b"header_page\0" + sized(HEADER_PAGE, 8)
    h += b"header_event\0" + sized(HEADER_EVENT, 8)
    h += struct.pack("<I", 0)  # ftrace formats
    h += struct.pack("<I", 1) + b"iommu\0" + struct.pack("<I", 2)
    h += sized(MAP_FORMAT, 8) + sized(UNMAP_FORMAT, 8)
    h += sized("", 4) + sized("", 4) + sized("", 8)  # kallsyms printk cmdlines
    h += struct.pack("<I", ncpu) + b"flyrecord\0"
    data = [cpu_pages([e for e in evs if e[0] == c]) for c in range(ncpu)]
    off = h_len = len(h) + 16 * ncpu
    off = (off + PAGE - 1) // PAGE * PAGE
    table, body = b"", b"\0" * (off - h_len)
    for d in data:
        table += struct.pack("<QQ", off, len(d))
        body += d
        off += len(d)
    with open(path, "wb") as f:
        f.write(h + table + body)


def write_text(path, evs, ncpu):
    # each CPU's order kept; merged by (time stamp, CPU)
    seq = sorted(range(len(evs)), key=lambda i: (evs[i][1], evs[i][0], i))
    with open(path, "w") as f:
        f.write("# tracer: nop\n#\n# entries-in-buffer/entries-written: "
                "%d/%d   #P:%d\n#\n" % (len(evs), len(evs), ncpu))
        for i in seq:
            cpu, ns, kind, nums = evs[i]
            stamp = "%d.%09d" % (ns // 10**9, ns % 10**9)
            if kind == "map":
                iova, size, paddr = nums
                text = ("map: IOMMU: iova=0x%016x - 0x%016x paddr=0x%016x "
                        "size=%d" % (iova, iova + size, paddr, size))
            else:
                iova, size = nums
                text = ("unmap: IOMMU: iova=0x%016x - 0x%016x size=%d "
                        "unmapped_size=%d" % (iova, iova + size, size, size))
            f.write("          <idle>-0       [%03d] ..s1. %s: %s\n"
                    % (cpu, stamp, text))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: tracedat.py EVENTS OUT.dat OUT.txt")
    evs = read_events(sys.argv[1])
    ncpu = max(e[0] for e in evs) + 1
    for c in range(ncpu):
        ts = [e[1] for e in evs if e[0] == c]
        if ts != sorted(ts):
            sys.exit("%s: CPU %d's time stamps decrease" % (sys.argv[1], c))
    write_dat(sys.argv[2], evs, ncpu)
    write_text(sys.argv[3], evs, ncpu)


if __name__ == "__main__":
    main()
